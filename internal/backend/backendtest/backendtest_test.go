package backendtest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/backendtest"
	"ferry/internal/backend/memory"
)

// brokenEnv selects the broken backend TestBroken runs the suite on.
const brokenEnv = "BACKENDTEST_BROKEN"

// broken is a memory backend with one deliberate bug, chosen by mode.
type broken struct {
	backend.Backend
	mode string
}

func (b broken) Open(ctx context.Context, p string, off, n int64) (io.ReadCloser, error) {
	rc, err := b.Backend.Open(ctx, p, off, n)
	if err != nil {
		return nil, b.fixErr(err)
	}
	if b.mode != "truncate-reads" {
		return rc, nil
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if len(data) > 0 {
		data = data[:len(data)-1]
	}
	return io.NopCloser(bytes.NewReader(data)), err
}

func (b broken) Put(ctx context.Context, p string, r io.Reader, size int64, mt time.Time) (backend.Entry, error) {
	switch b.mode {
	case "ignore-mtime":
		mt = time.Now()
	case "partial-put":
		// Store whatever arrives, ignoring size, read errors and ctx.
		data, _ := io.ReadAll(r)
		r, size, ctx = bytes.NewReader(data), int64(len(data)), context.WithoutCancel(ctx)
	}
	e, err := b.Backend.Put(ctx, p, r, size, mt)
	return e, b.fixErr(err)
}

func (b broken) List(ctx context.Context, dir string) ([]backend.Entry, error) {
	es, err := b.Backend.List(ctx, dir)
	return es, b.fixErr(err)
}

func (b broken) Stat(ctx context.Context, p string) (backend.Entry, error) {
	e, err := b.Backend.Stat(ctx, p)
	return e, b.fixErr(err)
}

func (b broken) Remove(ctx context.Context, p string) error {
	return b.fixErr(b.Backend.Remove(ctx, p))
}

// fixErr breaks errors in the "plain-errors" and "lose-notexist" modes.
func (b broken) fixErr(err error) error {
	var pe *backend.PathError
	switch {
	case err == nil:
		return nil
	case b.mode == "plain-errors" && errors.As(err, &pe):
		return pe.Err
	case b.mode == "lose-notexist" && errors.Is(err, fs.ErrNotExist):
		return errors.New("no such thing")
	}
	return err
}

// TestBroken runs the suite on a broken backend; it is run (and expected
// to fail) by TestSuiteCatchesBrokenBackends in a child process.
func TestBroken(t *testing.T) {
	mode := os.Getenv(brokenEnv)
	if mode == "" {
		t.Skip("run by TestSuiteCatchesBrokenBackends")
	}
	backendtest.Run(t, backendtest.Config{
		New:   func(t *testing.T) backend.Backend { return broken{memory.New(), mode} },
		Quick: true,
	})
}

// TestSuiteCatchesBrokenBackends runs the suite on deliberately broken
// backends in child processes (a failing sub-test would fail this test
// too) and checks that the right checks fail and unrelated ones pass.
func TestSuiteCatchesBrokenBackends(t *testing.T) {
	if os.Getenv(brokenEnv) != "" {
		t.Skip("in the child process")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	cases := []struct {
		mode string
		fail []string
		pass []string
	}{
		{"truncate-reads", []string{"PutGetRoundTrip", "RangedReads", "ChunkBoundarySizes", "Overwrite"}, []string{"ModTimeRoundTrip", "ListContents", "ErrorsArePathErrors"}},
		{"ignore-mtime", []string{"PutGetRoundTrip", "ModTimeRoundTrip", "ListContents"}, []string{"RangedReads", "NotExist"}},
		{"partial-put", []string{"ShortReaderPutFails", "CancelPutLeavesNothing", "CancelledContextNoMutation"}, []string{"PutGetRoundTrip", "Overwrite"}},
		{"plain-errors", []string{"ErrorsArePathErrors"}, []string{"NotExist", "PutGetRoundTrip"}},
		{"lose-notexist", []string{"NotExist", "ShortReaderPutFails"}, []string{"PutGetRoundTrip", "RangedReads"}},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			run := "^TestBroken$/^(" + strings.Join(append(slices.Clone(c.fail), c.pass...), "|") + ")$"
			cmd := exec.CommandContext(t.Context(), exe, "-test.run="+run, "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), brokenEnv+"="+c.mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a backend with %s:\n%s", c.mode, out)
			}
			results := map[string]string{}
			for _, m := range regexp.MustCompile(`--- (PASS|FAIL|SKIP): TestBroken/(\w+)`).FindAllSubmatch(out, -1) {
				results[string(m[2])] = string(m[1])
			}
			for _, name := range c.fail {
				if results[name] != "FAIL" {
					t.Errorf("%s: got %q, want FAIL", name, results[name])
				}
			}
			for _, name := range c.pass {
				if results[name] != "PASS" {
					t.Errorf("%s: got %q, want PASS", name, results[name])
				}
			}
			if t.Failed() {
				t.Logf("child output:\n%s", out)
			}
		})
	}
}

// TestNames checks that check names are unique and usable in -run.
func TestNames(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range backendtest.Names() {
		if seen[n] || !regexp.MustCompile(`^[A-Z]\w+$`).MatchString(n) {
			t.Errorf("bad or repeated check name %q", n)
		}
		seen[n] = true
	}
}
