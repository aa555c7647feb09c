package backup

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestCompareData checks that an unchanged source compares equal and that
// each kind of change is listed, by path, in path order.
func TestCompareData(t *testing.T) {
	src := t.TempDir()
	makeRestoreSource(t, src)
	r, _ := newRestoreRepo(t)
	root := saveDir(t, r, src)
	flush(t, r)

	diffs, err := CompareData(t.Context(), r, root, "", src)
	if err != nil || len(diffs) != 0 {
		t.Fatalf("unchanged source: %v, %v", diffs, err)
	}

	// One byte changed, size and mtime kept.
	big := filepath.Join(src, "big")
	fi, _ := os.Stat(big)
	b, _ := os.ReadFile(big)
	b[300000] ^= 1
	rtWriteFile(t, big, b, fi.Mode(), fi.ModTime())
	// Mode, mtime, a new and a removed file, a symlink target.
	if err := os.Chmod(filepath.Join(src, "one"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(src, "exact-64k"), time.Now(), time.Unix(5, 6)); err != nil {
		t.Fatal(err)
	}
	rtWriteFile(t, filepath.Join(src, "sub", "new"), []byte("new"), 0o644, time.Now())
	if err := os.Remove(filepath.Join(src, "odd", ".hidden")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(src, "link")
	os.Remove(link)
	if err := os.Symlink("elsewhere", link); err != nil {
		t.Fatal(err)
	}
	if err := setModTime(link, time.Unix(7, 8)); err != nil {
		t.Fatal(err)
	}

	diffs, err = CompareData(t.Context(), r, root, "", src)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range diffs {
		got = append(got, d.String())
	}
	want := []string{
		"big: content differs at byte 300000",
		"exact-64k: mtime 2026-11-30T14:34:56.123456791Z in the snapshot, 1970-01-01T00:00:05.000000006Z in the directory",
		"link: mtime 2026-11-28T12:34:56.123457566Z in the snapshot, 1970-01-01T00:00:07.000000008Z in the directory",
		`link: symlink target "sub/deeper/text.txt" in the snapshot, "elsewhere" in the directory`,
		"odd/.hidden: only in the snapshot",
		"one: mode -rw------- in the snapshot, -rw-r--r-- in the directory",
		"sub/new: only in the directory",
	}
	if !slices.Equal(got, want) {
		t.Errorf("differences:\n%s\nwant\n%s", joinLines(got), joinLines(want))
	}

	// --path compares a part.
	diffs, err = CompareData(t.Context(), r, root, "sub/deeper", filepath.Join(src, "sub", "deeper"))
	if err != nil || len(diffs) != 0 {
		t.Errorf("--path sub/deeper: %v, %v", diffs, err)
	}
}

func joinLines(ss []string) string {
	var out string
	for _, s := range ss {
		out += "  " + s + "\n"
	}
	return out
}
