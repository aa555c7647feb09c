package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

func TestCeiling(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		n    int
		want time.Duration
	}{
		{"zero first", Policy{}, 0, 50 * time.Millisecond},
		{"zero second", Policy{}, 1, 100 * time.Millisecond},
		{"zero capped", Policy{}, 7, 5 * time.Second},
		{"zero huge", Policy{}, 1000, 5 * time.Second},
		{"custom", Policy{Base: time.Second, Cap: 3 * time.Second}, 1, 2 * time.Second},
		{"custom capped", Policy{Base: time.Second, Cap: 3 * time.Second}, 2, 3 * time.Second},
		{"base above cap", Policy{Base: time.Minute, Cap: time.Second}, 0, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Ceiling(tt.n); got != tt.want {
				t.Errorf("Ceiling(%d) = %v, want %v", tt.n, got, tt.want)
			}
		})
	}
}

func TestDelayWithinCeiling(t *testing.T) {
	var p Policy
	for n := range 12 {
		for range 100 {
			if d := p.Delay(n); d < 0 || d > p.Ceiling(n) {
				t.Fatalf("Delay(%d) = %v, outside [0, %v]", n, d, p.Ceiling(n))
			}
		}
	}
}

// TestDoBackoffTiming checks in a synctest bubble that the waits between
// attempts stay inside the full-jitter bounds and that Do stops after
// MaxAttempts.
func TestDoBackoffTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := Policy{Base: 100 * time.Millisecond, Cap: 400 * time.Millisecond, MaxAttempts: 6}
		var times []time.Time
		err := Do(t.Context(), p, func(context.Context) error {
			times = append(times, time.Now())
			return errTemp
		})
		if len(times) != 6 {
			t.Fatalf("attempts = %d, want 6", len(times))
		}
		if !errors.Is(err, errTemp) {
			t.Fatalf("err = %v, want EAGAIN", err)
		}
		for i := 1; i < len(times); i++ {
			gap := times[i].Sub(times[i-1])
			if ceil := p.Ceiling(i - 1); gap < 0 || gap > ceil {
				t.Errorf("wait before attempt %d = %v, want within [0, %v]", i+1, gap, ceil)
			}
		}
	})
}

func TestDoSucceedsAfterRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		var retries []int
		p := Policy{OnRetry: func(a int, err error, d time.Duration) { retries = append(retries, a) }}
		err := Do(t.Context(), p, func(context.Context) error {
			n++
			if n < 4 {
				return &StatusError{StatusCode: 503}
			}
			return nil
		})
		if err != nil || n != 4 {
			t.Fatalf("Do = %v after %d attempts, want nil after 4", err, n)
		}
		if fmt.Sprint(retries) != "[1 2 3]" {
			t.Errorf("OnRetry attempts = %v, want [1 2 3]", retries)
		}
	})
}

func TestDoPermanentErrorStops(t *testing.T) {
	n := 0
	want := errPerm
	err := Do(t.Context(), Policy{}, func(context.Context) error { n++; return want })
	if n != 1 || !errors.Is(err, want) {
		t.Fatalf("Do = %v after %d attempts, want ENOENT after 1", err, n)
	}
}

func TestDoCancelDuringWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		p := Policy{Base: time.Hour, Cap: time.Hour}
		n := 0
		done := make(chan error)
		go func() {
			done <- Do(ctx, p, func(context.Context) error { n++; return errTemp })
		}()
		synctest.Wait() // Do is now waiting (unless the jitter drew 0)
		start := time.Now()
		cancel()
		err := <-done
		if !errors.Is(err, context.Canceled) || !errors.Is(err, errTemp) {
			t.Fatalf("err = %v, want Canceled wrapping EAGAIN", err)
		}
		if el := time.Since(start); el != 0 {
			t.Errorf("Do returned %v after cancel, want at once", el)
		}
		if n > 2 {
			t.Errorf("attempts = %d after cancel", n)
		}
	})
}

func TestDoCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	called := false
	err := Do(ctx, Policy{}, func(context.Context) error { called = true; return nil })
	if called || !errors.Is(err, context.Canceled) {
		t.Fatalf("called=%v err=%v, want no call and Canceled", called, err)
	}
}

func TestDoSingleAttempt(t *testing.T) {
	n := 0
	err := Do(t.Context(), Policy{MaxAttempts: -1}, func(context.Context) error { n++; return errTemp })
	if n != 1 || !errors.Is(err, errTemp) {
		t.Fatalf("n=%d err=%v", n, err)
	}
}

func TestDoHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := Policy{Base: time.Millisecond, Cap: 10 * time.Second, MaxAttempts: 2}
		var times []time.Time
		Do(t.Context(), p, func(context.Context) error {
			times = append(times, time.Now())
			return &StatusError{StatusCode: 429, After: 3 * time.Second}
		})
		if len(times) != 2 {
			t.Fatalf("attempts = %d", len(times))
		}
		if gap := times[1].Sub(times[0]); gap != 3*time.Second {
			t.Errorf("gap = %v, want the 3s Retry-After", gap)
		}
	})
}

// errTemp and errPerm stand for a service's temporary and permanent
// errors (MEGA's EAGAIN and ENOENT), which classify themselves.
var (
	errTemp error = fakeRetryable{true}
	errPerm error = fakeRetryable{false}
)

type fakeRetryable struct{ ok bool }

func (f fakeRetryable) Error() string   { return "fake" }
func (f fakeRetryable) Retryable() bool { return f.ok }

func TestIsRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"500", &StatusError{StatusCode: 500}, true},
		{"503", fmt.Errorf("wrapped: %w", &StatusError{StatusCode: 503}), true},
		{"429", &StatusError{StatusCode: 429}, true},
		{"408", &StatusError{StatusCode: 408}, true},
		{"404", &StatusError{StatusCode: 404}, false},
		{"403", &StatusError{StatusCode: 403}, false},
		{"unexpected eof", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"plain eof", io.EOF, false},
		{"url eof", &url.Error{Op: "Post", URL: "http://x", Err: io.EOF}, true},
		{"reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, true},
		{"refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"canceled", context.Canceled, false},
		{"url canceled", &url.Error{Op: "Get", URL: "http://x", Err: context.Canceled}, false},
		{"deadline", context.DeadlineExceeded, true},
		{"retryabler yes", fakeRetryable{true}, true},
		{"retryabler no", fmt.Errorf("w: %w", fakeRetryable{false}), false},
		{"permanent temporary", Permanent(errTemp), false},
		{"transient permanent", Transient(errPerm), true},
		{"plain", errors.New("boom"), false},
		{"bad scheme", &url.Error{Op: "Get", URL: "ftp://x", Err: errors.New(`unsupported protocol scheme "ftp"`)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsRetryable(tt.err); got != tt.want {
				t.Errorf("IsRetryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestStatusError(t *testing.T) {
	resp := &http.Response{StatusCode: 503, Status: "503 Service Unavailable", Header: http.Header{"Retry-After": {"2"}}}
	e := NewStatusError("cs f", resp)
	if e.Error() != "cs f: http status 503 Service Unavailable" {
		t.Errorf("Error() = %q", e.Error())
	}
	if e.RetryAfter() != 2*time.Second || !e.Retryable() {
		t.Errorf("RetryAfter=%v Retryable=%v", e.RetryAfter(), e.Retryable())
	}
	if got := (&StatusError{StatusCode: 418}).Error(); got != "http status 418 I'm a teapot" {
		t.Errorf("Error() = %q", got)
	}
}

// TestFixedDelay: a Fixed policy waits exactly its ceiling (rclone's
// --retries-sleep), never a jittered part of it.
func TestFixedDelay(t *testing.T) {
	p := Policy{Base: 300 * time.Millisecond, Cap: 300 * time.Millisecond, Fixed: true}
	for n := range 5 {
		if d := p.Delay(n); d != 300*time.Millisecond {
			t.Errorf("Delay(%d) = %v, want 300ms", n, d)
		}
	}
}
