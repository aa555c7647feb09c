package mega

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/retry"
	megaclient "ferry/mega"
	"ferry/megaserver/megaservertest"
)

const testRemote = "testmega"

// testConfig is the seeded v2 account on ts.
func testConfig(ts *megaservertest.TestServer) backend.ConfigMap {
	return backend.ConfigMap{
		optUser: megaservertest.UserV2,
		optPass: megaservertest.PasswordV2,
		optURL:  ts.URL,
	}
}

// fastRetries makes retries quick (the server's faults are frequent).
func fastRetries(o *megaclient.Options) {
	o.Retry = retry.Policy{Base: 5 * time.Millisecond, Cap: 200 * time.Millisecond, MaxAttempts: 20}
}

// logRecorder is a slog.Handler that keeps every record as text and
// counts the API calls the client logs with the debug option.
type logRecorder struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	calls map[string]int
	t     testing.TB
	attrs []slog.Attr
}

func newLogRecorder(t testing.TB) *logRecorder {
	return &logRecorder{calls: make(map[string]int), t: t}
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var line strings.Builder
	fmt.Fprintf(&line, "%s %s", rec.Level, rec.Message)
	cmd := ""
	each := func(a slog.Attr) bool {
		fmt.Fprintf(&line, " %s=%v", a.Key, a.Value.Resolve())
		if a.Key == "cmd" && rec.Message == "mega api call" {
			cmd = a.Value.String()
		}
		return true
	}
	for _, a := range r.attrs {
		each(a)
	}
	rec.Attrs(each)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf.WriteString(line.String() + "\n")
	if cmd != "" {
		r.calls[cmd]++
	}
	if rec.Level >= slog.LevelInfo {
		r.t.Log(line.String())
	}
	return nil
}

func (r *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &recorderView{r: r, attrs: as}
}

func (r *logRecorder) WithGroup(string) slog.Handler { return r }

// recorderView is a logRecorder with attributes added by With.
type recorderView struct {
	r     *logRecorder
	attrs []slog.Attr
}

func (v *recorderView) Enabled(ctx context.Context, l slog.Level) bool { return true }
func (v *recorderView) Handle(ctx context.Context, rec slog.Record) error {
	rec = rec.Clone()
	rec.AddAttrs(v.attrs...)
	return v.r.Handle(ctx, rec)
}
func (v *recorderView) WithAttrs(as []slog.Attr) slog.Handler {
	return &recorderView{r: v.r, attrs: append(append([]slog.Attr(nil), v.attrs...), as...)}
}
func (v *recorderView) WithGroup(string) slog.Handler { return v }

// count returns how often the client sent command cmd.
func (r *logRecorder) count(cmd string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[cmd]
}

// text returns everything logged so far.
func (r *logRecorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

// opener opens backends of one remote (one cache dir) on one server.
type opener struct {
	t        testing.TB
	ts       *megaservertest.TestServer
	cfg      backend.ConfigMap
	cacheDir string
	log      *logRecorder
	prompt   promptFunc
}

func newOpener(t testing.TB, ts *megaservertest.TestServer) *opener {
	cfg := testConfig(ts)
	cfg[optDebug] = "true" // so the recorder counts API calls
	return &opener{t: t, ts: ts, cfg: cfg, cacheDir: t.TempDir(), log: newLogRecorder(t)}
}

func (o *opener) env() backend.Env {
	return backend.Env{CacheDir: o.cacheDir, Logger: slog.New(o.log), Prompt: o.prompt}
}

// open opens the remote rooted at root.
func (o *opener) open(ctx context.Context, root string) (*Backend, error) {
	b, err := newBackend(testRemote, o.cfg, root, o.env(), fastRetries)
	if err != nil {
		return nil, err
	}
	if err := b.connect(ctx, o.prompt); err != nil {
		return nil, err
	}
	return b, nil
}

// mustOpen opens the remote and closes it at the end of the test.
func (o *opener) mustOpen(root string) *Backend {
	o.t.Helper()
	b, err := o.open(o.t.Context(), root)
	if err != nil {
		o.t.Fatalf("open: %v", err)
	}
	o.t.Cleanup(func() { b.Close() })
	return b
}

// logins is the server's login count for the seeded user.
func logins(ts *megaservertest.TestServer) int {
	return ts.Server.Logins(megaservertest.UserV2)
}

// put stores data at p and fails the test on error.
func put(t testing.TB, b backend.Backend, p string, data []byte) backend.Entry {
	t.Helper()
	e, err := b.Put(t.Context(), p, bytes.NewReader(data), int64(len(data)), time.Unix(1700000000, 0))
	if err != nil {
		t.Fatalf("Put(%q): %v", p, err)
	}
	return e
}

// slog0 logs warnings and errors to the test.
func slog0(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}
