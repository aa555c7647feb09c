// Package retry holds the backoff policy and the single classification of
// retryable errors shared by ferry's service clients.
//
// Do runs an operation until it succeeds, fails with an error that is not
// retryable, runs out of attempts, or its context ends. IsRetryable decides
// which errors are worth another attempt: errors that implement
// interface{ Retryable() bool } decide for themselves (a service's error
// codes, such as MEGA's EAGAIN, classify themselves in their own package),
// and IsRetryable knows the HTTP statuses that mean "try later" and the
// shapes of dropped connections. This package imports no ferry package.
package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Defaults used for zero fields of Policy.
const (
	DefaultBase        = 50 * time.Millisecond
	DefaultCap         = 5 * time.Second
	DefaultMaxAttempts = 10
)

// Policy is an exponential backoff with full jitter: before retry n (0
// based) Do waits a uniformly random duration in [0, min(Cap, Base*2^n)].
// The zero value uses DefaultBase, DefaultCap and DefaultMaxAttempts.
type Policy struct {
	// Base is the backoff ceiling before the first retry.
	Base time.Duration
	// Cap bounds the backoff ceiling.
	Cap time.Duration
	// MaxAttempts is the total number of attempts including the first one;
	// 0 means DefaultMaxAttempts and a negative value means a single attempt.
	MaxAttempts int
	// Op names what is retried for the context's Observer (see
	// WithObserver), e.g. "cs f" or "upload".
	Op string
	// Fixed waits exactly Ceiling(n) before retry n, without jitter
	// (with Base equal to Cap: a fixed interval, rclone's --retries-sleep).
	Fixed bool
	// OnRetry, if set, is called before each wait with the attempt that
	// failed (1 based), its error and the chosen delay. It must not block.
	OnRetry func(attempt int, err error, delay time.Duration)
	// OnUnobserved, if set, is called instead of the Observer when ctx
	// carries none: a library's own log line for a retry, which a program
	// that observes retries (and logs them itself) would see twice.
	OnUnobserved func(attempt int, err error, delay time.Duration)
}

// attempts returns the effective number of attempts.
func (p Policy) attempts() int {
	switch {
	case p.MaxAttempts == 0:
		return DefaultMaxAttempts
	case p.MaxAttempts < 0:
		return 1
	}
	return p.MaxAttempts
}

// Ceiling returns the largest delay before retry n (0 based):
// min(Cap, Base*2^n).
func (p Policy) Ceiling(n int) time.Duration {
	base, ceil := p.Base, p.cap()
	if base <= 0 {
		base = DefaultBase
	}
	if base >= ceil {
		return ceil
	}
	d := base
	for range n {
		if d >= ceil/2 {
			return ceil
		}
		d *= 2
	}
	return d
}

// cap returns the effective Cap.
func (p Policy) cap() time.Duration {
	if p.Cap <= 0 {
		return DefaultCap
	}
	return p.Cap
}

// Delay returns a jittered delay before retry n (0 based), uniformly drawn
// from [0, Ceiling(n)]; Ceiling(n) itself when the policy is Fixed.
func (p Policy) Delay(n int) time.Duration {
	c := p.Ceiling(n)
	if c <= 0 {
		return 0
	}
	if p.Fixed {
		return c
	}
	return rand.N(c + 1)
}

// Do calls op until it returns nil or an error that is not retryable (see
// IsRetryable), or until the policy's attempts are used up. It waits
// between attempts per the policy, honouring a RetryAfter hint when an error
// carries one (bounded by Cap). A done ctx ends the loop at once: Do never
// starts an attempt or keeps waiting after ctx is cancelled.
//
// Each retry is reported to p.OnRetry and to the Observer ctx carries
// (WithObserver), or without one to p.OnUnobserved.
//
// The returned error wraps the last attempt's error; after cancellation it
// wraps both ctx.Err() and the last error.
func Do(ctx context.Context, p Policy, op func(ctx context.Context) error) error {
	max := p.attempts()
	obs := ObserverFrom(ctx)
	var last error
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			if last != nil {
				return fmt.Errorf("%w (last error: %w)", err, last)
			}
			return err
		}
		err := op(ctx)
		if err == nil {
			return nil
		}
		last = err
		if !IsRetryable(err) {
			return err
		}
		if ctx.Err() != nil {
			continue // reported at the top of the loop
		}
		if attempt+1 >= max {
			if max == 1 {
				return err
			}
			return fmt.Errorf("giving up after %d attempts: %w", max, err)
		}
		d := p.Delay(attempt)
		if ra := retryAfter(err); ra > d {
			d = min(ra, p.cap())
		}
		if p.OnRetry != nil {
			p.OnRetry(attempt+1, err, d)
		}
		if obs != nil {
			obs(p.Op, attempt+1, err, d)
		} else if p.OnUnobserved != nil {
			p.OnUnobserved(attempt+1, err, d)
		}
		if d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
	}
}

// retryAfter extracts a server's RetryAfter hint from err.
func retryAfter(err error) time.Duration {
	var h interface{ RetryAfter() time.Duration }
	if errors.As(err, &h) {
		return h.RetryAfter()
	}
	return 0
}
