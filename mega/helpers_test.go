package mega

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"log/slog"
	"testing"
	"time"

	"ferry/internal/retry"
	"ferry/megaserver/megaservertest"
)

// testOptions returns client options for tests against ts: logs to the
// test, fast retries.
func testOptions(t testing.TB, ts *megaservertest.TestServer) Options {
	return Options{
		APIURL: ts.URL,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		Retry:  retry.Policy{Base: 5 * time.Millisecond, Cap: 100 * time.Millisecond, MaxAttempts: 20},
	}
}

// newLoggedIn returns a client logged in as the seeded v2 user, with the
// tree fetched.
func newLoggedIn(t testing.TB, ts *megaservertest.TestServer) *Client {
	t.Helper()
	return newLoggedInAs(t, ts, testOptions(t, ts), megaservertest.UserV2, megaservertest.PasswordV2)
}

func newLoggedInAs(t testing.TB, ts *megaservertest.TestServer, opts Options, email, password string) *Client {
	t.Helper()
	c := New(opts)
	if err := c.Login(t.Context(), email, password, LoginOptions{}); err != nil {
		t.Fatalf("Login: %v", err)
	}
	if err := c.FetchTree(t.Context()); err != nil {
		t.Fatalf("FetchTree: %v", err)
	}
	return c
}

// randomBytes returns n random bytes.
func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// upload uploads data as name in parent and fails the test on error.
func upload(t testing.TB, c *Client, parent *Node, name string, data []byte) *Node {
	t.Helper()
	n, err := c.Upload(t.Context(), parent, name, bytes.NewReader(data), int64(len(data)), time.Unix(1700000000, 0))
	if err != nil {
		t.Fatalf("Upload(%q, %d bytes): %v", name, len(data), err)
	}
	return n
}

// download downloads n and fails the test on error.
func download(t testing.TB, c *Client, n *Node) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Download(t.Context(), n, &buf); err != nil {
		t.Fatalf("Download(%v): %v", n, err)
	}
	return buf.Bytes()
}

func sum(b []byte) [32]byte { return sha256.Sum256(b) }

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
