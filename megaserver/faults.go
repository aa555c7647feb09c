package megaserver

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Faults injects failures so clients' retry paths can be tested against a
// real server. Probabilities are per request, 0..1. The zero value injects
// nothing. See doc.go "Fault injection" for the effect on each endpoint.
type Faults struct {
	EAgain  float64 // cs: whole-request -3 before executing; ul: body -3, nothing stored
	HTTP500 float64 // cs, ul, dl: HTTP 500 before doing anything
	Drop    float64 // cs: execute, send half the reply, close; ul: read half, close, store nothing; dl: send half, close
	Slow    float64 // cs, ul, dl: sleep SlowDelay before answering
	// SlowDelay is the pause of Slow; 0 means 2s.
	SlowDelay time.Duration
	// LoginsPerMinute limits `us` attempts per account; beyond it `us`
	// answers -16 (EBLOCKED). 0 means no limit.
	LoginsPerMinute int
	// Seed makes the injected sequence repeatable; 0 picks a random seed.
	Seed uint64
}

const defaultSlowDelay = 2 * time.Second

// ParseFaults parses a comma-separated spec such as
// "eagain=0.05,http500=0.02,drop=0.01,slow=0.01,slowdelay=2s,logins=20/min,seed=1".
// An empty spec is no faults. Errors name the bad key or value.
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
		switch k {
		case "eagain", "http500", "drop", "slow":
			p, err := strconv.ParseFloat(v, 64)
			if err != nil || p < 0 || p > 1 {
				return Faults{}, fmt.Errorf("faults: %s=%q: want a probability between 0 and 1", k, v)
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
			return Faults{}, fmt.Errorf("faults: unknown key %q (want eagain, http500, drop, slow, slowdelay, logins or seed)", k)
		}
	}
	return f, nil
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
	prob            [4]float64
	slowDelay       time.Duration
	loginsPerMinute int

	mu  sync.Mutex // guards rnd
	rnd *rand.Rand
}

func newFaultInjector(f Faults) (*faultInjector, error) {
	for _, p := range []float64{f.EAgain, f.HTTP500, f.Drop, f.Slow} {
		if p < 0 || p > 1 {
			return nil, fmt.Errorf("megaserver: fault probability %v out of range 0..1", p)
		}
	}
	if f.LoginsPerMinute < 0 || f.SlowDelay < 0 {
		return nil, fmt.Errorf("megaserver: negative fault setting in %q", f.String())
	}
	seed := f.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	fi := &faultInjector{
		prob:            [4]float64{f.EAgain, f.HTTP500, f.Drop, f.Slow},
		slowDelay:       f.SlowDelay,
		loginsPerMinute: f.LoginsPerMinute,
		rnd:             rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
	if fi.slowDelay == 0 {
		fi.slowDelay = defaultSlowDelay
	}
	return fi, nil
}

// hit reports whether fault k strikes this request.
func (fi *faultInjector) hit(k faultKind) bool {
	p := fi.prob[k]
	if p <= 0 {
		return false
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.rnd.Float64() < p
}
