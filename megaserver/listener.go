package megaserver

import (
	"container/list"
	"io"
	"log"
	"log/slog"
	"net"
	"sync"
	"time"
)

// connLimiter is a net.Listener that bounds the connections open at once,
// per remote IP address and in total. Unlike a listener that blocks Accept
// at the bound (x/net/netutil.LimitListener), it never stops accepting:
// a connection beyond the per-address bound is closed at once, and at the
// total bound the newcomer evicts the oldest connection of the address
// holding the most connections, provided that address holds more than the
// newcomer's. A flood from some addresses thus costs those addresses their
// own connections, not the service of everybody else.
type connLimiter struct {
	net.Listener
	maxConns, maxPerIP int
	log                *slog.Logger

	mu       sync.Mutex // guards the fields below
	total    int
	byIP     map[string]*list.List // of *limitedConn, oldest first
	refused  int64
	evicted  int64
	lastWarn time.Time
}

func newConnLimiter(ln net.Listener, maxConns, maxPerIP int, logger *slog.Logger) *connLimiter {
	return &connLimiter{Listener: ln, maxConns: maxConns, maxPerIP: maxPerIP, log: logger, byIP: make(map[string]*list.List)}
}

// limitedConn is an accepted connection; Close gives its place back once.
type limitedConn struct {
	net.Conn
	l    *connLimiter
	ip   string
	elem *list.Element // nil once released; guarded by l.mu
}

// Accept returns the next connection within the limits, closing the ones
// beyond them.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		lc, victim := l.admit(c, ip)
		if victim != nil {
			victim.Conn.Close()
		}
		if lc == nil {
			refuse(c)
			continue
		}
		return lc, nil
	}
}

// admit registers c, or returns nil if it is over the limits; victim is a
// connection evicted to make room (already released).
func (l *connLimiter) admit(c net.Conn, ip string) (lc, victim *limitedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	mine := l.byIP[ip]
	n := 0
	if mine != nil {
		n = mine.Len()
	}
	if l.maxPerIP > 0 && n >= l.maxPerIP {
		l.refusedLocked("per-address")
		return nil, nil
	}
	if l.maxConns > 0 && l.total >= l.maxConns {
		var heaviest *list.List
		for _, conns := range l.byIP {
			if heaviest == nil || conns.Len() > heaviest.Len() {
				heaviest = conns
			}
		}
		if heaviest == nil || heaviest.Len() <= n+1 {
			l.refusedLocked("total")
			return nil, nil
		}
		victim = heaviest.Front().Value.(*limitedConn)
		l.releaseLocked(victim)
		l.evicted++
	}
	if mine == nil {
		mine = list.New()
		l.byIP[ip] = mine
	}
	lc = &limitedConn{Conn: c, l: l, ip: ip}
	lc.elem = mine.PushBack(lc)
	l.total++
	return lc, victim
}

func (l *connLimiter) refusedLocked(which string) {
	l.refused++
	if now := time.Now(); now.Sub(l.lastWarn) > 10*time.Second {
		l.lastWarn = now
		l.log.Warn("connection limit reached; refusing connections", logKeyLimit, which,
			logKeyOpen, l.total, logKeyRefused, l.refused, logKeyEvicted, l.evicted)
	}
}

func (l *connLimiter) releaseLocked(c *limitedConn) {
	if c.elem == nil {
		return
	}
	conns := l.byIP[c.ip]
	conns.Remove(c.elem)
	c.elem = nil
	if conns.Len() == 0 {
		delete(l.byIP, c.ip)
	}
	l.total--
}

func (l *connLimiter) stats() (open int, refused, evicted int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, l.refused, l.evicted
}

// refuse closes a connection at once, with a reset rather than a FIN so
// that neither side keeps it in TIME_WAIT.
func refuse(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func remoteIP(c net.Conn) string {
	a := c.RemoteAddr()
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

func (c *limitedConn) Close() error {
	c.l.mu.Lock()
	c.l.releaseLocked(c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// ReadFrom keeps the TCP connection's sendfile path for downloads.
func (c *limitedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// CloseWrite lets net/http half-close before closing, so that a client
// still sending reads the reply first.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// slogLogger adapts logger for http.Server.ErrorLog.
func slogLogger(logger *slog.Logger) *log.Logger {
	return slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
}
