package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestFilterFlags runs rclone's filter flags through the built binary, on
// a local tree and on a copy of it on the local MEGA server, with the
// examples of rclone's filtering docs: --filter, --include-from,
// --exclude-from (stdin), rclone's order of precedence, --files-from,
// --files-from-raw and --files-from0, --exclude-if-present,
// --min-age/--max-age (durations and dates), --ignore-case; then the same
// flags on copy, sync, check, delete, size and tree, --dump filters,
// --no-update-modtime and the accepted no-op flags.
func TestFilterFlags(t *testing.T) {
	_, remote := megaCLI(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	writeFiles(t, src, map[string]string{
		"a.jpg": "a", "b.png": "b", "secret1.jpg": "s", "file2.avi": "f", "notes.txt": "n",
		"dir/x.txt": "x", "dir/Trash/t.txt": "t",
		"dir1/file1": "1", "dir1/dir2/file2": "2", "dir1/dir2/dir3/file3": "3", "dir1/dir2/dir3/.ignore": "",
		"Zaphod.txt": "z", "old.log": "o", "new.log": "new",
	})
	now := time.Now()
	if err := os.Chtimes(filepath.Join(src, "old.log"), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(src, "new.log"), now.Add(-time.Hour), now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	file := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		return runBinStdin(t, nil, stdin, append(args, remote...)...)
	}
	mustRun := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errOut := run(stdin, args...)
		if code != 0 {
			t.Fatalf("ferry %q: exit %d\n%s", args, code, errOut)
		}
		return out
	}
	lines := func(out string) []string {
		l := strings.Fields(out)
		slices.Sort(l)
		return l
	}
	all := []string{"Zaphod.txt", "a.jpg", "b.png", "dir/Trash/t.txt", "dir/x.txt", "dir1/dir2/dir3/.ignore", "dir1/dir2/dir3/file3",
		"dir1/dir2/file2", "dir1/file1", "file2.avi", "new.log", "notes.txt", "old.log", "secret1.jpg"}
	except := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(s string) bool { return slices.Contains(drop, s) })
	}
	mustRun("", "copy", src, ":mega:t")

	includeFrom := file("include.txt", "# a sample include rule file\n*.jpg\nfile2.avi\n")
	filesFrom := file("files.txt", "# comment\n  a.jpg  \n/dir1/dir2/file2\nmissing.txt\n; other\n")
	raw := file("raw.txt", " a.jpg\nnotes.txt\n")
	cases := []struct {
		name  string
		stdin string
		args  []string
		want  []string
	}{
		{"--filter in order (the docs' filter-file)", "", []string{"--filter", "- secret*.jpg", "--filter", "+ *.jpg", "--filter", "+ *.png", "--filter", "+ file2.avi",
			"--filter", "- /dir/Trash/**", "--filter", "+ /dir/**", "--filter", "- *"}, []string{"a.jpg", "b.png", "dir/x.txt", "file2.avi"}},
		{"-f and ! clears", "", []string{"-f", "+ *.jpg", "-f", "!", "-f", "+ notes.txt", "-f", "- *"}, []string{"notes.txt"}},
		{"--include-from", "", []string{"--include-from", includeFrom}, []string{"a.jpg", "file2.avi", "secret1.jpg"}},
		{"--exclude-from stdin", "*.jpg\n\n# c\n*.png\n", []string{"--exclude-from", "-"}, except("a.jpg", "secret1.jpg", "b.png")},
		{"--include before --exclude", "", []string{"--exclude", "*.jpg", "--include", "a.jpg"}, []string{"a.jpg"}},
		{"--exclude before --filter", "", []string{"--filter", "+ secret1.jpg", "--exclude", "*.jpg"}, except("a.jpg", "secret1.jpg")},
		{"--files-from", "", []string{"--files-from", filesFrom}, []string{"a.jpg", "dir1/dir2/file2"}},
		{"--files-from stdin", "notes.txt\n", []string{"--files-from", "-"}, []string{"notes.txt"}},
		{"--files-from-raw keeps spaces", "", []string{"--files-from-raw", raw}, []string{"notes.txt"}},
		{"--files-from0 stdin", "a.jpg\x00dir/x.txt\x00", []string{"--files-from0", "-"}, []string{"a.jpg", "dir/x.txt"}},
		{"--exclude-if-present", "", []string{"--exclude-if-present", ".ignore"}, except("dir1/dir2/dir3/.ignore", "dir1/dir2/dir3/file3")},
		{"--exclude-if-present DIR/", "", []string{"--exclude-if-present", "dir3/"}, except("dir1/dir2/dir3/.ignore", "dir1/dir2/dir3/file3", "dir1/dir2/file2")},
		{"--max-age duration", "", []string{"--max-age", "1d"}, []string{"new.log"}},
		{"--min-age duration", "", []string{"--min-age", "1d"}, except("new.log")},
		{"--max-age date", "", []string{"--max-age", "2024-01-01"}, except("old.log")},
		{"--min-age date and time", "", []string{"--min-age", "2021-01-01 00:00:00"}, []string{"old.log"}},
		{"case-sensitive by default", "", []string{"--include", "zaphod.txt"}, nil},
		{"--ignore-case", "", []string{"--include", "zaphod.txt", "--ignore-case"}, []string{"Zaphod.txt"}},
	}
	for _, tc := range cases {
		for _, where := range []string{src, ":mega:t"} {
			args := append([]string{"lsf", "-R", "--files-only", where}, tc.args...)
			if got := lines(mustRun(tc.stdin, args...)); !slices.Equal(got, tc.want) {
				t.Errorf("%s on %s: lsf -R %q\n got %q\nwant %q", tc.name, where, tc.args, got, tc.want)
			}
		}
	}

	// Mixing --include and --exclude works, with rclone's warning.
	if code, _, errOut := run("", "lsf", "--include", "a.jpg", "--exclude", "*.jpg", src); code != 0 || !strings.Contains(errOut, "NOTICE: Using --filter is recommended instead of both --include and --exclude") {
		t.Errorf("--include with --exclude: exit %d\n%s", code, errOut)
	}

	// copy, check and delete with --files-from; missing paths are skipped.
	if code, _, errOut := run("", "copy", "-v", "--files-from", filesFrom, src, ":mega:ff"); code != 0 || !strings.Contains(errOut, "missing.txt: --files-from: not found, skipped") {
		t.Errorf("copy --files-from: exit %d\n%s", code, errOut)
	}
	if got := lines(mustRun("", "lsf", "-R", "--files-only", ":mega:ff")); !slices.Equal(got, []string{"a.jpg", "dir1/dir2/file2"}) {
		t.Errorf("copy --files-from: destination %q", got)
	}
	// --files-from-strict: the missing path fails the run (exit 4, as
	// rclone for a file not found), the listed files are copied all the same.
	if code, _, errOut := run("", "copy", "--files-from", filesFrom, "--files-from-strict", src, ":mega:ffs"); code != 4 || !strings.Contains(errOut, "missing.txt") {
		t.Errorf("copy --files-from-strict: exit %d, want 4 naming missing.txt\n%s", code, errOut)
	}
	if got := lines(mustRun("", "lsf", "-R", "--files-only", ":mega:ffs")); !slices.Equal(got, []string{"a.jpg", "dir1/dir2/file2"}) {
		t.Errorf("copy --files-from-strict: destination %q", got)
	}
	if code, _, errOut := run("", "check", "--files-from", filesFrom, src, ":mega:ff"); code != 0 {
		t.Errorf("check --files-from: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := run("", "check", src, ":mega:ff"); code != 1 {
		t.Errorf("check without --files-from: exit %d, want 1 (files missing)\n%s", code, errOut)
	}
	mustRun("", "delete", "--files-from", filesFrom, ":mega:t")
	if got := lines(mustRun("", "lsf", "-R", "--files-only", ":mega:t")); !slices.Equal(got, except("a.jpg", "dir1/dir2/file2")) {
		t.Errorf("delete --files-from: left %q", got)
	}

	// sync --exclude-if-present neither copies nor deletes below the marker.
	mustRun("", "copy", src+"/dir1", ":mega:s")
	mustRun("", "rcat", ":mega:s/dir2/dir3/only-on-dst")
	mustRun("", "sync", "--exclude-if-present", ".ignore", src+"/dir1", ":mega:s")
	if got := lines(mustRun("", "lsf", "-R", "--files-only", ":mega:s")); !slices.Equal(got, []string{"dir2/dir3/.ignore", "dir2/dir3/file3", "dir2/dir3/only-on-dst", "dir2/file2", "file1"}) {
		t.Errorf("sync --exclude-if-present: destination %q", got)
	}
	mustRun("", "sync", "--exclude-if-present", ".ignore", src+"/dir1", ":mega:s2")
	if got := lines(mustRun("", "lsf", "-R", "--files-only", ":mega:s2")); !slices.Equal(got, []string{"dir2/file2", "file1"}) {
		t.Errorf("sync --exclude-if-present to a new place: %q", got)
	}

	// size and tree take the same flags.
	if out := mustRun("", "size", "--max-age", "1d", src); !strings.Contains(out, "Total objects: 1\n") {
		t.Errorf("size --max-age 1d: %q", out)
	}
	if out := mustRun("", "tree", "--exclude-if-present", ".ignore", "--noreport", src+"/dir1"); out != "/\n├── dir2\n│   └── file2\n└── file1\n" {
		t.Errorf("tree --exclude-if-present:\n%s", out)
	}

	// --dump filters prints the compiled rules on stdout first.
	out := mustRun("", "lsf", "--dump", "filters", "--include", "/dir/*.txt", "--max-size", "1M", src)
	if !strings.HasPrefix(out, "--- start filters ---\nMaximum size is: 1048576 B\n--- File filter rules ---\n+ ^dir/[^/]*\\.txt$\n- ^.*$\n--- Directory filter rules ---\n+ ^dir/$\n- ^.*$\n--- end filters ---\ndir/\n") {
		t.Errorf("--dump filters:\n%s", out)
	}

	// --no-update-modtime: equal content, other mtime: left alone.
	mustRun("", "copy", "--include", "notes.txt", src, ":mega:m1")
	later := xferTime.Add(time.Hour)
	if err := os.Chtimes(filepath.Join(src, "notes.txt"), later, later); err != nil {
		t.Fatal(err)
	}
	mustRun("", "copy", "--include", "notes.txt", src, ":mega:m2")
	stamp := func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }
	code, _, errOut := run("", "copy", "-v", "--no-update-modtime", ":mega:m1", ":mega:m2")
	if out := mustRun("", "lsl", ":mega:m2"); code != 0 || !strings.Contains(out, stamp(later)) || strings.Contains(errOut, "Updated modification time") {
		t.Errorf("copy --no-update-modtime: exit %d, lsl %q\n%s", code, out, errOut)
	}
	_, _, errOut = run("", "copy", "-v", ":mega:m1", ":mega:m2")
	if out := mustRun("", "lsl", ":mega:m2"); !strings.Contains(out, stamp(xferTime)) || !strings.Contains(errOut, "Updated modification time") {
		t.Errorf("copy without --no-update-modtime: lsl %q\n%s", out, errOut)
	}

	// Accepted no-op flags, anywhere on the line.
	if got := lines(mustRun("", "--fast-list", "lsf", "-R", "--files-only", "--use-mmap", src)); !slices.Equal(got, all) {
		t.Errorf("--fast-list --use-mmap: %q", got)
	}

	// Usage errors: exit 1, one line naming the flag.
	for _, args := range [][]string{
		{"--files-from", filesFrom, "--exclude", "*.jpg"},
		{"--filter", "*.jpg"},
		{"--max-age", "soon"},
		{"--min-age", "2d", "--max-age", "1d"},
		{"--include-from", filepath.Join(dir, "missing")},
		{"--dump", "headers"},
	} {
		code, _, errOut := run("", append([]string{"lsf", src}, args...)...)
		if code != exitUsage || !strings.Contains(errOut, args[0]) {
			t.Errorf("lsf %q: exit %d, want %d naming %s\n%s", args, code, exitUsage, args[0], errOut)
		}
	}
}
