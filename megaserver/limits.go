package megaserver

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"syscall"
	"time"
)

// Limits bound what one client, connection or request can cost the server,
// so that a slow, silent or greedy client costs a bounded amount and the
// others are still served. A zero field takes its default (DefaultLimits);
// a negative one turns that limit off.
//
// The connection limits and ReadHeaderTimeout/IdleTimeout apply to
// connections accepted by Server.Serve; the others also hold when the
// Server is used as a plain http.Handler.
type Limits struct {
	// MaxConns bounds the connections Serve holds open at once. At the
	// bound a new connection evicts the oldest connection of the remote
	// address holding the most, if that address holds more than the
	// newcomer's; otherwise the newcomer is closed at once. So one address
	// (or a few) opening thousands of connections cannot keep another out.
	// Default 4096, and at most 3/4 of the process's open-file limit.
	MaxConns int
	// MaxConnsPerIP bounds the connections from one remote IP address;
	// beyond it new ones are closed at once. Default 256.
	MaxConnsPerIP int
	// ReadHeaderTimeout bounds reading a request's headers. Default 10s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle this long. Default 60s.
	IdleTimeout time.Duration
	// BodyTimeout is the longest a request body may pause: the read
	// deadline is pushed forward as bytes arrive, so a large upload at any
	// ordinary speed is never cut. Default 20s.
	BodyTimeout time.Duration
	// MinBodyRate is the average rate (bytes per second) a body must keep
	// up after its first BodyTimeout, so a client trickling a byte now and
	// then is cut too. Default 1024.
	MinBodyRate int64
	// WriteTimeout is the longest a response may stall because the client
	// does not read it; the write deadline is pushed forward as data
	// leaves, so long downloads are not cut. Default 60s.
	WriteTimeout time.Duration
	// MaxBatchCommands bounds the commands of one /cs request; a longer
	// batch is answered -2 (EARGS) as a whole. Default 1000.
	MaxBatchCommands int
	// MaxTreeWalksPerUser bounds the whole-tree walks (`f`, and `uq` when
	// its cached per-root numbers are stale) running at once for one user.
	// One request may make one walk. Commands beyond either bound answer
	// -3 (EAGAIN), which clients retry after a pause. Default 2.
	MaxTreeWalksPerUser int
	// UploadIdleTTL drops an upload slot that has had no data POST for
	// this long (a slot receiving data stays), and a completed upload no
	// `p` has turned into a node for this long. Default 10m.
	UploadIdleTTL time.Duration
	// MaxUploadsPerUser bounds a user's upload slots. At the bound `u`
	// recycles the user's longest-idle slot; it answers -6 (ETOOMANY) only
	// when every slot has a POST in progress. Default 1000.
	MaxUploadsPerUser int
}

// DefaultLimits are the limits a zero Limits field takes.
var DefaultLimits = Limits{
	MaxConns:            4096,
	MaxConnsPerIP:       256,
	ReadHeaderTimeout:   10 * time.Second,
	IdleTimeout:         60 * time.Second,
	BodyTimeout:         20 * time.Second,
	MinBodyRate:         1024,
	WriteTimeout:        60 * time.Second,
	MaxBatchCommands:    1000,
	MaxTreeWalksPerUser: 2,
	UploadIdleTTL:       10 * time.Minute,
	MaxUploadsPerUser:   1000,
}

// maxDrainBytes is how much of a refused request body is read and thrown
// away after the error reply, so that the client reads the reply instead
// of a connection reset. Larger bodies are cut after that.
const maxDrainBytes = 64 << 20

// withDefaults fills zero fields from DefaultLimits and turns negative ones
// into 0 ("off").
func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	pickInt := func(v *int, def int) {
		switch {
		case *v == 0:
			*v = def
		case *v < 0:
			*v = 0
		}
	}
	pickDur := func(v *time.Duration, def time.Duration) {
		switch {
		case *v == 0:
			*v = def
		case *v < 0:
			*v = 0
		}
	}
	pickInt(&l.MaxConns, d.MaxConns)
	if l.MaxConns > 0 && l.MaxConns == d.MaxConns {
		l.MaxConns = min(l.MaxConns, openFileBudget())
	}
	pickInt(&l.MaxConnsPerIP, d.MaxConnsPerIP)
	pickDur(&l.ReadHeaderTimeout, d.ReadHeaderTimeout)
	pickDur(&l.IdleTimeout, d.IdleTimeout)
	pickDur(&l.BodyTimeout, d.BodyTimeout)
	switch {
	case l.MinBodyRate == 0:
		l.MinBodyRate = d.MinBodyRate
	case l.MinBodyRate < 0:
		l.MinBodyRate = 0
	}
	pickDur(&l.WriteTimeout, d.WriteTimeout)
	pickInt(&l.MaxBatchCommands, d.MaxBatchCommands)
	pickInt(&l.MaxTreeWalksPerUser, d.MaxTreeWalksPerUser)
	pickDur(&l.UploadIdleTTL, d.UploadIdleTTL)
	pickInt(&l.MaxUploadsPerUser, d.MaxUploadsPerUser)
	return l
}

// openFileBudget is 3/4 of the open-file limit: the rest is left for the
// store, blobs being uploaded or downloaded and the listener.
func openFileBudget() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 {
		return DefaultLimits.MaxConns
	}
	return max(int(min(rl.Cur, 1<<30))*3/4, 16)
}

// Serve accepts connections on ln and serves the API on them, with the
// connection limits and timeouts of Options.Limits, until Shutdown or
// Close; then it returns http.ErrServerClosed. net/http's own error log
// (for example a handler misusing its connection) goes to Options.Logger
// at Warn level.
func (s *Server) Serve(ln net.Listener) error {
	l := s.limits
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		ErrorLog:          slogLogger(s.log),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	lim := newConnLimiter(ln, l.MaxConns, l.MaxConnsPerIP, s.log)
	s.servers = append(s.servers, hs)
	s.limiters = append(s.limiters, lim)
	s.mu.Unlock()
	return hs.Serve(lim)
}

// Shutdown stops the listeners of Serve and waits, until ctx ends, for
// the requests in progress; wait requests (`w` of `sc`) are not woken, so
// call Close to end them. Close the Server afterwards.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	servers := slices.Clone(s.servers)
	s.mu.Unlock()
	var errs []error
	for _, hs := range servers {
		errs = append(errs, hs.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// ConnStats reports the connections Serve holds open now, and how many it
// has refused and evicted at the connection limits since Open.
func (s *Server) ConnStats() (open int, refused, evicted int64) {
	s.mu.Lock()
	lims := s.limiters
	s.mu.Unlock()
	for _, l := range lims {
		o, r, e := l.stats()
		open, refused, evicted = open+o, refused+r, evicted+e
	}
	return open, refused, evicted
}

// bodyGuard is a request body whose read deadline follows the data: each
// Read must start within BodyTimeout of the previous one's end, and after
// the first BodyTimeout the body must average MinBodyRate. When the body
// ends the deadline is lifted, since net/http keeps reading the connection
// in the background during the handler and a timeout there would cancel
// the request.
type bodyGuard struct {
	io.ReadCloser
	rc      *http.ResponseController
	idle    time.Duration
	rate    int64 // bytes per second; 0 = no minimum
	start   time.Time
	n       int64
	expired bool
}

func newBodyGuard(w http.ResponseWriter, r *http.Request, l Limits) *bodyGuard {
	g := &bodyGuard{ReadCloser: r.Body, rc: http.NewResponseController(w), idle: l.BodyTimeout, rate: l.MinBodyRate, start: time.Now()}
	_ = g.rc.SetReadDeadline(g.start.Add(g.idle))
	return g
}

func (g *bodyGuard) Read(p []byte) (int, error) {
	now := time.Now()
	deadline := now.Add(g.idle)
	if g.rate > 0 {
		// Having read n bytes, the body may be at most idle behind a
		// transfer at rate that started idle after the request.
		behind := g.start.Add(g.idle + time.Duration(float64(g.n)/float64(g.rate)*float64(time.Second)))
		if behind.Before(deadline) {
			deadline = behind
		}
	}
	_ = g.rc.SetReadDeadline(deadline)
	k, err := g.ReadCloser.Read(p)
	g.n += int64(k)
	switch {
	case err == io.EOF:
		_ = g.rc.SetReadDeadline(time.Time{})
	case err != nil && isTimeout(err):
		g.expired = true
	}
	return k, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// bodyTimedOut reports whether err ended a body read because the client was
// too slow.
func bodyTimedOut(r *http.Request) bool {
	g, ok := r.Body.(*bodyGuard)
	return ok && g.expired
}

// rejectBody sends reply for a request whose body the handler will not
// use, then reads and discards up to maxDrainBytes of the rest (under the
// body deadlines), so that the client sees the reply rather than a
// connection reset from unread data. A longer body is cut after that.
func rejectBody(w http.ResponseWriter, r *http.Request, reply func(w http.ResponseWriter)) {
	rc := http.NewResponseController(w)
	_ = rc.EnableFullDuplex() // read the body after the reply is out
	w.Header().Set("Connection", "close")
	reply(w)
	_ = rc.Flush()
	_, _ = io.CopyN(io.Discard, r.Body, maxDrainBytes)
}

// extendWrite pushes the write deadline forward before a write; it runs at
// most every quarter WriteTimeout.
func (t *trackingWriter) extendWrite() {
	if t.writeTimeout <= 0 {
		return
	}
	now := time.Now()
	if now.Before(t.nextExtend) {
		return
	}
	t.nextExtend = now.Add(t.writeTimeout / 4)
	_ = t.rc.SetWriteDeadline(now.Add(t.writeTimeout))
}

// readFromSlice is how much ReadFrom sends under one write deadline: at
// the default WriteTimeout a client must read 256 KiB a minute.
const readFromSlice = 256 << 10

// readFrom copies r in slices, each under a fresh write deadline, keeping
// the underlying writer's sendfile path for *io.LimitedReader of a file
// (what http.ServeContent passes).
func (t *trackingWriter) readFrom(r io.Reader) (int64, error) {
	if t.writeTimeout <= 0 {
		return io.Copy(t.ResponseWriter, r)
	}
	base, remaining := r, int64(-1)
	if lr, ok := r.(*io.LimitedReader); ok {
		base, remaining = lr.R, lr.N
		defer func() { lr.N = remaining }()
	}
	var total int64
	for remaining != 0 {
		t.nextExtend = time.Time{}
		t.extendWrite()
		want := int64(readFromSlice)
		if remaining > 0 {
			want = min(want, remaining)
		}
		n, err := io.Copy(t.ResponseWriter, &io.LimitedReader{R: base, N: want})
		total += n
		if remaining > 0 {
			remaining -= n
		}
		if err != nil {
			return total, err
		}
		if n < want {
			break // EOF
		}
	}
	return total, nil
}
