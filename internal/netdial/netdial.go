// Package netdial opens the network connections of ferry's service
// clients with rclone's two timeouts: one for connecting (--contimeout)
// and an idle timeout on every read and write (--timeout), so that a
// server that stops answering fails a request instead of hanging it.
//
// It imports no ferry package; the clients take its DialContext as an
// option (mega.Options.Dial, mediafire.Options.Dial).
package netdial

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"
)

// Dialer dials TCP connections. The zero value dials like net.Dialer
// with no timeouts.
type Dialer struct {
	// Connect bounds establishing a connection; 0 means no bound beyond
	// the operating system's.
	Connect time.Duration
	// Idle fails a read or write that makes no progress for this long
	// (the error is a timeout, which the retry policy retries); 0 means
	// no idle timeout.
	Idle time.Duration
}

// DialContext dials addr; it has the signature of
// http.Transport.DialContext.
func (d Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := net.Dialer{Timeout: d.Connect, KeepAlive: 30 * time.Second}
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		if os.IsTimeout(err) && ctx.Err() == nil && d.Connect > 0 {
			return nil, fmt.Errorf("connect to %s: no answer within %v (--contimeout): %w", addr, d.Connect, err)
		}
		return nil, err
	}
	if d.Idle <= 0 {
		return c, nil
	}
	return &idleConn{Conn: c, idle: d.Idle}, nil
}

// idleConn moves its deadline forward before each read and write. To
// keep the deadline updates off the hot path of a fast transfer, it is
// moved only when a tenth of the timeout has passed since the last move,
// so an idle connection fails after between 0.9 and 1 times the timeout.
type idleConn struct {
	net.Conn
	idle time.Duration
	// last is when the deadline was last moved (UnixNano). Reads and
	// writes may run at once (the HTTP transport reads a response while
	// it writes a body), so the update may race harmlessly: each sets
	// a deadline at least as late as the one before.
	last lastMove
}

// Read implements net.Conn.
func (c *idleConn) Read(p []byte) (int, error) {
	c.nudge()
	n, err := c.Conn.Read(p)
	return n, c.explain(err)
}

// Write implements net.Conn.
func (c *idleConn) Write(p []byte) (int, error) {
	c.nudge()
	n, err := c.Conn.Write(p)
	return n, c.explain(err)
}

// nudge moves the deadline to now+idle when it is due.
func (c *idleConn) nudge() {
	now := time.Now()
	if c.last.due(now, c.idle/10) {
		c.Conn.SetDeadline(now.Add(c.idle))
	}
}

// explain names the idle timeout in a timeout error.
func (c *idleConn) explain(err error) error {
	if err == nil || !os.IsTimeout(err) {
		return err
	}
	return &idleError{idle: c.idle, err: err}
}

// idleError is a read or write that timed out. It stays a net.Error
// timeout, so the clients retry it.
type idleError struct {
	idle time.Duration
	err  error
}

func (e *idleError) Error() string {
	return fmt.Sprintf("no data for %v (--timeout): %v", e.idle, e.err)
}
func (e *idleError) Unwrap() error   { return e.err }
func (e *idleError) Timeout() bool   { return true }
func (e *idleError) Temporary() bool { return true }
