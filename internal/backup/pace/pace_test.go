package pace_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/backendtest"
	"ferry/internal/backend/memory"
	"ferry/internal/backup/pace"
	"ferry/internal/retry"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// fast are Options with quick backoffs for tests.
func fast(t *testing.T, o pace.Options) pace.Options {
	o.BackoffBase, o.BackoffCap = time.Millisecond, 5*time.Millisecond
	o.Logger = testLogger(t)
	return o
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, backendtest.Config{
		New: func(t *testing.T) backend.Backend {
			return pace.Wrap(memory.New(), fast(t, pace.Options{Rate: 1000, Burst: 100, MaxConcurrency: 4}))
		},
	})
}

// faulty is a backend.Backend over memory whose calls fail as fail says,
// and that records how many calls run at once.
type faulty struct {
	backend.Backend
	// fail, if set, returns the error call n (1 based, over all methods)
	// of op on p fails with, or nil.
	fail func(n int64, op, p string) error
	// hold is how long each call takes.
	hold time.Duration
	// inner, if set, runs before a call as the wrapped backend's own
	// retries would: it may report retries to the context's observer.
	inner func(ctx context.Context, op string)

	calls, inFlight, maxInFlight atomic.Int64
	readHalf                     bool // Put reads half of its source before failing
}

func (f *faulty) enter(ctx context.Context, op, p string) error {
	n := f.calls.Add(1)
	cur := f.inFlight.Add(1)
	for {
		m := f.maxInFlight.Load()
		if cur <= m || f.maxInFlight.CompareAndSwap(m, cur) {
			break
		}
	}
	if f.inner != nil {
		f.inner(ctx, op)
	}
	if f.hold > 0 {
		time.Sleep(f.hold)
	}
	if f.fail != nil {
		return f.fail(n, op, p)
	}
	return nil
}

func (f *faulty) leave() { f.inFlight.Add(-1) }

func (f *faulty) Stat(ctx context.Context, p string) (backend.Entry, error) {
	defer f.leave()
	if err := f.enter(ctx, "stat", p); err != nil {
		return backend.Entry{}, &backend.PathError{Op: "stat", Backend: f.String(), Path: p, Err: err}
	}
	return f.Backend.Stat(ctx, p)
}

func (f *faulty) List(ctx context.Context, dir string) ([]backend.Entry, error) {
	defer f.leave()
	if err := f.enter(ctx, "list", dir); err != nil {
		return nil, &backend.PathError{Op: "list", Backend: f.String(), Path: dir, Err: err}
	}
	return f.Backend.List(ctx, dir)
}

func (f *faulty) Open(ctx context.Context, p string, off, n int64) (io.ReadCloser, error) {
	defer f.leave()
	if err := f.enter(ctx, "open", p); err != nil {
		return nil, &backend.PathError{Op: "open", Backend: f.String(), Path: p, Err: err}
	}
	return f.Backend.Open(ctx, p, off, n)
}

func (f *faulty) Put(ctx context.Context, p string, r io.Reader, size int64, mt time.Time) (backend.Entry, error) {
	defer f.leave()
	if err := f.enter(ctx, "put", p); err != nil {
		if f.readHalf {
			io.CopyN(io.Discard, r, size/2)
		}
		return backend.Entry{}, &backend.PathError{Op: "put", Backend: f.String(), Path: p, Err: err}
	}
	return f.Backend.Put(ctx, p, r, size, mt)
}

func (f *faulty) Remove(ctx context.Context, p string) error {
	defer f.leave()
	if err := f.enter(ctx, "remove", p); err != nil {
		return &backend.PathError{Op: "remove", Backend: f.String(), Path: p, Err: err}
	}
	return f.Backend.Remove(ctx, p)
}

// busy is a retryable error, as a service's 503 reaches the engine.
var busy = &retry.StatusError{StatusCode: 503, Op: "test"}

// blocked is a fatal error, as a blocked account reaches the engine.
type blockedError struct{}

func (blockedError) Error() string { return "account blocked" }
func (blockedError) Fatal() bool   { return true }

var blocked error = blockedError{}

func put(t *testing.T, b backend.Backend, p string, data []byte) {
	t.Helper()
	if _, err := b.Put(t.Context(), p, bytes.NewReader(data), int64(len(data)), time.Now()); err != nil {
		t.Fatalf("put %s: %v", p, err)
	}
}

func read(t *testing.T, b backend.Backend, p string) []byte {
	t.Helper()
	rc, err := b.Open(t.Context(), p, 0, -1)
	if err != nil {
		t.Fatalf("open %s: %v", p, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return got
}

// TestRetries checks that a retryable error is retried with the source
// rewound, counted, and that a call giving up reports the last error.
func TestRetries(t *testing.T) {
	mem := memory.New()
	data := bytes.Repeat([]byte("0123456789"), 10000)
	put(t, mem, "a", data)
	// Every call fails twice, then works.
	var mu sync.Mutex
	seen := map[string]int{}
	f := &faulty{Backend: mem, readHalf: true, fail: func(_ int64, op, p string) error {
		mu.Lock()
		defer mu.Unlock()
		seen[op+" "+p]++
		if seen[op+" "+p] <= 2 {
			return busy
		}
		return nil
	}}
	b := pace.Wrap(f, fast(t, pace.Options{Retries: 3}))
	if _, err := b.Stat(t.Context(), "a"); err != nil {
		t.Fatalf("stat: %v", err)
	}
	// Put from a Seeker: the failed attempts read half of it; the third
	// must store all of it.
	put(t, b, "b", data)
	if got := read(t, mem, "b"); !bytes.Equal(got, data) {
		t.Fatalf("stored %d bytes, want the %d put (the retry did not rewind the source)", len(got), len(data))
	}
	// The repository's way: a temporary file, through a SectionReader.
	tmp, err := os.CreateTemp(t.TempDir(), "pack")
	if err != nil {
		t.Fatal(err)
	}
	defer tmp.Close()
	if _, err := tmp.Write(data); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(t.Context(), "c", io.NewSectionReader(tmp, 0, int64(len(data))), int64(len(data)), time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := read(t, mem, "c"); !bytes.Equal(got, data) {
		t.Fatalf("stored %d bytes from the file, want the %d put", len(got), len(data))
	}
	s := b.Stats()
	if s.Ops[pace.OpStat] != (pace.OpStats{Calls: 1, Requests: 3, Retries: 2, Pushbacks: 2}) {
		t.Errorf("stat counts %+v", s.Ops[pace.OpStat])
	}
	if s.Ops[pace.OpPut] != (pace.OpStats{Calls: 2, Requests: 6, Retries: 4, Pushbacks: 4}) {
		t.Errorf("put counts %+v", s.Ops[pace.OpPut])
	}
	if s.Requests != 9 || s.Retries != 6 || s.Errors != 0 {
		t.Errorf("stats %+v, want 9 requests and 6 retries", s)
	}

	// Retries used up: the error says so and wraps the service's.
	b2 := pace.Wrap(&faulty{Backend: mem, fail: func(int64, string, string) error { return busy }}, fast(t, pace.Options{Retries: 2}))
	_, err = b2.Stat(t.Context(), "a")
	var pe *backend.PathError
	if !errors.As(err, &pe) || !errors.Is(err, busy) || !strings.Contains(err.Error(), "giving up after 3 attempts") {
		t.Fatalf("stat = %v, want giving up after 3 attempts with the PathError", err)
	}
	if !retry.IsRetryable(err) {
		t.Error("the final error lost its retryable class; an outer retry could not act on it")
	}
	if s := b2.Stats(); s.Requests != 3 || s.Retries != 2 || s.Errors != 1 {
		t.Errorf("stats %+v, want 3 requests, 2 retries, 1 error", s)
	}
}

// onlyReader hides every method but Read.
type onlyReader struct{ io.Reader }

// TestPutNotSeekable checks that a Put whose source cannot be rewound is
// tried once.
func TestPutNotSeekable(t *testing.T) {
	f := &faulty{Backend: memory.New(), fail: func(n int64, _, _ string) error {
		if n == 1 {
			return busy
		}
		return nil
	}}
	b := pace.Wrap(f, fast(t, pace.Options{Retries: 5}))
	data := []byte("hello")
	_, err := b.Put(t.Context(), "x", onlyReader{bytes.NewReader(data)}, 5, time.Now())
	if !errors.Is(err, busy) {
		t.Fatalf("put = %v, want the service's error", err)
	}
	if strings.Contains(err.Error(), "giving up") {
		t.Errorf("put = %v: a single attempt should report the error as it is", err)
	}
	if s := b.Stats().Ops[pace.OpPut]; s.Requests != 1 || s.Retries != 0 || s.Pushbacks != 1 {
		t.Errorf("put counts %+v, want one request, no retry, one pushback", s)
	}
}

// TestFatalStops checks that a fatal error is not retried and that every
// later call fails at once without reaching the backend.
func TestFatalStops(t *testing.T) {
	mem := memory.New()
	put(t, mem, "a", []byte("x"))
	f := &faulty{Backend: mem, fail: func(n int64, _, _ string) error {
		if n >= 3 {
			return blocked
		}
		return nil
	}}
	b := pace.Wrap(f, fast(t, pace.Options{Retries: 5}))
	for range 2 {
		if _, err := b.Stat(t.Context(), "a"); err != nil {
			t.Fatal(err)
		}
	}
	_, err := b.Stat(t.Context(), "a")
	if !errors.Is(err, blocked) || !backend.IsFatal(err) || errors.Is(err, pace.ErrStopped) {
		t.Fatalf("stat = %v, want the fatal error itself", err)
	}
	calls := f.calls.Load()
	if calls != 3 {
		t.Fatalf("the backend saw %d calls, want 3 (a fatal error is not retried)", calls)
	}
	ctx := t.Context()
	later := map[string]error{}
	_, later["list"] = b.List(ctx, "")
	_, later["stat"] = b.Stat(ctx, "a")
	_, later["open"] = b.Open(ctx, "a", 0, -1)
	_, later["put"] = b.Put(ctx, "b", strings.NewReader("y"), 1, time.Now())
	later["mkdir"] = b.Mkdir(ctx, "d")
	later["rmdir"] = b.Rmdir(ctx, "d")
	later["remove"] = b.Remove(ctx, "a")
	for op, err := range later {
		var pe *backend.PathError
		if !errors.Is(err, pace.ErrStopped) || !errors.Is(err, blocked) || !backend.IsFatal(err) || !errors.As(err, &pe) || pe.Op != op {
			t.Errorf("%s after the fatal error = %v, want ErrStopped with the fatal error in a %s PathError", op, err, op)
		}
		if retry.IsRetryable(err) {
			t.Errorf("%s: a stopped call's error says retryable", op)
		}
	}
	if f.calls.Load() != calls {
		t.Errorf("the backend saw %d calls after the fatal error, want none", f.calls.Load()-calls)
	}
	s := b.Stats()
	if s.Stopped != 7 || s.Retries != 0 || !errors.Is(s.Fatal, blocked) {
		t.Errorf("stats %+v, want 7 stopped calls, no retries and the fatal error", s)
	}
}

// TestFatalStopsConcurrent checks that calls already retrying when another
// call hits a fatal error stop instead of retrying on.
func TestFatalStopsConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &faulty{Backend: memory.New(), fail: func(_ int64, _, p string) error {
			if p == "fatal" {
				return blocked
			}
			return busy
		}}
		b := pace.Wrap(f, pace.Options{Retries: 100, BackoffBase: time.Second, BackoffCap: time.Second, MaxConcurrency: 8})
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() { _, errs[i] = b.Stat(t.Context(), fmt.Sprint("busy", i)) })
		}
		time.Sleep(3 * time.Second) // each has retried a few times
		synctest.Wait()             // and all wait in their backoff
		if _, err := b.Stat(t.Context(), "fatal"); !errors.Is(err, blocked) {
			t.Fatalf("stat = %v", err)
		}
		calls := f.calls.Load()
		wg.Wait()
		if f.calls.Load() != calls {
			t.Errorf("the retrying calls made %d more requests after the fatal error", f.calls.Load()-calls)
		}
		for i, err := range errs {
			if !errors.Is(err, pace.ErrStopped) {
				t.Errorf("retrying call %d ended with %v, want ErrStopped", i, err)
			}
		}
	})
}

// TestWindow checks the AIMD window: calls never exceed it, a storm of
// pushbacks shrinks it to 1, and successes widen it again by one per
// IncreaseEvery.
func TestWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var storm atomic.Bool
		f := &faulty{Backend: memory.New(), hold: 10 * time.Millisecond, fail: func(int64, string, string) error {
			if storm.Load() {
				return busy
			}
			return nil
		}}
		put(t, f.Backend, "a", []byte("x"))
		b := pace.Wrap(f, pace.Options{MaxConcurrency: 8, IncreaseEvery: 4, Retries: -1})
		run := func(n int) (failed int) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			for range n {
				wg.Go(func() {
					if _, err := b.Stat(t.Context(), "a"); err != nil {
						mu.Lock()
						failed++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			return failed
		}
		run(32)
		if m := f.maxInFlight.Load(); m != 8 {
			t.Fatalf("%d calls ran at once, want the window's 8", m)
		}
		if w := b.Stats().Window; w != 8 {
			t.Fatalf("window %d, want 8", w)
		}

		// A storm: 8 calls fail together. One burst halves the window
		// once (they all started in the same epoch).
		storm.Store(true)
		run(8)
		if w := b.Stats().Window; w != 4 {
			t.Fatalf("after one burst of 8 pushbacks the window is %d, want 4", w)
		}
		// Calls that start after a halving halve it again, down to 1.
		for range 5 {
			run(1)
		}
		s := b.Stats()
		if s.Window != 1 || s.MinWindow != 1 {
			t.Fatalf("window %d (min %d) after the storm, want 1", s.Window, s.MinWindow)
		}
		storm.Store(false)
		f.maxInFlight.Store(0)
		run(16)
		if m := f.maxInFlight.Load(); m > 4 {
			t.Errorf("%d calls ran at once while the window grew from 1 by one per 4 successes", m)
		}
		// 16 successes from 1 by one per 4: 1+4 = 5.
		if w := b.Stats().Window; w != 5 {
			t.Errorf("window %d after 16 successes, want 5", w)
		}
		run(200)
		if w := b.Stats().Window; w != 8 {
			t.Errorf("window %d after many successes, want its bound 8", w)
		}
	})
}

// TestObservedRetries checks that retries made inside the wrapped backend
// (a MEGA client retrying EAGAIN) shrink the window and still reach the
// caller's own observer.
func TestObservedRetries(t *testing.T) {
	var fails atomic.Int64
	f := &faulty{Backend: memory.New(), inner: func(ctx context.Context, op string) {
		// The backend's client retries twice before it succeeds.
		n := 0
		retry.Do(ctx, retry.Policy{Base: time.Microsecond, Op: "cs test"}, func(context.Context) error {
			n++
			if n <= 2 {
				fails.Add(1)
				return busy
			}
			return nil
		})
	}}
	put(t, f.Backend, "a", []byte("x"))
	b := pace.Wrap(f, fast(t, pace.Options{MaxConcurrency: 8}))
	var outer atomic.Int64
	ctx := retry.WithObserver(t.Context(), func(op string, _ int, _ error, _ time.Duration) {
		if op == "cs test" {
			outer.Add(1)
		}
	})
	if _, err := b.Stat(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	s := b.Stats()
	if s.Pushbacks != 2 || s.Retries != 0 || s.Requests != 1 {
		t.Errorf("stats %+v, want 2 pushbacks seen below, 1 request, no retry of its own", s)
	}
	// The second retry is of the epoch the first started: both halve.
	if s.Window != 2 {
		t.Errorf("window %d, want 8 halved twice", s.Window)
	}
	if outer.Load() != 2 {
		t.Errorf("the caller's observer saw %d retries, want 2", outer.Load())
	}
}

// TestRate checks the token bucket: Rate requests per second after the
// burst, retries included.
func TestRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mem := memory.New()
		put(t, mem, "a", []byte("x"))
		b := pace.Wrap(mem, pace.Options{Rate: 10, Burst: 5, MaxConcurrency: 16})
		start := time.Now()
		var wg sync.WaitGroup
		for range 25 {
			wg.Go(func() {
				if _, err := b.Stat(t.Context(), "a"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		// 5 at once, then 20 at 10/s.
		if d := time.Since(start); d < 2*time.Second-time.Millisecond || d > 2*time.Second+100*time.Millisecond {
			t.Errorf("25 calls at 10/s with a burst of 5 took %v, want 2s", d)
		}
	})
}

// TestCancelWhileWaiting checks that a call waiting for a slot or a token
// ends with its context, leaks no slot, and never reaches the backend.
func TestCancelWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		f := &faulty{Backend: memory.New(), inner: func(ctx context.Context, op string) { <-release }}
		b := pace.Wrap(f, pace.Options{MaxConcurrency: 1, Rate: 1, Burst: 1})
		go b.Stat(t.Context(), "a") // holds the only slot
		synctest.Wait()
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error)
		go func() { errc <- b.Mkdir(ctx, "d") }()
		synctest.Wait()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("mkdir = %v, want context.Canceled", err)
		}
		close(release)
		synctest.Wait()
		if f.calls.Load() != 1 {
			t.Fatalf("the backend saw %d calls, want only the first", f.calls.Load())
		}
		// The slot is free again; the token bucket (1/s) makes this wait.
		if err := b.Mkdir(t.Context(), "d"); err != nil {
			t.Fatal(err)
		}
		// A deadline shorter than the bucket's wait fails as a deadline.
		ctx, cancel = context.WithTimeout(t.Context(), 10*time.Millisecond)
		defer cancel()
		if err := b.Mkdir(ctx, "e"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("mkdir = %v, want context.DeadlineExceeded", err)
		}
		if _, _, inFlight := pace.WindowState(b); inFlight != 0 {
			t.Fatalf("%d slots still held", inFlight)
		}
	})
}

// BenchmarkStat measures what the wrapper adds to a call: a slot, a token
// and the bookkeeping, on an in-memory backend.
func BenchmarkStat(b *testing.B) {
	mem := memory.New()
	if _, err := mem.Put(b.Context(), "a", strings.NewReader("x"), 1, time.Now()); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		be   backend.Backend
	}{
		{"memory", mem},
		{"paced", pace.Wrap(mem, pace.Options{MaxConcurrency: 8})},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := tc.be.Stat(b.Context(), "a"); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
