package mediafireserver

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind is a failure the server can inject (§10.4 of the protocol
// spec).
type FaultKind string

// The fault kinds. Each applies to some methods only (see appliesTo);
// ParseFaults refuses a kind named for a method it cannot strike.
const (
	// FaultHTTP500 answers an HTML 500 page before doing anything (API
	// methods and downloads).
	FaultHTTP500 FaultKind = "http500"
	// FaultError100 answers error 100 with HTTP 900 before doing anything.
	FaultError100 FaultKind = "error100"
	// FaultRateLimit answers error 163 before doing anything.
	FaultRateLimit FaultKind = "ratelimit"
	// FaultExpire ends the call's session and answers 105 (methods
	// called with a session token).
	FaultExpire FaultKind = "expire"
	// FaultLost runs a successful call, rotates the key, then answers an
	// HTML 502 page: the lost reply that puts a client's key out of step.
	FaultLost FaultKind = "lost"
	// FaultDrop runs a successful call, rotates the key, then closes the
	// connection without a reply; on a download it closes before any
	// byte.
	FaultDrop FaultKind = "drop"
	// FaultSlow delays the reply by the slow delay.
	FaultSlow FaultKind = "slow"
	// FaultTruncate sends half of a download, then closes the connection.
	FaultTruncate FaultKind = "truncate"
	// FaultCorrupt sends a download of the right length with one byte
	// wrong.
	FaultCorrupt FaultKind = "corrupt"
	// FaultStatus17 makes upload/poll_upload report status 17 for a
	// finished upload (once per hit; the next poll reports 99).
	FaultStatus17 FaultKind = "status17"
	// FaultFileError7 fails an upload/simple, or the upload/resumable
	// that completes a file, as if its hash or size mismatched: the
	// bytes are received, no file is made, and poll_upload reports
	// fileerror 7.
	FaultFileError7 FaultKind = "fileerror7"
)

var faultKinds = []FaultKind{
	FaultHTTP500, FaultError100, FaultRateLimit, FaultExpire, FaultLost, FaultDrop, FaultSlow,
	FaultTruncate, FaultCorrupt, FaultStatus17, FaultFileError7,
}

// appliesTo reports whether kind can strike method ("dl" for downloads).
func appliesTo(kind FaultKind, method string) bool {
	if method == downloadMethod {
		switch kind {
		case FaultHTTP500, FaultDrop, FaultSlow, FaultTruncate, FaultCorrupt:
			return true
		}
		return false
	}
	m, ok := methods[method]
	if !ok {
		return false
	}
	switch kind {
	case FaultHTTP500, FaultError100, FaultRateLimit, FaultLost, FaultDrop, FaultSlow:
		return true
	case FaultExpire:
		return m.auth != authNone
	case FaultStatus17:
		return method == "upload/poll_upload"
	case FaultFileError7:
		return method == "upload/simple" || method == "upload/resumable"
	}
	return false
}

// FaultRule is one fault: its kind, the method it strikes ("" for every
// method it applies to), and either a probability per request or a count
// of the next matching requests.
type FaultRule struct {
	Method      string // "folder/get_info", "dl" (downloads), or "" (all)
	Kind        FaultKind
	Probability float64 // 0..1, when Count is 0
	Count       int     // the next Count requests it applies to
}

// Faults are the failures a server injects. The zero value injects
// nothing.
type Faults struct {
	Rules []FaultRule
	// SlowDelay is the pause of FaultSlow; 0 means 2s.
	SlowDelay time.Duration
	// Seed makes the probability draws repeatable; 0 picks a random seed.
	Seed uint64
}

const defaultSlowDelay = 2 * time.Second

// ParseFaults parses a comma-separated spec in the syntax of
// "ferry serve mega --faults", with methods for endpoints:
//
//	http500=0.02,lost=0.01,upload/poll_upload.status17=1x,dl.truncate=1x,slowdelay=1s,seed=7
//
// A key is a fault kind, optionally prefixed with the method it strikes
// ("folder/get_content.", or "dl." for downloads); without one it
// strikes every method the kind applies to. A value is a probability
// per request (0..1) or a count "Nx": the next N requests it applies
// to. slowdelay and seed are as for MEGA. Errors name the bad key or
// value.
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	for item := range strings.SplitSeq(spec, ",") {
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
		case "slowdelay":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return Faults{}, fmt.Errorf("faults: slowdelay=%q: want a duration such as 2s", v)
			}
			f.SlowDelay = d
			continue
		case "seed":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return Faults{}, fmt.Errorf("faults: seed=%q: want a non-negative integer", v)
			}
			f.Seed = n
			continue
		}
		rule := FaultRule{Kind: FaultKind(k)}
		if m, kind, ok := strings.Cut(k, "."); ok {
			rule.Method, rule.Kind = m, FaultKind(kind)
		}
		if !slices.Contains(faultKinds, rule.Kind) {
			return Faults{}, fmt.Errorf("faults: %q: unknown fault %q (want one of %s, slowdelay or seed)", k, rule.Kind, kindList())
		}
		if n, isCount := strings.CutSuffix(v, "x"); isCount {
			c, err := strconv.Atoi(n)
			if err != nil || c < 1 {
				return Faults{}, fmt.Errorf("faults: %s=%q: want a count such as 1x", k, v)
			}
			rule.Count = c
		} else {
			p, err := strconv.ParseFloat(v, 64)
			if err != nil || p < 0 || p > 1 {
				return Faults{}, fmt.Errorf("faults: %s=%q: want a probability between 0 and 1 or a count such as 1x", k, v)
			}
			rule.Probability = p
		}
		if err := rule.check(); err != nil {
			return Faults{}, fmt.Errorf("faults: %s: %w", k, err)
		}
		f.Rules = append(f.Rules, rule)
	}
	return f, nil
}

func kindList() string {
	s := make([]string, len(faultKinds))
	for i, k := range faultKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// check validates the rule's method, kind and numbers.
func (r FaultRule) check() error {
	if !slices.Contains(faultKinds, r.Kind) {
		return fmt.Errorf("unknown fault kind %q", r.Kind)
	}
	if r.Method != "" {
		if _, ok := methods[r.Method]; !ok && r.Method != downloadMethod {
			return fmt.Errorf("unknown method %q (want category/method such as folder/get_info, or dl)", r.Method)
		}
		if !appliesTo(r.Kind, r.Method) {
			return fmt.Errorf("%s cannot strike %s", r.Kind, r.Method)
		}
	}
	if r.Count < 0 || r.Probability < 0 || r.Probability > 1 {
		return fmt.Errorf("probability %v or count %d out of range", r.Probability, r.Count)
	}
	return nil
}

// String formats f in the syntax ParseFaults accepts.
func (f Faults) String() string {
	var parts []string
	for _, r := range f.Rules {
		k := string(r.Kind)
		if r.Method != "" {
			k = r.Method + "." + k
		}
		v := strconv.FormatFloat(r.Probability, 'g', -1, 64)
		if r.Count > 0 {
			v = strconv.Itoa(r.Count) + "x"
		}
		parts = append(parts, k+"="+v)
	}
	if f.SlowDelay > 0 {
		parts = append(parts, "slowdelay="+f.SlowDelay.String())
	}
	if f.Seed != 0 {
		parts = append(parts, "seed="+strconv.FormatUint(f.Seed, 10))
	}
	return strings.Join(parts, ",")
}

// faultInjector draws the faults of one server.
type faultInjector struct {
	slowDelay time.Duration

	mu    sync.Mutex // guards the fields below
	rules []FaultRule
	left  []int // remaining count per counted rule
	rnd   *rand.Rand
	hits  map[FaultKind]int64
}

func newFaultInjector(f Faults) (*faultInjector, error) {
	fi := &faultInjector{hits: make(map[FaultKind]int64)}
	seed := f.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	fi.rnd = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	if err := fi.set(f); err != nil {
		return nil, err
	}
	return fi, nil
}

func (fi *faultInjector) set(f Faults) error {
	for _, r := range f.Rules {
		if err := r.check(); err != nil {
			return fmt.Errorf("mediafireserver: fault %+v: %w", r, err)
		}
	}
	if f.SlowDelay < 0 {
		return fmt.Errorf("mediafireserver: negative slow delay %v", f.SlowDelay)
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.rules = slices.Clone(f.Rules)
	fi.left = make([]int, len(f.Rules))
	for i, r := range f.Rules {
		fi.left[i] = r.Count
	}
	fi.slowDelay = f.SlowDelay
	if fi.slowDelay == 0 {
		fi.slowDelay = defaultSlowDelay
	}
	return nil
}

// hit reports whether kind strikes this request to method, using up one
// of a counted rule's requests.
func (fi *faultInjector) hit(method string, kind FaultKind) bool {
	if !appliesTo(kind, method) {
		return false
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	for i, r := range fi.rules {
		if r.Kind != kind || (r.Method != "" && r.Method != method) {
			continue
		}
		if r.Count > 0 {
			if fi.left[i] > 0 {
				fi.left[i]--
				fi.hits[kind]++
				return true
			}
			continue
		}
		if r.Probability > 0 && fi.rnd.Float64() < r.Probability {
			fi.hits[kind]++
			return true
		}
	}
	return false
}

func (fi *faultInjector) slowHit(method string) bool { return fi.hit(method, FaultSlow) }

// faultHit is hit, logged.
func (s *Server) faultHit(method string, kind FaultKind) bool {
	if !s.faults.hit(method, kind) {
		return false
	}
	s.log.Info("fault injected", logKeyAction, method, logKeyFault, string(kind))
	return true
}

// SetFaults replaces the faults of a running server; counts start again.
// The seed of Open stays.
func (s *Server) SetFaults(f Faults) error { return s.faults.set(f) }

// FaultHits returns how often each fault kind has struck since Open.
func (s *Server) FaultHits() map[FaultKind]int64 {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	out := make(map[FaultKind]int64, len(s.faults.hits))
	for k, v := range s.faults.hits {
		out[k] = v
	}
	return out
}
