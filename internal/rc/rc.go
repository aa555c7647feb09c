// Package rc is ferry's remote control: a daemon (`ferry rcd`) that keeps
// backends, and so MEGA sessions, open between commands, and answers JSON
// calls over HTTP on loopback like rclone's rc (`POST /operations/list`
// with a JSON object in, a JSON object out), plus the client `ferry rc`
// uses.
//
// Every call needs HTTP basic auth. Long calls run as jobs when the input
// has "_async": true; job/status and job/list report them.
package rc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Params are a call's JSON input or output.
type Params map[string]any

// String returns a string parameter, or an error naming it.
func (p Params) String(key string) (string, error) {
	v, ok := p[key]
	if !ok {
		return "", &ParamError{Key: key, Problem: "missing"}
	}
	s, ok := v.(string)
	if !ok {
		return "", &ParamError{Key: key, Problem: fmt.Sprintf("want a string, got %T", v)}
	}
	return s, nil
}

// OptString returns a string parameter or def when absent.
func (p Params) OptString(key, def string) (string, error) {
	if _, ok := p[key]; !ok {
		return def, nil
	}
	return p.String(key)
}

// Bool returns a boolean parameter (also "true"/"false" strings), false
// when absent.
func (p Params) Bool(key string) (bool, error) {
	switch v := p[key].(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case string:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, &ParamError{Key: key, Problem: "want true or false"}
		}
		return b, nil
	default:
		return false, &ParamError{Key: key, Problem: fmt.Sprintf("want a boolean, got %T", v)}
	}
}

// ParamError reports a missing or mistyped parameter (HTTP 400).
type ParamError struct {
	Key, Problem string
}

func (e *ParamError) Error() string { return fmt.Sprintf("parameter %q: %s", e.Key, e.Problem) }

// Func implements one call.
type Func func(ctx context.Context, in Params) (Params, error)

// Call is one registered call.
type Call struct {
	Path  string // "operations/list"
	Help  string
	Fn    Func
	Async bool // may run as a job with "_async": true
}

// Registry holds the calls; build it explicitly (no init registration).
type Registry struct {
	mu    sync.Mutex // guards calls
	calls map[string]Call
}

// NewRegistry returns a registry with the core calls (rc/noop, rc/list,
// core/version) and job calls added by the Server.
func NewRegistry() *Registry {
	r := &Registry{calls: map[string]Call{}}
	r.Add(Call{Path: "rc/noop", Help: "echo the input", Fn: func(_ context.Context, in Params) (Params, error) { return in, nil }})
	r.Add(Call{Path: "rc/list", Help: "list the calls", Fn: func(context.Context, Params) (Params, error) {
		var list []map[string]string
		for _, c := range r.List() {
			list = append(list, map[string]string{"Path": c.Path, "Help": c.Help})
		}
		return Params{"commands": list}, nil
	}})
	return r
}

// Add registers c, replacing a call with the same path.
func (r *Registry) Add(c Call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[c.Path] = c
}

// Get finds a call.
func (r *Registry) Get(path string) (Call, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.calls[path]
	return c, ok
}

// List returns the calls sorted by path.
func (r *Registry) List() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Call, 0, len(r.calls))
	for _, c := range r.calls {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Job is an asynchronous call.
type Job struct {
	ID        int64     `json:"id"`
	Call      string    `json:"call"`
	StartTime time.Time `json:"startTime"`
	EndTime   time.Time `json:"endTime,omitzero"`
	Finished  bool      `json:"finished"`
	Success   bool      `json:"success"`
	Error     string    `json:"error"`
	Output    Params    `json:"output,omitempty"`
	Duration  float64   `json:"duration"`
}

// statusOf maps a call's error to an HTTP status.
func statusOf(err error) int {
	var pe *ParamError
	switch {
	case errors.As(err, &pe):
		return 400
	case errors.Is(err, fs.ErrNotExist):
		return 404
	}
	return 500
}

// decodeParams parses a JSON object; an empty body is an empty object.
func decodeParams(b []byte) (Params, error) {
	in := Params{}
	if len(b) == 0 {
		return in, nil
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, &ParamError{Key: "(body)", Problem: "not a JSON object: " + err.Error()}
	}
	return in, nil
}
