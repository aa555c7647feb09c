package mega

import (
	"bytes"
	"testing"

	"ferry/megaserver/megaservertest"
)

// TestMatchContent: the meta-MAC comparison accepts exactly the uploaded
// bytes and rejects a flipped byte, a missing byte and an extra byte.
func TestMatchContent(t *testing.T) {
	ts := megaservertest.Start(t)
	c := newLoggedIn(t, ts)
	for _, size := range []int{0, 1, 16, 17, 128<<10 + 1, 3<<20 + 5, 9<<20 + 3} {
		data := randomBytes(t, size)
		n := upload(t, c, c.Root(), "f", data)
		match := func(what string, b []byte, want bool) {
			t.Helper()
			got, err := c.MatchContent(t.Context(), n, bytes.NewReader(b))
			if err != nil || got != want {
				t.Errorf("size %d, %s: MatchContent = %v, %v; want %v", size, what, got, err, want)
			}
		}
		match("same bytes", data, true)
		match("extra byte", append(bytes.Clone(data), 0), false)
		if size > 0 {
			flipped := bytes.Clone(data)
			flipped[size/2] ^= 1
			match("flipped byte", flipped, false)
			match("missing byte", data[:size-1], false)
		}
	}
}
