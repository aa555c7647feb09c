package megaserver_test

import (
	"bytes"
	"testing"

	"ferry/mega/megaapi"
	"ferry/megaserver/megaservertest"
)

// TestIsolation checks that nothing one user learns about another user's
// nodes (handles, upload URLs, completion tokens) lets them read or change
// those nodes.
func TestIsolation(t *testing.T) {
	ts := megaservertest.Start(t)
	alice := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	mallory := login(t, ts, megaservertest.UserV1, megaservertest.PasswordV1)
	atr := alice.fetch()
	aroot, arubbish := atr.byType(megaapi.TypeRoot).Handle, atr.byType(megaapi.TypeRubbish).Handle
	mroot := mallory.root()

	secret := []byte("alice's secret bytes")
	dir := alice.mkdir(aroot)
	file := alice.uploadFile(dir.Handle, secret)

	for _, tc := range []struct {
		name string
		cmd  map[string]any
	}{
		{"move her file to me", map[string]any{"a": "m", "n": file.Handle, "t": mroot}},
		{"move my folder into hers", map[string]any{"a": "m", "n": mallory.mkdir(mroot).Handle, "t": dir.Handle}},
		{"move her file in her tree", map[string]any{"a": "m", "n": file.Handle, "t": arubbish}},
		{"rename", map[string]any{"a": "a", "n": file.Handle, "at": randB64(16)}},
		{"delete", map[string]any{"a": "d", "n": dir.Handle}},
		{"delete her root", map[string]any{"a": "d", "n": aroot}},
		{"export", map[string]any{"a": "l", "n": file.Handle}},
		{"download", map[string]any{"a": "g", "g": 1, "n": file.Handle}},
		{"create in her folder", map[string]any{"a": "p", "t": dir.Handle, "n": []any{map[string]any{"h": "x", "t": 1, "a": randB64(16), "k": randB64(16)}}}},
	} {
		if got := mallory.code(tc.cmd); got != -9 && got != -11 {
			t.Errorf("%s: %d, want -9 or -11", tc.name, got)
		}
	}
	// Her tree is not in mine, and hers is unchanged.
	for _, n := range mallory.fetch().Nodes {
		if n.Owner != mallory.user {
			t.Errorf("mallory's f lists %s owned by %s", n.Handle, n.Owner)
		}
	}
	if n, ok := alice.fetch().find(file.Handle); !ok || n.Parent != dir.Handle || n.Attr != file.Attr {
		t.Errorf("alice's file changed: %+v", n)
	}

	// A completion token only works for the user who asked for the slot.
	tok := alice.uploadAll([]byte("stolen?"), 0)
	if got := mallory.code(map[string]any{"a": "p", "t": mroot, "n": []any{map[string]any{"h": tok, "t": 0, "a": randB64(16), "k": randB64(32)}}}); got != -9 {
		t.Errorf("mallory using alice's completion token: %d, want -9", got)
	}
	alice.putFile(aroot, tok) // still good for alice

	// Mallory's upload URL cannot change alice's content, and her
	// download URL only serves her own blob.
	mu := mallory.uploadURL(int64(len(secret)), 0)
	mtok := postChunk(t, mu, 0, bytes.Repeat([]byte("x"), len(secret)), "")
	mfile := mallory.putFile(mroot, tokenForP(t, mtok, 0))
	if got := alice.download(file.Handle); !bytes.Equal(got, secret) {
		t.Errorf("alice's content changed")
	}
	if got := mallory.download(mfile.Handle); bytes.Equal(got, secret) {
		t.Errorf("mallory's download served alice's bytes")
	}
	// Her own download URL stays hers: a token for one blob does not name
	// another (tokens are MACed), checked in TestDownloadRanges.

	// Public links are the one way to share: read-only.
	var ph string
	alice.do(map[string]any{"a": "l", "n": file.Handle}, &ph)
	var g megaapi.DownloadReply
	mallory.do(map[string]any{"a": "g", "g": 1, "p": ph}, &g)
	if g.Size != int64(len(secret)) {
		t.Errorf("public g = %+v", g)
	}
	for _, cmd := range []map[string]any{
		{"a": "d", "n": ph}, {"a": "m", "n": ph, "t": mroot}, {"a": "l", "n": ph, "d": 1},
	} {
		if got := mallory.code(cmd); got != -9 {
			t.Errorf("public handle as node %v: %d, want -9", cmd, got)
		}
	}
	// A session of one user is not the other's.
	var ug megaapi.UserReply
	mallory.do(map[string]any{"a": "ug"}, &ug)
	if ug.User == alice.user {
		t.Errorf("mallory's ug names alice")
	}
}
