package transfer

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/filter"
)

// t0 is the mtime of test files unless a test says otherwise.
var t0 = time.Date(2024, 5, 17, 12, 34, 56, 0, time.UTC)

// file is a test file's content and mtime.
type file struct {
	data  string
	mtime time.Time
}

// tree maps paths (relative to a root) to files.
type tree map[string]file

// put stores files under root in b.
func put(t testing.TB, b backend.Backend, root string, files tree) {
	t.Helper()
	for p, f := range files {
		mt := f.mtime
		if mt.IsZero() {
			mt = t0
		}
		if _, err := b.Put(context.Background(), backend.Join(root, p), strings.NewReader(f.data), int64(len(f.data)), mt); err != nil {
			t.Fatalf("put %s: %v", p, err)
		}
	}
}

// contents returns the files under root in b as path -> data.
func contents(t testing.TB, b backend.Backend, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	ctx := context.Background()
	err := backend.Walk(ctx, b, root, 0, func(e backend.Entry) error {
		if e.IsDir {
			return nil
		}
		rc, err := b.Open(ctx, e.Path, 0, -1)
		if err != nil {
			return err
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		if err != nil {
			return err
		}
		out[relTo(root, e.Path)] = string(data)
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return out
}

// dirs returns the directories under root in b.
func dirs(t testing.TB, b backend.Backend, root string) []string {
	t.Helper()
	var out []string
	err := backend.Walk(context.Background(), b, root, 0, func(e backend.Entry) error {
		if e.IsDir {
			out = append(out, relTo(root, e.Path))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	sort.Strings(out)
	return out
}

// dataOf returns tree's contents as path -> data.
func dataOf(files tree) map[string]string {
	out := map[string]string{}
	for p, f := range files {
		out[p] = f.data
	}
	return out
}

// diffMaps describes how got differs from want, or "".
func diffMaps(got, want map[string]string) string {
	var b strings.Builder
	for k, w := range want {
		if g, ok := got[k]; !ok {
			fmt.Fprintf(&b, "missing %q\n", k)
		} else if g != w {
			fmt.Fprintf(&b, "%q = %q, want %q\n", k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&b, "extra %q\n", k)
		}
	}
	return b.String()
}

// recorder collects events.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) report(ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

// paths returns the sorted paths of the events with action a.
func (r *recorder) paths(a Action) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.events {
		if ev.Action == a {
			out = append(out, ev.Path)
		}
	}
	sort.Strings(out)
	return out
}

// testOptions returns Options logging to the test, with a recorder.
// filteredOptions is testOptions with the filter fo compiles to.
func filteredOptions(t testing.TB, fo filter.Options) (Options, *recorder) {
	t.Helper()
	flt, err := filter.New(fo)
	if err != nil {
		t.Fatal(err)
	}
	opts, rec := testOptions(t)
	opts.Filter = flt
	return opts, rec
}

func testOptions(t testing.TB) (Options, *recorder) {
	rec := &recorder{}
	return Options{
		Transfers: 3, Checkers: 3,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		Report: rec.report,
		Stats:  new(Stats),
	}, rec
}

// checkNoLeak fails if goroutines started during the test are still
// running at its end (after a grace period for those ending).
func checkNoLeak(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines before, %d after:\n%s", before, n, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// faulty wraps a backend and fails Put of paths for which failPut says so.
type faulty struct {
	backend.Backend
	failPut func(p string) error
}

func (f *faulty) Put(ctx context.Context, p string, r io.Reader, size int64, modTime time.Time) (backend.Entry, error) {
	if f.failPut != nil {
		if err := f.failPut(p); err != nil {
			return backend.Entry{}, err
		}
	}
	return f.Backend.Put(ctx, p, r, size, modTime)
}

// counting wraps a backend and counts Opens and Puts.
type counting struct {
	backend.Backend
	mu    sync.Mutex
	opens map[string]int
	puts  int
}

func newCounting(b backend.Backend) *counting { return &counting{Backend: b, opens: map[string]int{}} }

func (c *counting) Open(ctx context.Context, p string, offset, length int64) (io.ReadCloser, error) {
	c.mu.Lock()
	c.opens[p]++
	c.mu.Unlock()
	return c.Backend.Open(ctx, p, offset, length)
}

func (c *counting) Put(ctx context.Context, p string, r io.Reader, size int64, modTime time.Time) (backend.Entry, error) {
	c.mu.Lock()
	c.puts++
	c.mu.Unlock()
	return c.Backend.Put(ctx, p, r, size, modTime)
}

// countingFP is counting over a backend.Fingerprinter (MEGA, megaLike),
// which it keeps visible.
type countingFP struct {
	*counting
	backend.Fingerprinter
}

func newCountingFP(b backend.Backend) *countingFP {
	return &countingFP{counting: newCounting(b), Fingerprinter: b.(backend.Fingerprinter)}
}

// countingMatcher is counting over a backend.ContentMatcher and
// backend.Fingerprinter (MEGA), which it keeps visible.
type countingMatcher struct {
	*countingFP
	m       backend.ContentMatcher
	matches int // +checklocks:counting.mu
}

func newCountingMatcher(b backend.Backend) *countingMatcher {
	return &countingMatcher{countingFP: newCountingFP(b), m: b.(backend.ContentMatcher)}
}

func (c *countingMatcher) MatchContent(ctx context.Context, e backend.Entry, r io.Reader) (bool, error) {
	c.mu.Lock()
	c.matches++
	c.mu.Unlock()
	return c.m.MatchContent(ctx, e, r)
}

func (c *countingMatcher) MatchedBy() string { return c.m.MatchedBy() }
