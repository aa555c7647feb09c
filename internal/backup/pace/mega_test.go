package pace_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ferry/internal/backend"
	megabackend "ferry/internal/backend/mega"
	"ferry/internal/backup/pace"
	"ferry/internal/retry"
	"ferry/megaserver/megaservertest"
)

// openMEGA opens the seeded account on the server at url as a MEGA backend
// rooted at "backup", closed at the end of the test.
func openMEGA(t *testing.T, url string) backend.Backend {
	t.Helper()
	cfg := backend.ConfigMap{"user": megaservertest.UserV2, "pass": megaservertest.PasswordV2, "url": url}
	b, err := megabackend.New(t.Context(), "pacetest", cfg, "backup", backend.Env{CacheDir: t.TempDir(), Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("open MEGA: %v", err)
	}
	t.Cleanup(func() { b.(backend.Closer).Close() })
	return b
}

// TestMEGAPushbacks runs a backup-like workload (concurrent puts, a
// listing, reads, removes) through the wrapper on a MEGA server that
// answers EAGAIN and HTTP 500 to a good share of requests. The MEGA client
// retries those itself; the wrapper hears of each through retry.Observer,
// counts it and shrinks its window, and the workload completes.
func TestMEGAPushbacks(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithFaults("cs.eagain=0.2,ul.eagain=0.1,ul.http500=0.05,seed=7"))
	b := pace.Wrap(openMEGA(t, ts.URL), fast(t, pace.Options{MaxConcurrency: 8, Rate: 200, Burst: 20}))
	ctx := t.Context()

	const files = 40
	want := map[string][]byte{}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range files {
		data := make([]byte, 1000+rng.IntN(200<<10))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		want[fmt.Sprintf("data/%02x/pack%03d", i%4, i)] = data
	}
	if err := b.Mkdir(ctx, "data"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 12) // more workers than the window
	errs := make(chan error, files)
	for p, data := range want {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := b.Put(ctx, p, bytes.NewReader(data), int64(len(data)), time.Now()); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("put: %v", err)
	}
	n := 0
	for d := range 4 {
		es, err := b.List(ctx, fmt.Sprintf("data/%02x", d))
		if err != nil {
			t.Fatal(err)
		}
		n += len(es)
	}
	if n != files {
		t.Fatalf("listed %d files, want %d", n, files)
	}
	for p, data := range want {
		rc, err := b.Open(ctx, p, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read %s: %d bytes, %v; want the %d put", p, len(got), err, len(data))
		}
		if strings.HasSuffix(p, "0") {
			if err := b.Remove(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := b.Stats()
	t.Logf("stats: requests %d, retries %d, pushbacks %d, errors %d, window %d (min %d of %d)",
		s.Requests, s.Retries, s.Pushbacks, s.Errors, s.Window, s.MinWindow, s.MaxWindow)
	if s.Errors != 0 {
		t.Errorf("%d calls failed", s.Errors)
	}
	if s.Pushbacks < 5 {
		t.Errorf("%d pushbacks counted; the server's faults should give many", s.Pushbacks)
	}
	if s.Ops[pace.OpPut].Pushbacks == 0 {
		t.Errorf("no pushback counted on puts: %+v", s.Ops[pace.OpPut])
	}
	if s.MinWindow >= s.MaxWindow {
		t.Errorf("the window never shrank below %d", s.MaxWindow)
	}
	if s.Ops[pace.OpPut].Calls != files || s.Ops[pace.OpOpen].Calls != files {
		t.Errorf("per-op counts %+v", s.Ops)
	}
}

// TestMEGAFatalStops puts a proxy in front of the MEGA server that, once
// switched, answers every API request "-16" (EBLOCKED), as MEGA does for
// a blocked account. The first call that meets it fails with the fatal
// error without a retry, and every later call fails at once without a
// request reaching the service.
func TestMEGAFatalStops(t *testing.T) {
	ts := megaservertest.Start(t)
	var block atomic.Bool
	var blockedRequests atomic.Int64
	proxy := megaservertest.StartProxy(t, ts.URL, megaservertest.ProxyConfig{
		Before: func(r *http.Request) {
			if block.Load() {
				blockedRequests.Add(1)
			}
		},
		Reply: func(w http.ResponseWriter, r *http.Request, resp *http.Response) {
			if block.Load() && r.URL.Path == "/cs" {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, "-16")
				return
			}
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			io.Copy(w, resp.Body)
		},
	})
	b := pace.Wrap(openMEGA(t, proxy.URL), fast(t, pace.Options{MaxConcurrency: 4, Retries: 5}))
	ctx := t.Context()
	if _, err := b.Put(ctx, "config", strings.NewReader("x"), 1, time.Now()); err != nil {
		t.Fatalf("put before the block: %v", err)
	}

	block.Store(true)
	_, err := b.Put(ctx, "data/00/pack", bytes.NewReader(make([]byte, 5000)), 5000, time.Now())
	if !backend.IsFatal(err) || retry.IsRetryable(err) {
		t.Fatalf("put on a blocked account = %v, want a fatal error", err)
	}
	first := blockedRequests.Load()
	if first != 1 {
		t.Errorf("%d requests met the block, want 1 (fatal errors are not retried)", first)
	}

	later := []func() error{
		func() error { _, err := b.List(ctx, ""); return err },
		func() error { _, err := b.Stat(ctx, "config"); return err },
		func() error { _, err := b.Open(ctx, "config", 0, -1); return err },
		func() error {
			_, err := b.Put(ctx, "index/x", bytes.NewReader([]byte("y")), 1, time.Now())
			return err
		},
		func() error { return b.Remove(ctx, "config") },
	}
	for i, call := range later {
		start := time.Now()
		err := call()
		if !errors.Is(err, pace.ErrStopped) || !backend.IsFatal(err) {
			t.Errorf("call %d after the block = %v, want ErrStopped and fatal", i, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("call %d took %v to fail; it should fail at once", i, d)
		}
	}
	if n := blockedRequests.Load(); n != first {
		t.Errorf("%d more requests reached the service after the fatal error", n-first)
	}
	s := b.Stats()
	if s.Retries != 0 || s.Stopped != int64(len(later)) || s.Fatal == nil {
		t.Errorf("stats %+v, want no retries, %d stopped calls and the fatal error", s, len(later))
	}
	if err := b.Close(); err != nil && !backend.IsFatal(err) {
		// Closing saves the session cache locally; it makes no request.
		t.Logf("close: %v", err)
	}
}

// TestMEGAStormOutlastsClientRetries has the API answer EAGAIN to every
// request for longer than the MEGA client retries on its own (ten
// attempts), so the error reaches the wrapper, which retries the Put from
// its rewound source once the storm is over.
func TestMEGAStormOutlastsClientRetries(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the MEGA client's own backoff (several seconds)")
	}
	ts := megaservertest.Start(t)
	var storm atomic.Int64 // API requests still to answer EAGAIN
	proxy := megaservertest.StartProxy(t, ts.URL, megaservertest.ProxyConfig{
		Reply: func(w http.ResponseWriter, r *http.Request, resp *http.Response) {
			if r.URL.Path == "/cs" && storm.Add(-1) >= 0 {
				io.WriteString(w, "-3")
				return
			}
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			io.Copy(w, resp.Body)
		},
	})
	b := pace.Wrap(openMEGA(t, proxy.URL), fast(t, pace.Options{MaxConcurrency: 4, Retries: 3}))
	ctx := t.Context()
	if err := b.Mkdir(ctx, "data"); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("pack "), 40000)
	storm.Store(10) // the client's default attempts
	if _, err := b.Put(ctx, "data/pack", bytes.NewReader(data), int64(len(data)), time.Now()); err != nil {
		t.Fatalf("put through the storm: %v", err)
	}
	rc, err := b.Open(ctx, "data/pack", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, %v; want the %d put", len(got), err, len(data))
	}
	s := b.Stats().Ops[pace.OpPut]
	t.Logf("put: %+v", s)
	if s.Retries != 1 || s.Requests != 2 || s.Errors != 0 {
		t.Errorf("put counts %+v, want 2 requests, 1 retry of the wrapper's own", s)
	}
	if s.Pushbacks != 10 {
		t.Errorf("%d pushbacks, want 10 (9 retried by the client, 1 returned)", s.Pushbacks)
	}
}
