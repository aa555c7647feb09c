package mega

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"ferry/mega/megaapi"
	"ferry/megaserver"
	"ferry/megaserver/megaservertest"
)

// TestUploadTooManySlotsExplained: when the server refuses a slot with -6
// (every one of the account's slots is receiving data), the error says
// what that means instead of a bare code.
func TestUploadTooManySlotsExplained(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithLimits(megaserver.Limits{MaxUploadsPerUser: 1}))
	c := newLoggedIn(t, ts)
	var ur megaapi.UploadReply
	if err := c.call(t.Context(), "u", megaapi.UploadRequest{A: "u", Size: 1000}, &ur); err != nil {
		t.Fatal(err)
	}
	// Keep the only slot busy with a POST whose body never completes.
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s/0 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nxx", strings.TrimPrefix(ur.URL, ts.URL))
	time.Sleep(100 * time.Millisecond)

	_, err = c.Upload(t.Context(), c.Root(), "f", bytes.NewReader(make([]byte, 10)), 10, time.Now())
	if err == nil || !strings.Contains(err.Error(), "too many unfinished uploads for this account (-6 ETOOMANY)") ||
		!strings.Contains(err.Error(), "expire after 10 minutes") {
		t.Fatalf("Upload with every slot busy: %v; want an explanation of -6", err)
	}
	if megaapi.CodeOf(err) != megaapi.ETOOMANY {
		t.Errorf("the error lost its code: %v", err)
	}
}
