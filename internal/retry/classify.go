package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// Retryabler is implemented by errors that know whether retrying the
// operation can help. IsRetryable consults the first one in an error's
// chain before anything else.
type Retryabler interface {
	Retryable() bool
}

// IsRetryable reports whether err is worth another attempt:
//
//   - an error in the chain implementing Retryabler decides first: a
//     service's errors say for themselves whether they are temporary
//     (MEGA's EAGAIN and friends, *megaapi.Error), so this package knows
//     no protocol;
//   - context.Canceled is never retryable (Do also checks its own ctx);
//   - *StatusError with HTTP 408, 429 or 5xx;
//   - dropped or refused connections, timeouts and truncated bodies:
//     io.ErrUnexpectedEOF, an io.EOF inside a *url.Error, ECONNRESET,
//     ECONNABORTED, ECONNREFUSED, EPIPE, *net.OpError and net.Error
//     timeouts.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var r Retryabler
	if errors.As(err, &r) {
		return r.Retryable()
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ue *url.Error
	if errors.As(err, &ue) && errors.Is(ue.Err, io.EOF) {
		return true // the server closed the connection before answering
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return false
}

// StatusError is an unexpected HTTP status. 408, 429 and 5xx are retryable.
type StatusError struct {
	StatusCode int
	Status     string        // e.g. "503 Service Unavailable"; may be empty
	Op         string        // what was being done, e.g. "cs us" or "upload"
	After      time.Duration // the Retry-After header, if any
}

// NewStatusError describes resp (whose body the caller still closes).
func NewStatusError(op string, resp *http.Response) *StatusError {
	e := &StatusError{StatusCode: resp.StatusCode, Status: resp.Status, Op: op}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			e.After = time.Duration(n) * time.Second
		}
	}
	return e
}

func (e *StatusError) Error() string {
	st := e.Status
	if st == "" {
		st = strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode)
	}
	if e.Op == "" {
		return "http status " + st
	}
	return fmt.Sprintf("%s: http status %s", e.Op, st)
}

// Retryable reports whether the status means "try again later".
func (e *StatusError) Retryable() bool {
	return e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusTooManyRequests ||
		e.StatusCode >= 500
}

// RetryAfter is the server's Retry-After hint, which Do honours.
func (e *StatusError) RetryAfter() time.Duration { return e.After }

// mark overrides the classification of an error.
type mark struct {
	err       error
	retryable bool
}

func (m *mark) Error() string   { return m.err.Error() }
func (m *mark) Unwrap() error   { return m.err }
func (m *mark) Retryable() bool { return m.retryable }

// Permanent marks err as not retryable, whatever it wraps. Nil stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &mark{err: err}
}

// Transient marks err as retryable, whatever it wraps. Nil stays nil.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &mark{err: err, retryable: true}
}
