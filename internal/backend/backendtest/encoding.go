package backendtest

import (
	"fmt"
	"slices"
	"testing"

	"ferry/internal/backend"
)

// encodingNames are contract names a backend that cannot hold them as they
// are must encode reversibly (package internal/backend/encoding): invalid
// UTF-8 (local file systems allow it), the look-alikes an encoder shows for
// "/", NUL, "." and "..", its quote rune '‛' and rclone's "‛FF" form of an
// invalid byte. Several pairs differ only in what an encoder might map to
// the same thing, so a lossy backend collides.
var encodingNames = []string{
	"c\xff.txt", "c\xfe.txt", // both U+FFFD to a careless encoder
	"c\uFFFD.txt",
	"c‛FF.txt", "c‛‛FF.txt", "‛FF", "FF", "‛", "‛‛x",
	"\xff", "\x80\x81", "\xc3", "\xc3‛A9", "é", "\xe2\x80", "\xed\xa0\x80",
	"a／b.txt", "‛／", "a0", // "a/b.txt" sorts before "a0", "a／b.txt" after
	"．", "．．", "‛．", "‛．．", "‛.", "‛..", "...", ".．",
	"␀", "‛␀",
}

// encodingDir is a directory name with an invalid byte.
const encodingDir = "d\xff‛"

// testPutInvalidUTF8Names stores a file under each encodingName, at the
// root and in encodingDir, and checks that List, Walk, Stat and Open give
// exactly those byte strings back, none colliding with another.
func testPutInvalidUTF8Names(t *testing.T, b backend.Backend, _ *Config) {
	ctx := t.Context()
	data := func(p string) []byte { return []byte(fmt.Sprintf("%d:%q", len(p), p)) }
	var root, sub []string
	for _, name := range encodingNames {
		for _, p := range []string{name, backend.Join(encodingDir, name)} {
			if backend.Dir(p) == "" {
				root = append(root, p)
			} else {
				sub = append(sub, p)
			}
			d := data(p)
			e := put(t, b, p, d, mtime1)
			wantEntry(t, b, fmt.Sprintf("Put(%+q)", p), e, p, false, int64(len(d)), mtime1)
		}
	}
	slices.Sort(root)
	slices.Sort(sub)
	want := append(slices.Clone(root), encodingDir+"/")
	slices.Sort(want)
	if got := paths(list(t, b, "")); !slices.Equal(got, want) {
		t.Errorf("List(\"\"):\n got %+q\nwant %+q", got, want)
	}
	if got := paths(list(t, b, encodingDir)); !slices.Equal(got, sub) {
		t.Errorf("List(%+q):\n got %+q\nwant %+q", encodingDir, got, sub)
	}
	// Walk's order is by path within each directory, as the contract says.
	var wantWalk []string
	for _, p := range want {
		wantWalk = append(wantWalk, p)
		if p == encodingDir+"/" {
			wantWalk = append(wantWalk, sub...)
		}
	}
	var walked []string
	err := backend.Walk(ctx, b, "", 0, func(e backend.Entry) error {
		walked = append(walked, paths([]backend.Entry{e})...)
		return nil
	})
	if err != nil || !slices.Equal(walked, wantWalk) {
		t.Errorf("Walk:\n got %+q, %v\nwant %+q", walked, err, wantWalk)
	}
	for _, p := range append(root, sub...) {
		d := data(p)
		wantEntry(t, b, fmt.Sprintf("Stat(%+q)", p), stat(t, b, p), p, false, int64(len(d)), mtime1)
		wantFile(t, b, p, d)
	}
	wantDir(t, b, encodingDir)
	for _, p := range append(root, sub...) {
		if err := b.Remove(ctx, p); err != nil {
			t.Errorf("Remove(%+q): %v", p, err)
			continue
		}
		wantNotExist(t, b, p)
	}
	if es := list(t, b, encodingDir); len(es) != 0 {
		t.Errorf("List(%+q) after removing everything = %+q, want empty", encodingDir, paths(es))
	}
	if err := b.Rmdir(ctx, encodingDir); err != nil {
		t.Errorf("Rmdir(%+q): %v", encodingDir, err)
	}
}
