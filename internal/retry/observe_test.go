package retry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestObserver checks that Do reports each retry, and only retries, to the
// observer in its context, with the policy's Op, and that the innermost
// observer replaces an outer one.
func TestObserver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var got []string
		record := func(who string) Observer {
			return func(op string, attempt int, err error, delay time.Duration) {
				mu.Lock()
				defer mu.Unlock()
				if delay < 0 || delay > DefaultCap {
					t.Errorf("delay %v outside [0, %v]", delay, DefaultCap)
				}
				got = append(got, fmt.Sprintf("%s %s #%d: %v", who, op, attempt, err))
			}
		}
		// failing returns an op that fails n times with a retryable error,
		// then with a permanent one.
		failing := func(n int) func(context.Context) error {
			calls := 0
			return func(context.Context) error {
				calls++
				if calls <= n {
					return &StatusError{StatusCode: 503, Op: "probe"}
				}
				return Permanent(errors.New("final"))
			}
		}

		outer := WithObserver(t.Context(), record("outer"))
		if err := Do(outer, Policy{Op: "cs f"}, failing(2)); err == nil || err.Error() != "final" {
			t.Fatalf("Do = %v, want the permanent error", err)
		}
		inner := WithObserver(outer, record("inner"))
		if err := Do(inner, Policy{Op: "upload"}, failing(1)); err == nil {
			t.Fatal("Do succeeded")
		}
		// Attempts used up: the last failure is not a retry.
		if err := Do(inner, Policy{Op: "download", MaxAttempts: 2}, failing(5)); err == nil || !strings.Contains(err.Error(), "giving up after 2 attempts") {
			t.Fatalf("Do = %v, want giving up", err)
		}
		// Observation off.
		if err := Do(WithObserver(inner, nil), Policy{Op: "off"}, failing(1)); err == nil {
			t.Fatal("Do succeeded")
		}
		// No observer at all.
		if err := Do(t.Context(), Policy{Op: "none"}, failing(1)); err == nil {
			t.Fatal("Do succeeded")
		}
		want := []string{
			"outer cs f #1: probe: http status 503 Service Unavailable",
			"outer cs f #2: probe: http status 503 Service Unavailable",
			"inner upload #1: probe: http status 503 Service Unavailable",
			"inner download #1: probe: http status 503 Service Unavailable",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("observed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if ObserverFrom(t.Context()) != nil {
			t.Error("ObserverFrom of a bare context is not nil")
		}
	})
}

// TestOnUnobserved: a policy's OnUnobserved hears each retry only when no
// observer does, so a library's own log line and a program's are never
// both written; OnRetry hears every retry either way.
func TestOnUnobserved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var onRetry, unobserved, observed int
		p := Policy{
			OnRetry:      func(int, error, time.Duration) { onRetry++ },
			OnUnobserved: func(int, error, time.Duration) { unobserved++ },
		}
		fail := func(context.Context) error { return &StatusError{StatusCode: 503, Op: "probe"} }
		p.MaxAttempts = 3
		_ = Do(t.Context(), p, fail)
		if onRetry != 2 || unobserved != 2 {
			t.Errorf("without an observer: OnRetry %d, OnUnobserved %d; want 2, 2", onRetry, unobserved)
		}
		ctx := WithObserver(t.Context(), func(string, int, error, time.Duration) { observed++ })
		_ = Do(ctx, p, fail)
		if onRetry != 4 || unobserved != 2 || observed != 2 {
			t.Errorf("with an observer: OnRetry %d, OnUnobserved %d, observed %d; want 4, 2, 2", onRetry, unobserved, observed)
		}
	})
}
