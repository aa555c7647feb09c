package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServeMegaLimitFlags: the limit flags reach the server: a silent
// body is cut after --body-timeout, and a connection beyond
// --max-conns-per-ip is closed at once while the others stay.
func TestServeMegaLimitFlags(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "mega", "--listen", "127.0.0.1:0", "--data", t.TempDir(),
			"--body-timeout", "300ms", "--max-conns-per-ip", "2"}, Stdio{In: strings.NewReader(""), Out: out, Err: io.Discard})
	}()
	addr := strings.TrimPrefix(waitFor(t, out, regexp.MustCompile(`MEGA API on (http://127\.0\.0\.1:\d+)`)), "http://")
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// closedWithin reports whether the server closes c within d.
	closedWithin := func(c net.Conn, d time.Duration) bool {
		c.SetReadDeadline(time.Now().Add(d))
		_, err := io.Copy(io.Discard, c)
		ne, ok := err.(net.Error)
		return !(ok && ne.Timeout())
	}

	slow := dial()
	fmt.Fprintf(slow, "POST /cs HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000000\r\n\r\n[{")
	start := time.Now()
	if !closedWithin(slow, 5*time.Second) {
		t.Errorf("--body-timeout 300ms: a silent body still open after 5s")
	} else if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("--body-timeout 300ms: closed after %v", d)
	}

	held := []net.Conn{dial(), dial()}
	time.Sleep(50 * time.Millisecond) // let the server accept them
	if extra, err := net.Dial("tcp", addr); err == nil {
		defer extra.Close()
		if !closedWithin(extra, 2*time.Second) {
			t.Errorf("--max-conns-per-ip 2: a third connection stayed open")
		}
	}
	for _, c := range held {
		if closedWithin(c, 100*time.Millisecond) {
			t.Errorf("--max-conns-per-ip 2: one of the first two connections was closed")
		}
		c.Close()
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exit %d after cancel", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after cancel")
	}
}
