package mediafire

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"ferry/mediafireserver/mediafireservertest"
)

func TestMatchContent(t *testing.T) {
	ts := mediafireservertest.Start(t)
	b := newTestBackend(t, ts)
	ctx := t.Context()
	data := bytes.Repeat([]byte("match"), 5000)
	e, err := b.Put(ctx, "m.bin", bytes.NewReader(data), int64(len(data)), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ts.Server.ResetStats()
	for _, tc := range []struct {
		name string
		r    []byte
		want bool
	}{
		{"same", data, true},
		{"one byte", append(append([]byte{}, data[:100]...), append([]byte{'X'}, data[101:]...)...), false},
		{"shorter", data[:len(data)-1], false},
	} {
		got, err := b.MatchContent(ctx, e, bytes.NewReader(tc.r))
		if err != nil || got != tc.want {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if n := ts.Server.Stats().Calls["dl"]; n != 0 {
		t.Errorf("MatchContent downloaded %d times", n)
	}
}

// PublicLink switches the file's privacy: public with a link, private
// after unlink.
func TestPublicLinkPrivacy(t *testing.T) {
	ts := mediafireservertest.Start(t)
	b := newTestBackend(t, ts)
	ctx := t.Context()
	e, err := b.Put(ctx, "p.txt", bytes.NewReader([]byte("pub")), 3, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	privacy := func() string {
		fi, err := b.c.FileInfo(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Privacy
	}
	link, err := b.PublicLink(ctx, "p.txt", false)
	if err != nil || !strings.Contains(link, e.ID) {
		t.Fatalf("PublicLink = %q, %v; want a link naming %s", link, err, e.ID)
	}
	if p := privacy(); p != "public" {
		t.Errorf("privacy after PublicLink = %q", p)
	}
	if _, err := b.PublicLink(ctx, "p.txt", true); err != nil {
		t.Fatal(err)
	}
	if p := privacy(); p != "private" {
		t.Errorf("privacy after unlink = %q", p)
	}
}
