package retry

import (
	"context"
	"time"
)

// An Observer is told about every retry Do makes under a context, like a
// net/http/httptrace hook: op is the Policy's Op (what is retried, e.g.
// "cs f" or "upload"; may be empty), attempt the failed attempt (1
// based), err its error and delay the wait before the next attempt. It is
// called before the wait, after Policy.OnRetry, from the goroutine that
// runs Do, possibly from many at once; it must be safe for concurrent use
// and must not block.
//
// Observers see only retries: an attempt that fails for good (permanent
// error, attempts used up, context done) is the caller's to report.
type Observer func(op string, attempt int, err error, delay time.Duration)

type observerKey struct{}

// WithObserver returns a copy of ctx under which Do reports its retries to
// o. It replaces any observer ctx already carries (the innermost one
// wins, so an engine can count per file what a command counts overall); a
// caller that wants both chains them with ObserverFrom. A nil o turns
// observation off.
func WithObserver(ctx context.Context, o Observer) context.Context {
	return context.WithValue(ctx, observerKey{}, o)
}

// ObserverFrom returns the observer ctx carries, or nil.
func ObserverFrom(ctx context.Context) Observer {
	o, _ := ctx.Value(observerKey{}).(Observer)
	return o
}
