package transfer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/retry"
)

// TestRetriesCounted checks that the engine counts and logs both kinds of
// retries: a backend's own (retry.Do inside Put, as the MEGA client's
// chunk uploads do) and the engine's whole-file retry.
func TestRetriesCounted(t *testing.T) {
	f := factories()[0]
	src, inner := f.new(t), f.new(t)
	put(t, src, "", tree{"inner": {data: "one"}, "whole": {data: "two"}, "calm": {data: "three"}})
	var mu sync.Mutex
	calls := map[string]int{}
	dst := &ctxFaulty{faulty: faulty{Backend: inner}, failPut: func(ctx context.Context, p string) error {
		mu.Lock()
		calls[p]++
		n := calls[p]
		mu.Unlock()
		switch {
		case p == "inner":
			tries := 0
			return retry.Do(ctx, retry.Policy{Op: "upload chunk", Base: time.Millisecond}, func(context.Context) error {
				if tries++; tries == 1 {
					return fmt.Errorf("chunk 0: %w", io.ErrUnexpectedEOF)
				}
				return nil
			})
		case p == "whole" && n == 1:
			return fmt.Errorf("upload: %w", io.ErrUnexpectedEOF)
		}
		return nil
	}}
	var logs bytes.Buffer
	opts, _ := testOptions(t)
	opts.Logger = slog.New(slog.NewTextHandler(&lockedBuffer{b: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if err := Copy(t.Context(), Location{src, ""}, Location{dst, ""}, opts); err != nil {
		t.Fatal(err)
	}
	if s := opts.Stats.Snapshot(); s.Retries != 2 || s.Transfers != 3 || s.Errors != 0 {
		t.Errorf("stats: retries %d, transfers %d, errors %d; want 2, 3, 0", s.Retries, s.Transfers, s.Errors)
	}
	out := logs.String()
	for _, want := range []string{
		`level=DEBUG msg=retrying op="upload chunk" object=inner attempt=1 err="chunk 0: unexpected EOF"`,
		`level=WARN msg="transfer failed, retrying" object=whole attempt=1 err="upload: unexpected EOF"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "object=calm attempt") {
		t.Errorf("a file without failures was logged as retried:\n%s", out)
	}
}

// TestObserveRetriesWithoutLogger counts with a nil logger.
func TestObserveRetriesWithoutLogger(t *testing.T) {
	var s Stats
	ctx := s.ObserveRetries(t.Context(), nil, "")
	tries := 0
	_ = retry.Do(ctx, retry.Policy{Base: time.Microsecond, MaxAttempts: 3}, func(context.Context) error {
		tries++
		return io.ErrUnexpectedEOF
	})
	if got := s.Snapshot().Retries; tries != 3 || got != 2 {
		t.Errorf("%d attempts, %d retries counted; want 3, 2", tries, got)
	}
}

// ctxFaulty is faulty with a failure hook that sees the Put's context.
type ctxFaulty struct {
	faulty
	failPut func(ctx context.Context, p string) error
}

func (f *ctxFaulty) Put(ctx context.Context, p string, r io.Reader, size int64, modTime time.Time) (backend.Entry, error) {
	if err := f.failPut(ctx, p); err != nil {
		return backend.Entry{}, err
	}
	return f.faulty.Put(ctx, p, r, size, modTime)
}

// lockedBuffer is a goroutine-safe writer for logs.
type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
