package mega

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/internal/backend"
	megaclient "ferry/mega"
	"ferry/mega/megacrypto"
	"ferry/megaserver/megaservertest"
)

// otherClient is a second MEGA client on ts (as another app would be),
// logged in with the tree fetched.
func otherClient(t *testing.T, ts *megaservertest.TestServer) *megaclient.Client {
	t.Helper()
	o := megaclient.Options{APIURL: ts.URL}
	fastRetries(&o)
	c := megaclient.New(o)
	if err := c.Login(t.Context(), megaservertest.UserV2, megaservertest.PasswordV2, megaclient.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.FetchTree(t.Context()); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOtherClientsNames works on nodes another client named "x/y",
// "a/b.txt" and "..": they are listed, read, opened by entry, renamed and
// moved under their contract names, and what ferry writes carries MEGA
// names another client reads back.
func TestOtherClientsNames(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithLogger(slog0(t)))
	ctx := t.Context()
	oc := otherClient(t, ts)
	top, err := oc.Mkdir(ctx, oc.Root(), "top")
	if err != nil {
		t.Fatal(err)
	}
	xy, err := oc.Mkdir(ctx, top, "x/y")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"a/b.txt": "ab", "..": "up"} {
		if _, err := oc.Upload(ctx, xy, name, strings.NewReader(data), int64(len(data)), time.Unix(1700000000, 0)); err != nil {
			t.Fatal(err)
		}
	}

	b := newOpener(t, ts).mustOpen("top")
	es, err := b.List(ctx, "x／y")
	if err != nil {
		t.Fatal(err)
	}
	backend.SortEntries(es)
	if got := paths(es); !slices.Equal(got, []string{"x／y/a／b.txt", "x／y/．．"}) {
		t.Fatalf("List(x／y) = %q", got)
	}
	for _, e := range es {
		rc, err := b.OpenEntry(ctx, e, 0, -1)
		if err != nil {
			t.Fatalf("OpenEntry(%q): %v", e.Path, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if want := map[string]string{"x／y/a／b.txt": "ab", "x／y/．．": "up"}[e.Path]; err != nil || string(data) != want {
			t.Errorf("OpenEntry(%q) = %q, %v; want %q", e.Path, data, err, want)
		}
	}
	if _, err := b.RenameEntry(ctx, es[0], "c／d"); err != nil {
		t.Fatalf("RenameEntry: %v", err)
	}
	if _, err := b.RenameEntry(ctx, es[1], "bad/name"); err == nil {
		t.Errorf("RenameEntry to a name with \"/\" succeeded")
	}
	if _, err := b.Move(ctx, "x／y/．．", "．"); err != nil {
		t.Fatalf("Move: %v", err)
	}
	put(t, b, "x／y/\xff", []byte("ff"))
	if err := b.Rmdir(ctx, "x／y"); !errors.Is(err, backend.ErrNotEmpty) {
		t.Errorf("Rmdir(x／y) = %v, want ErrNotEmpty", err)
	}
	b.Close()

	oc = otherClient(t, ts)
	var got []string
	for _, names := range [][]string{{"top", "x/y", "c/d"}, {"top", "."}, {"top", "x/y", "‛FF"}} {
		if ns, err := oc.LookupNames(names...); err != nil || len(ns) != 1 {
			got = append(got, fmt.Sprintf("%q: %v", names, err))
		}
	}
	if len(got) > 0 {
		t.Errorf("another client does not find what ferry wrote: %s", got)
	}
}

// TestRmdirUnreadableNames: a folder holding only a node whose attributes
// do not decrypt lists as empty, and Rmdir says why it is not.
func TestRmdirUnreadableNames(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithLogger(slog0(t)))
	ctx := t.Context()
	oc := otherClient(t, ts)
	top, err := oc.Mkdir(ctx, oc.Root(), "top")
	if err != nil {
		t.Fatal(err)
	}
	d, err := oc.Mkdir(ctx, top, "d")
	if err != nil {
		t.Fatal(err)
	}
	addUnreadableFolder(t, ts, d.Handle)

	b := newOpener(t, ts).mustOpen("top")
	if es, err := b.List(ctx, "d"); err != nil || len(es) != 0 {
		t.Fatalf("List(d) = %q, %v; want empty", paths(es), err)
	}
	err = b.Rmdir(ctx, "d")
	if !errors.Is(err, backend.ErrNotEmpty) || !strings.Contains(err.Error(), "1 node(s) whose names cannot be read") {
		t.Errorf("Rmdir(d) = %v, want ErrNotEmpty saying a name cannot be read", err)
	}
}

// addUnreadableFolder adds a folder to parent whose key is wrapped with a
// key that is not the account's master key, with raw API calls.
func addUnreadableFolder(t *testing.T, ts *megaservertest.TestServer, parent string) {
	t.Helper()
	s := ts.Login(t, megaservertest.UserV2, megaservertest.PasswordV2)
	key, wrong := make([]byte, 16), make([]byte, 16)
	rand.Read(key)
	rand.Read(wrong)
	a, err := megacrypto.EncryptAttrs(key, megacrypto.Attrs{Name: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	wk, err := megacrypto.EncryptKey(wrong, key)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal([]any{map[string]any{"a": "p", "t": parent,
		"n": []any{map[string]any{"h": "xxxxxxxx", "t": 1, "a": a, "k": megacrypto.B64Encode(wk)}}}})
	resp, err := http.Post(ts.URL+"/cs?id=1&sid="+s.SID, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(out, []byte(`"f"`)) {
		t.Fatalf("p: %s %s", resp.Status, out)
	}
}

// paths returns the paths of es, sorted.
func paths(es []backend.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Path
	}
	slices.Sort(out)
	return out
}
