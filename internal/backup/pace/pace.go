// Package pace wraps a backend.Backend with the manners cloud services
// expect of a backup, which sends many requests for a long time: MEGA and
// MediaFire answer bursts with "try again later" and block accounts that
// keep pushing.
//
// # What a call goes through
//
// Every call of the contract (List, Stat, Open, Put, Mkdir, Rmdir,
// Remove) first takes a slot in an AIMD concurrency window, then a token
// from a token bucket (Options.Rate, Options.Burst), then runs on the
// wrapped backend. One Backend per account: the CLI wraps the resolved
// backend once per process, so every engine shares its bucket and window.
//
//   - The window starts at Options.MaxConcurrency. A pushback, a
//     retryable error (retry.IsRetryable: MEGA's EAGAIN, HTTP 429 and 5xx,
//     dropped connections), halves it, down to 1; every
//     Options.IncreaseEvery successes add one back. The wrapped backend's
//     own retries count as pushbacks too: the wrapper hears of them
//     through retry.Observer (WithObserver), so a MEGA client that hides
//     an EAGAIN storm inside its retries still shrinks the window. Pushbacks
//     from calls that started before the last halving do not halve it
//     again (one burst is one signal).
//   - A call that fails with a retryable error is tried again, up to
//     Options.Retries times, after an exponential backoff with full
//     jitter (internal/retry's Policy), honouring a server's Retry-After.
//     Each attempt takes a slot and a token again.
//   - A fatal error (backend.IsFatal: a blocked account, a wrong password,
//     content that fails verification) is never retried, and from then on
//     every call fails at once, without touching the service, with an
//     error that wraps ErrStopped and that first error. Hammering a
//     blocked account is how it stays blocked.
//
// # Put and Open
//
// Put is retried only when its reader is an io.Seeker (an *os.File, a
// *bytes.Reader, an *io.SectionReader): each attempt seeks back to where
// the reader was when Put was called. Any other reader gets one attempt,
// and a caller that can produce its data again retries itself. The backup
// repository assembles each pack in a temporary file; passing that file,
// or io.NewSectionReader over it, gets pack uploads retried here, while a
// bufio.Reader around it hides its Seek and gets one attempt.
//
// Open holds its slot only until it returns the reader: the window bounds
// requests in flight, not open readers (a caller holding several readers
// could otherwise wait for itself). Errors from the reader's Read are the
// caller's; they neither trip the fatal stop nor count as pushbacks,
// except for retries the wrapped backend makes and reports to the
// observer of the Open's context.
//
// # Stats and logs
//
// Stats reports requests, retries, pushbacks and errors, per operation
// and in total, and the window. Each retry and each halving of the window
// is logged at Debug, the fatal error that stops the backend at Warn, and
// Close logs the totals at Info.
package pace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"ferry/internal/backend"
	"ferry/internal/retry"
)

// Defaults for zero Options fields.
const (
	DefaultMaxConcurrency = 4
	DefaultRetries        = 5
	DefaultIncreaseEvery  = 8
)

// ErrStopped is wrapped by the errors of calls made after a fatal error:
// they fail at once without reaching the service. errors.Is also matches
// the fatal error itself.
var ErrStopped = errors.New("pace: stopped after a fatal error")

// Options configure Wrap. The zero value is unlimited requests per second,
// a window of DefaultMaxConcurrency and DefaultRetries retries.
type Options struct {
	// Rate is the token bucket's requests per second; 0 means unlimited.
	Rate float64
	// Burst is the bucket's size; 0 means 1.
	Burst int
	// MaxConcurrency is the window's upper bound and starting size; 0
	// means DefaultMaxConcurrency. The lower bound is 1.
	MaxConcurrency int
	// Retries is how many times a call that failed with a retryable error
	// is tried again; 0 means DefaultRetries, negative means never.
	Retries int
	// IncreaseEvery is how many successes widen the window by one; 0
	// means DefaultIncreaseEvery.
	IncreaseEvery int
	// BackoffBase and BackoffCap shape the backoff before each retry (see
	// retry.Policy); 0 means retry.DefaultBase and retry.DefaultCap.
	BackoffBase, BackoffCap time.Duration
	// Logger gets a Debug record per retry and per halving of the
	// window, a Warn record for the fatal error and the Info totals at
	// Close; nil discards.
	Logger *slog.Logger
}

// Operation names, as Stats.Ops and the logs name them (the lower-case
// method names backend.PathError uses).
const (
	OpList   = "list"
	OpStat   = "stat"
	OpOpen   = "open"
	OpPut    = "put"
	OpMkdir  = "mkdir"
	OpRmdir  = "rmdir"
	OpRemove = "remove"
)

var opNames = [...]string{OpList, OpStat, OpOpen, OpPut, OpMkdir, OpRmdir, OpRemove}

// op indexes opNames.
type op int

const (
	opList op = iota
	opStat
	opOpen
	opPut
	opMkdir
	opRmdir
	opRemove
)

// Log attribute keys.
const (
	logKeyOp      = "op"
	logKeyPath    = "path"
	logKeyAttempt = "attempt"
	logKeyDelay   = "delay"
	logKeyErr     = "err"
	logKeyWindow  = "window"
	logKeyBackend = "backend"
)

// OpStats count one operation's calls.
type OpStats struct {
	Calls     int64 // calls of the method
	Requests  int64 // attempts that reached the wrapped backend
	Retries   int64 // attempts after the first
	Pushbacks int64 // retryable errors, returned or retried below
	Errors    int64 // calls that failed for good (stopped calls included)
}

// Stats are a Backend's counts since Wrap.
type Stats struct {
	Requests  int64 // attempts that reached the wrapped backend
	Retries   int64 // attempts this wrapper made again after a retryable error
	Pushbacks int64 // retryable errors seen, each a reason to halve the window
	Errors    int64 // calls that failed for good
	Stopped   int64 // calls refused after the fatal error
	Ops       map[string]OpStats
	// Window is the current concurrency window, MinWindow the smallest it
	// has been and MaxWindow its bound.
	Window, MinWindow, MaxWindow int
	// Fatal is the error that stopped the backend, or nil.
	Fatal error
}

// opCounters are one operation's counters.
type opCounters struct {
	calls, requests, retries, pushbacks, errors atomic.Int64
}

// Backend is a paced backend.Backend. It is safe for concurrent use.
type Backend struct {
	b       backend.Backend
	log     *slog.Logger
	limiter *rate.Limiter
	win     *window
	policy  retry.Policy
	retries int

	ops     [len(opNames)]opCounters
	stopped atomic.Int64

	fatalMu sync.Mutex
	fatal   error // +checklocks:fatalMu
	// tripped is set once fatal is, so the hot path need not lock.
	tripped atomic.Bool
}

// Compile-time checks.
var (
	_ backend.Backend     = (*Backend)(nil)
	_ backend.Precisioner = (*Backend)(nil)
	_ backend.Closer      = (*Backend)(nil)
)

// Wrap returns a backend.Backend whose calls go through the bucket and AIMD
// window. A fatal error (backend.IsFatal: blocked account, over quota,
// login failure) is never retried and stops every later call at once with
// the same error. Capabilities the backend has (Mover, ...) are not
// passed on, except Precision; backups need none.
func Wrap(b backend.Backend, o Options) *Backend {
	if o.MaxConcurrency <= 0 {
		o.MaxConcurrency = DefaultMaxConcurrency
	}
	switch {
	case o.Retries == 0:
		o.Retries = DefaultRetries
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.IncreaseEvery <= 0 {
		o.IncreaseEvery = DefaultIncreaseEvery
	}
	limit := rate.Inf
	if o.Rate > 0 {
		limit = rate.Limit(o.Rate)
	}
	if o.Burst <= 0 {
		o.Burst = 1
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Backend{
		b:       b,
		log:     log.With(slog.String(logKeyBackend, b.String())),
		limiter: rate.NewLimiter(limit, o.Burst),
		win:     newWindow(o.MaxConcurrency, o.IncreaseEvery),
		policy:  retry.Policy{Base: o.BackoffBase, Cap: o.BackoffCap},
		retries: o.Retries,
	}
}

// Unwrap returns the wrapped backend.
func (b *Backend) Unwrap() backend.Backend { return b.b }

// String names the wrapped backend.
func (b *Backend) String() string { return b.b.String() }

// Precision is the wrapped backend's mtime precision.
func (b *Backend) Precision() time.Duration { return backend.Precision(b.b) }

// Close logs the totals at Info and closes the wrapped backend if it is a
// backend.Closer.
func (b *Backend) Close() error {
	s := b.Stats()
	attrs := []any{
		slog.Int64("requests", s.Requests), slog.Int64("retries", s.Retries),
		slog.Int64("pushbacks", s.Pushbacks), slog.Int64("errors", s.Errors),
		slog.Int("window", s.Window), slog.Int("min_window", s.MinWindow),
	}
	if s.Fatal != nil {
		attrs = append(attrs, slog.Int64("stopped", s.Stopped), slog.Any(logKeyErr, s.Fatal))
	}
	b.log.Info("pace: totals", attrs...)
	if c, ok := b.b.(backend.Closer); ok {
		return c.Close()
	}
	return nil
}

// Stats returns the counts so far.
func (b *Backend) Stats() Stats {
	s := Stats{Ops: make(map[string]OpStats, len(opNames)), Stopped: b.stopped.Load()}
	for i, name := range opNames {
		c := &b.ops[i]
		o := OpStats{
			Calls: c.calls.Load(), Requests: c.requests.Load(), Retries: c.retries.Load(),
			Pushbacks: c.pushbacks.Load(), Errors: c.errors.Load(),
		}
		s.Ops[name] = o
		s.Requests += o.Requests
		s.Retries += o.Retries
		s.Pushbacks += o.Pushbacks
		s.Errors += o.Errors
	}
	s.Window, s.MinWindow, _ = b.win.state()
	s.MaxWindow = b.win.max
	s.Fatal = b.fatalErr()
	return s
}

// fatalErr returns the error that stopped b, or nil.
func (b *Backend) fatalErr() error {
	if !b.tripped.Load() {
		return nil
	}
	b.fatalMu.Lock()
	defer b.fatalMu.Unlock()
	return b.fatal
}

// trip records the first fatal error.
func (b *Backend) trip(o op, p string, err error) {
	b.fatalMu.Lock()
	defer b.fatalMu.Unlock()
	if b.fatal != nil {
		return
	}
	b.fatal = err
	b.tripped.Store(true)
	b.log.Warn("pace: fatal error; every later call fails at once",
		slog.String(logKeyOp, opNames[o]), slog.String(logKeyPath, p), slog.Any(logKeyErr, err))
}

// stoppedError is the error of a call refused after the fatal error.
type stoppedError struct{ fatal error }

func (e *stoppedError) Error() string { return ErrStopped.Error() + ": " + e.fatal.Error() }

// Unwrap lets errors.Is match both ErrStopped and the fatal error (and
// backend.IsFatal see the latter).
func (e *stoppedError) Unwrap() []error { return []error{ErrStopped, e.fatal} }

// Retryable is false: nothing will come of trying again.
func (e *stoppedError) Retryable() bool { return false }

// do runs call under the window, the bucket and the retry policy. With
// once, call gets a single attempt. rewind, if set, prepares each attempt
// after the first (Put's seek back); its error ends the retries.
func (b *Backend) do(ctx context.Context, o op, p string, once bool, rewind func() error, call func(ctx context.Context) error) error {
	c := &b.ops[o]
	c.calls.Add(1)
	if err := b.stoppedErr(o, p); err != nil {
		b.stopped.Add(1)
		c.errors.Add(1)
		return err
	}
	pol := b.policy
	pol.Op = opNames[o]
	pol.MaxAttempts = b.retries + 1
	if once || b.retries == 0 {
		pol.MaxAttempts = -1
	}
	pol.OnRetry = func(attempt int, err error, d time.Duration) {
		c.retries.Add(1)
		b.log.Debug("pace: retrying", slog.String(logKeyOp, opNames[o]), slog.String(logKeyPath, p),
			slog.Int(logKeyAttempt, attempt), slog.Any(logKeyErr, err), slog.Duration(logKeyDelay, d))
	}
	var last error
	err := retry.Do(ctx, pol, func(ctx context.Context) error {
		if last != nil {
			if err := b.stoppedErr(o, p); err != nil { // another call tripped meanwhile
				return err
			}
			if rewind != nil {
				if err := rewind(); err != nil {
					return retry.Permanent(fmt.Errorf("%w (not retried: %v)", last, err))
				}
			}
		}
		last = b.attempt(ctx, o, p, call)
		if backend.IsFatal(last) {
			b.trip(o, p, last)
			if retry.IsRetryable(last) {
				return retry.Permanent(last)
			}
		}
		return last
	})
	if err != nil {
		c.errors.Add(1)
	}
	return err
}

// stoppedErr returns the error of a call refused after the fatal error, or
// nil while b is not stopped.
func (b *Backend) stoppedErr(o op, p string) error {
	f := b.fatalErr()
	if f == nil {
		return nil
	}
	return &backend.PathError{Op: opNames[o], Backend: b.String(), Path: p, Err: &stoppedError{fatal: f}}
}

// attempt makes one attempt of call: a slot, a token, the call, and the
// bookkeeping of its outcome.
func (b *Backend) attempt(ctx context.Context, o op, p string, call func(ctx context.Context) error) error {
	c := &b.ops[o]
	s, err := b.win.acquire(ctx)
	if err != nil {
		return &backend.PathError{Op: opNames[o], Backend: b.String(), Path: p, Err: err}
	}
	if err := b.limiter.Wait(ctx); err != nil {
		b.win.release(s, false)
		if ctx.Err() == nil {
			// The wait would outlast ctx's deadline.
			err = fmt.Errorf("%w: %v", context.DeadlineExceeded, err)
		}
		return &backend.PathError{Op: opNames[o], Backend: b.String(), Path: p, Err: err}
	}
	c.requests.Add(1)
	outer := retry.ObserverFrom(ctx)
	ictx := retry.WithObserver(ctx, func(rop string, n int, err error, d time.Duration) {
		b.pushback(o, p, s, err)
		if outer != nil {
			outer(rop, n, err, d)
		}
	})
	err = call(ictx)
	switch {
	case err == nil:
		b.win.release(s, true)
	case retry.IsRetryable(err) && ctx.Err() == nil:
		b.pushback(o, p, s, err)
		b.win.release(s, false)
	default:
		b.win.release(s, false)
	}
	return err
}

// pushback counts a retryable error of o's call holding s and halves the
// window if it is the first of its epoch.
func (b *Backend) pushback(o op, p string, s *slot, err error) {
	b.ops[o].pushbacks.Add(1)
	if limit, changed := b.win.pushback(s); changed {
		b.log.Debug("pace: pushed back; window halved", slog.String(logKeyOp, opNames[o]),
			slog.String(logKeyPath, p), slog.Int(logKeyWindow, limit), slog.Any(logKeyErr, err))
	}
}

// List lists dir (see backend.Backend).
func (b *Backend) List(ctx context.Context, dir string) ([]backend.Entry, error) {
	var es []backend.Entry
	err := b.do(ctx, opList, dir, false, nil, func(ctx context.Context) (err error) {
		es, err = b.b.List(ctx, dir)
		return err
	})
	return es, err
}

// Stat describes p (see backend.Backend).
func (b *Backend) Stat(ctx context.Context, p string) (backend.Entry, error) {
	var e backend.Entry
	err := b.do(ctx, opStat, p, false, nil, func(ctx context.Context) (err error) {
		e, err = b.b.Stat(ctx, p)
		return err
	})
	return e, err
}

// Open opens a range of p (see backend.Backend). The slot is held until
// the reader is returned, not until it is closed.
func (b *Backend) Open(ctx context.Context, p string, offset, length int64) (io.ReadCloser, error) {
	var rc io.ReadCloser
	err := b.do(ctx, opOpen, p, false, nil, func(ctx context.Context) (err error) {
		rc, err = b.b.Open(ctx, p, offset, length)
		return err
	})
	return rc, err
}

// Put stores r at p (see backend.Backend). It is retried only if r is an
// io.Seeker: each attempt starts where r was when Put was called.
func (b *Backend) Put(ctx context.Context, p string, r io.Reader, size int64, modTime time.Time) (backend.Entry, error) {
	var rewind func() error
	if s, ok := r.(io.Seeker); ok {
		if start, err := s.Seek(0, io.SeekCurrent); err == nil {
			rewind = func() error {
				_, err := s.Seek(start, io.SeekStart)
				return err
			}
		}
	}
	var e backend.Entry
	err := b.do(ctx, opPut, p, rewind == nil, rewind, func(ctx context.Context) (err error) {
		e, err = b.b.Put(ctx, p, r, size, modTime)
		return err
	})
	return e, err
}

// Mkdir creates dir (see backend.Backend).
func (b *Backend) Mkdir(ctx context.Context, dir string) error {
	return b.do(ctx, opMkdir, dir, false, nil, func(ctx context.Context) error { return b.b.Mkdir(ctx, dir) })
}

// Rmdir removes the empty directory dir (see backend.Backend).
func (b *Backend) Rmdir(ctx context.Context, dir string) error {
	return b.do(ctx, opRmdir, dir, false, nil, func(ctx context.Context) error { return b.b.Rmdir(ctx, dir) })
}

// Remove deletes file p (see backend.Backend).
func (b *Backend) Remove(ctx context.Context, p string) error {
	return b.do(ctx, opRemove, p, false, nil, func(ctx context.Context) error { return b.b.Remove(ctx, p) })
}
