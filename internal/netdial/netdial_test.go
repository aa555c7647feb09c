package netdial

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestIdle: a server that sends a byte every 50 ms keeps a connection
// with a 300 ms idle timeout alive past the timeout; when it stops
// sending, the next read fails after about the timeout with a timeout
// error that names --timeout.
func TestIdle(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for range 12 { // 600 ms of trickle, then silence
			if _, err := c.Write([]byte{'x'}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(5 * time.Second)
	}()
	c, err := Dialer{Connect: time.Second, Idle: 300 * time.Millisecond}.DialContext(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1)
	for i := range 12 {
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("read %d of a steady trickle: %v", i, err)
		}
	}
	start := time.Now()
	_, err = c.Read(buf)
	took := time.Since(start)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !strings.Contains(err.Error(), "--timeout") {
		t.Fatalf("read of a silent connection: %v, want a timeout naming --timeout", err)
	}
	if took < 200*time.Millisecond || took > 2*time.Second {
		t.Errorf("timed out after %v, want about 300ms", took)
	}
}

// BenchmarkRead reads 64 KiB at a time from a loopback connection that
// a server fills as fast as it can: raw, and through the idle timeout
// (whose deadline moves at most every tenth of the timeout).
func BenchmarkRead(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		buf := make([]byte, 256<<10)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for {
					if _, err := c.Write(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	for _, bc := range []struct {
		name string
		d    Dialer
	}{{"raw", Dialer{}}, {"idle", Dialer{Idle: 5 * time.Minute}}} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := bc.d.DialContext(b.Context(), "tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			buf := make([]byte, 64<<10)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
