package megaserver

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Faults injects failures so clients' retry paths can be tested against a
// real server. Probabilities are per request, 0..1. The zero value injects
// nothing. See doc.go "Fault injection" for the effect on each endpoint.
//
// The unprefixed probabilities apply to every endpoint they make sense for;
// CS, UL and DL add faults for one endpoint only (keys "cs.", "ul." and
// "dl." in ParseFaults), so a test can exercise API retries without chunk
// errors and the other way round. Where both are set for an endpoint the
// two are drawn independently.
type Faults struct {
	EAgain  float64 // cs: whole-request -3 before executing; ul: body -3, nothing stored
	HTTP500 float64 // cs, ul, dl: HTTP 500 before doing anything
	Drop    float64 // cs: execute, send half the reply, close; ul: read half, close, store nothing; dl: send half, close
	Slow    float64 // cs, ul, dl: sleep SlowDelay before answering
	// CS, UL and DL are faults of the command endpoint (/cs), the upload
	// endpoint (/ul/) and the download endpoint (/dl/) alone. DL.EAgain
	// must be 0: downloads answer with HTTP statuses, not MEGA codes.
	CS, UL, DL EndpointFaults
	// SlowDelay is the pause of Slow; 0 means 2s.
	SlowDelay time.Duration
	// LoginsPerMinute limits `us` attempts per account; beyond it `us`
	// answers -16 (EBLOCKED). 0 means no limit.
	LoginsPerMinute int
	// Seed makes the injected sequence repeatable; 0 picks a random seed.
	Seed uint64
}

// EndpointFaults are the fault probabilities of one endpoint; the fields
// mean what Faults' fields of the same names mean there.
type EndpointFaults struct {
	EAgain, HTTP500, Drop, Slow float64
}

// endpoint names the three endpoints faults can target.
type endpoint int

const (
	epCS endpoint = iota
	epUL
	epDL
	numEndpoints
)

var endpointNames = [numEndpoints]string{"cs", "ul", "dl"}

func (f *Faults) endpoint(e endpoint) *EndpointFaults {
	switch e {
	case epCS:
		return &f.CS
	case epUL:
		return &f.UL
	default:
		return &f.DL
	}
}

const defaultSlowDelay = 2 * time.Second

// ParseFaults parses a comma-separated spec such as
// "eagain=0.05,http500=0.02,drop=0.01,slow=0.01,slowdelay=2s,logins=20/min,seed=1".
// The probability keys (eagain, http500, drop, slow) may carry an endpoint
// prefix: "cs.eagain=0.05" (commands only), "ul.http500=0.01" (chunk
// POSTs only), "dl.drop=0.02" (downloads only); without one they apply to
// every endpoint. An empty spec is no faults. Errors name the bad key or
// value.
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return f, nil
	}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if !ok || v == "" {
			return Faults{}, fmt.Errorf("faults: %q: want key=value", item)
		}
		if prefix, name, ok := strings.Cut(k, "."); ok {
			ep := slices.Index(endpointNames[:], prefix)
			if ep < 0 {
				return Faults{}, fmt.Errorf("faults: %q: unknown endpoint %q (want cs, ul or dl)", k, prefix)
			}
			if !isProbabilityKey(name) {
				return Faults{}, fmt.Errorf("faults: %q: only eagain, http500, drop and slow take an endpoint prefix", k)
			}
			if endpoint(ep) == epDL && name == "eagain" {
				return Faults{}, fmt.Errorf("faults: %q: downloads answer HTTP statuses, not -3 (use dl.http500 or dl.drop)", k)
			}
			p, err := parseProbability(k, v)
			if err != nil {
				return Faults{}, err
			}
			setProbability(f.endpoint(endpoint(ep)), name, p)
			continue
		}
		switch k {
		case "eagain", "http500", "drop", "slow":
			p, err := parseProbability(k, v)
			if err != nil {
				return Faults{}, err
			}
			switch k {
			case "eagain":
				f.EAgain = p
			case "http500":
				f.HTTP500 = p
			case "drop":
				f.Drop = p
			default:
				f.Slow = p
			}
		case "slowdelay":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return Faults{}, fmt.Errorf("faults: slowdelay=%q: want a duration such as 2s", v)
			}
			f.SlowDelay = d
		case "logins":
			n, err := parseRate(v)
			if err != nil {
				return Faults{}, fmt.Errorf("faults: logins=%q: %w", v, err)
			}
			f.LoginsPerMinute = n
		case "seed":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return Faults{}, fmt.Errorf("faults: seed=%q: want a non-negative integer", v)
			}
			f.Seed = n
		default:
			return Faults{}, fmt.Errorf("faults: unknown key %q (want eagain, http500, drop, slow (each optionally prefixed cs., ul. or dl.), slowdelay, logins or seed)", k)
		}
	}
	return f, nil
}

func isProbabilityKey(k string) bool {
	return k == "eagain" || k == "http500" || k == "drop" || k == "slow"
}

func parseProbability(k, v string) (float64, error) {
	p, err := strconv.ParseFloat(v, 64)
	if err != nil || p < 0 || p > 1 {
		return 0, fmt.Errorf("faults: %s=%q: want a probability between 0 and 1", k, v)
	}
	return p, nil
}

func setProbability(e *EndpointFaults, k string, p float64) {
	switch k {
	case "eagain":
		e.EAgain = p
	case "http500":
		e.HTTP500 = p
	case "drop":
		e.Drop = p
	default:
		e.Slow = p
	}
}

// parseRate parses "N/min" or "N" (per minute).
func parseRate(v string) (int, error) {
	num, unit, hasUnit := strings.Cut(v, "/")
	if hasUnit && unit != "min" && unit != "m" {
		return 0, fmt.Errorf("unit %q: only /min is supported", unit)
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want a count per minute such as 20/min")
	}
	return n, nil
}

// String formats f in the syntax ParseFaults accepts.
func (f Faults) String() string {
	var parts []string
	add := func(k string, p float64) {
		if p > 0 {
			parts = append(parts, k+"="+strconv.FormatFloat(p, 'g', -1, 64))
		}
	}
	add("eagain", f.EAgain)
	add("http500", f.HTTP500)
	add("drop", f.Drop)
	add("slow", f.Slow)
	for ep := range numEndpoints {
		e, prefix := f.endpoint(ep), endpointNames[ep]+"."
		add(prefix+"eagain", e.EAgain)
		add(prefix+"http500", e.HTTP500)
		add(prefix+"drop", e.Drop)
		add(prefix+"slow", e.Slow)
	}
	if f.SlowDelay > 0 {
		parts = append(parts, "slowdelay="+f.SlowDelay.String())
	}
	if f.LoginsPerMinute > 0 {
		parts = append(parts, "logins="+strconv.Itoa(f.LoginsPerMinute)+"/min")
	}
	if f.Seed != 0 {
		parts = append(parts, "seed="+strconv.FormatUint(f.Seed, 10))
	}
	return strings.Join(parts, ",")
}

type faultKind int

const (
	faultEAgain faultKind = iota
	faultHTTP500
	faultDrop
	faultSlow
)

// faultInjector draws the faults of one server.
type faultInjector struct {
	slowDelay       time.Duration
	loginsPerMinute int

	mu sync.Mutex // guards the fields below
	// prob is the chance of each fault per endpoint: the endpoint's own
	// and the unprefixed one, combined as independent draws.
	prob [numEndpoints][4]float64
	rnd  *rand.Rand
}

func newFaultInjector(f Faults) (*faultInjector, error) {
	all := []float64{f.EAgain, f.HTTP500, f.Drop, f.Slow}
	for ep := range numEndpoints {
		e := f.endpoint(ep)
		all = append(all, e.EAgain, e.HTTP500, e.Drop, e.Slow)
	}
	for _, p := range all {
		if p < 0 || p > 1 {
			return nil, fmt.Errorf("megaserver: fault probability %v out of range 0..1", p)
		}
	}
	if f.DL.EAgain != 0 {
		return nil, fmt.Errorf("megaserver: DL.EAgain: downloads answer HTTP statuses, not -3")
	}
	if f.LoginsPerMinute < 0 || f.SlowDelay < 0 {
		return nil, fmt.Errorf("megaserver: negative fault setting in %q", f.String())
	}
	seed := f.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	fi := &faultInjector{
		slowDelay:       f.SlowDelay,
		loginsPerMinute: f.LoginsPerMinute,
		rnd:             rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
	fi.prob = probabilities(f)
	if fi.slowDelay == 0 {
		fi.slowDelay = defaultSlowDelay
	}
	return fi, nil
}

// probabilities combines f's unprefixed and per-endpoint probabilities.
func probabilities(f Faults) (prob [numEndpoints][4]float64) {
	for ep := range numEndpoints {
		e := f.endpoint(ep)
		for k, pair := range [4][2]float64{
			faultEAgain:  {f.EAgain, e.EAgain},
			faultHTTP500: {f.HTTP500, e.HTTP500},
			faultDrop:    {f.Drop, e.Drop},
			faultSlow:    {f.Slow, e.Slow},
		} {
			prob[ep][k] = eitherOf(pair[0], pair[1])
		}
	}
	return prob
}

// setProbabilities replaces the fault probabilities (not the delay, login
// limit or seed) of a running server; tests use it to fail one endpoint
// while a transfer is under way.
func (fi *faultInjector) setProbabilities(f Faults) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.prob = probabilities(f)
}

// eitherOf is the chance that at least one of two independent events of
// chances a and b happens (exactly a or b when the other is 0).
func eitherOf(a, b float64) float64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return 1 - (1-a)*(1-b)
}

// hit reports whether fault k strikes this request to endpoint ep.
func (fi *faultInjector) hit(ep endpoint, k faultKind) bool {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	p := fi.prob[ep][k]
	return p > 0 && fi.rnd.Float64() < p
}
