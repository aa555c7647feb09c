package mega

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ferry/megaserver/megaservertest"
)

// freshDump is the tree of a new session's FetchTree.
func freshDump(t *testing.T, ts *megaservertest.TestServer) string {
	t.Helper()
	return treeDump(newLoggedIn(t, ts))
}

// pollWithin polls c, failing the test instead of hanging.
func pollWithin(t *testing.T, c *Client) {
	t.Helper()
	done := make(chan error, 1)
	go func() { _, err := c.Poll(t.Context()); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Poll did not return")
	}
}

// TestPollAfterOwnMoves: replaying the client's own moves (X into Y, X back,
// Y into X) must not meet the tree with the moves already done, where
// the first replayed move would make a cycle.
func TestPollAfterOwnMoves(t *testing.T) {
	ts := megaservertest.Start(t)
	c := newLoggedIn(t, ts)
	x := mkdir(t, c, c.Root(), "X")
	y := mkdir(t, c, c.Root(), "Y")
	mkdir(t, c, y, "inY")
	pollWithin(t, c)
	for _, mv := range []struct{ n, to *Node }{{x, y}, {x, c.Root()}, {y, x}} {
		if err := c.Move(t.Context(), mv.n, mv.to); err != nil {
			t.Fatal(err)
		}
	}
	pollWithin(t, c)
	if got := c.Path(c.Node(y.Handle)); got != "/X/Y" {
		t.Errorf("after Poll Y is at %q, want /X/Y", got)
	}
	if got, want := treeDump(c), freshDump(t, ts); got != want {
		t.Errorf("after Poll the tree differs from a fresh fetch:\n%s\nvs\n%s", got, want)
	}
}

// scHook is a transport that calls before and after for each sc request
// (after: with the reply read, before it is returned).
type scHook struct {
	n             atomic.Int32
	before, after func(n int)
}

func (h *scHook) RoundTrip(r *http.Request) (*http.Response, error) {
	isSC := strings.HasPrefix(r.URL.Path, "/sc")
	var n int
	if isSC {
		n = int(h.n.Add(1))
		if h.before != nil {
			h.before(n)
		}
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || !isSC {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if h.after != nil {
		h.after(n)
	}
	return resp, nil
}

// TestPollRacingMutation: mutations that land while a Poll holds an sc
// reply fetched before them are neither undone by its stale packets (not
// even until the next batch) nor lost.
func TestPollRacingMutation(t *testing.T) {
	ts := megaservertest.Start(t)
	hook := &scHook{}
	opts := testOptions(t, ts)
	opts.HTTPClient = &http.Client{Transport: hook}
	c := newLoggedInAs(t, ts, opts, megaservertest.UserV2, megaservertest.PasswordV2)
	x := mkdir(t, c, c.Root(), "a")
	y := mkdir(t, c, c.Root(), "y")
	f := upload(t, c, y, "f", []byte("data"))

	// The first sc reply holds the creations; before it is applied, x is
	// renamed and moved and f deleted.
	var seen []string
	hook.after = func(n int) {
		if n != 1 {
			return
		}
		if err := c.Rename(t.Context(), x, "b"); err != nil {
			t.Error(err)
		}
		if err := c.Move(t.Context(), x, y); err != nil {
			t.Error(err)
		}
		if err := c.Delete(t.Context(), f); err != nil {
			t.Error(err)
		}
	}
	hook.before = func(n int) {
		if n > 1 {
			seen = append(seen, c.Path(c.Node(x.Handle))+fmt.Sprintf(" f:%v", c.Node(f.Handle) != nil))
		}
	}
	pollWithin(t, c)
	hook.before, hook.after = nil, nil
	for i, s := range seen {
		if s != "/y/b f:false" {
			t.Errorf("before sc request %d the tree showed %s, want /y/b f:false", i+2, s)
		}
	}
	if len(seen) == 0 {
		t.Fatal("Poll made one sc request")
	}
	if got, want := treeDump(c), freshDump(t, ts); got != want {
		t.Errorf("after Poll the tree differs from a fresh fetch:\n%s\nvs\n%s", got, want)
	}
}

// TestPollTwoClients: two sessions of one account mutate the same nodes
// in turn; after each Poll a client's tree equals a fresh fetch.
func TestPollTwoClients(t *testing.T) {
	ts := megaservertest.Start(t)
	cs := []*Client{newLoggedIn(t, ts), newLoggedIn(t, ts)}
	var dirs []string
	for i := range 4 {
		dirs = append(dirs, mkdir(t, cs[0], cs[0].Root(), fmt.Sprint("d", i)).Handle)
	}
	for _, c := range cs {
		pollWithin(t, c)
	}
	rnd := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	for i := range 120 {
		c := cs[rnd.IntN(2)]
		h := dirs[rnd.IntN(len(dirs))]
		n := c.Node(h)
		if n == nil {
			continue
		}
		switch rnd.IntN(5) {
		case 0:
			c.Rename(t.Context(), n, fmt.Sprint("r", i))
		case 1, 2:
			to := c.Node(dirs[rnd.IntN(len(dirs))])
			if rnd.IntN(4) == 0 {
				to = c.Root()
			}
			if to != nil {
				c.Move(t.Context(), n, to) // may fail on a stale view: ECIRCULAR
			}
		case 3:
			if d, err := c.Mkdir(t.Context(), n, fmt.Sprint("m", i)); err == nil {
				dirs = append(dirs, d.Handle)
			}
		case 4:
			pollWithin(t, c)
			if got, want := treeDump(c), freshDump(t, ts); got != want {
				t.Fatalf("step %d: after Poll the tree differs from a fresh fetch:\n%s\nvs\n%s", i, got, want)
			}
		}
	}
}
