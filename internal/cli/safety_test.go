package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// files lists the files under dir, sorted (slash paths).
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for p := range readFiles(t, dir) {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// dirs lists the directories under dir, sorted (slash paths).
func dirs(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

// TestDeleteSafety runs the built binary's delete, deletefile, rmdirs
// and purge with --dry-run (nothing goes, each item is named), with -i
// (y, n, s, ! and q answer as in rclone), and delete with the filter
// flags and -v (each deleted file is printed).
func TestDeleteSafety(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	all := map[string]string{"a.txt": "a", "b.log": "bb", "big.bin": strings.Repeat("x", 4096), "sub/c.txt": "c", "sub/d.log": "d"}
	writeFiles(t, dir, all)
	os.MkdirAll(filepath.Join(dir, "empty1", "empty2"), 0o755)
	want := files(t, dir)

	for _, args := range [][]string{
		{"delete", "--dry-run", dir},
		{"delete", "-n", "--rmdirs", dir},
		{"deletefile", "--dry-run", filepath.Join(dir, "a.txt")},
		{"rmdirs", "--dry-run", dir},
		{"purge", "--dry-run", filepath.Join(dir, "sub")},
	} {
		code, out, errOut := runBinStdin(t, nil, "", args...)
		if code != 0 || out != "" || !strings.Contains(errOut, "as --dry-run is set") {
			t.Errorf("%v: exit %d, stdout %q, stderr:\n%s", args, code, out, errOut)
		}
		if got := files(t, dir); !slices.Equal(got, want) {
			t.Fatalf("%v changed the files: %v", args, got)
		}
	}
	code, _, errOut := runBinStdin(t, nil, "", "delete", "--dry-run", dir)
	if !strings.Contains(errOut, "big.bin: Skipped delete as --dry-run is set (size 4.000 KiB)") {
		t.Errorf("delete --dry-run does not give big.bin's size:\n%s", errOut)
	}
	for _, p := range want {
		if !strings.Contains(errOut, "NOTICE: "+p+": Skipped delete as --dry-run is set") {
			t.Errorf("delete --dry-run does not name %s:\n%s", p, errOut)
		}
	}
	if code, _, errOut := runBinStdin(t, nil, "", "rmdirs", "--dry-run", "--leave-root", dir); code != 0 ||
		!strings.Contains(errOut, "empty1/empty2: Skipped remove directory") || !strings.Contains(errOut, "empty1: Skipped remove directory") ||
		strings.Contains(errOut, "sub: Skipped") {
		t.Errorf("rmdirs --dry-run: exit %d\n%s", code, errOut)
	}

	// -i: a.txt yes, b.log no, big.bin "!" (all the rest, no questions).
	code, _, errOut = runBinStdin(t, nil, "y\nn\n!\n", "delete", "-i", dir)
	if code != 0 || strings.Count(errOut, "y/n/s/!/q> ") != 3 || !strings.Contains(errOut, `ferry: delete "b.log"?`) {
		t.Errorf("delete -i: exit %d\n%s", code, errOut)
	}
	if got := files(t, dir); !slices.Equal(got, []string{"b.log"}) {
		t.Errorf("after delete -i (y, n, !): %v, want only b.log", got)
	}

	// q stops at once; no answer at all is an error, not a yes.
	writeFiles(t, dir, all)
	if code, _, errOut := runBinStdin(t, nil, "q\n", "delete", "-i", dir); code == 0 || !strings.Contains(errOut, "stopped at the user's request") {
		t.Errorf("delete -i, q: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := runBinStdin(t, nil, "", "deletefile", "-i", filepath.Join(dir, "a.txt")); code != exitUsage || !strings.Contains(errOut, "no answer") {
		t.Errorf("deletefile -i without an answer: exit %d\n%s", code, errOut)
	}
	if got := files(t, dir); !slices.Equal(got, want) {
		t.Fatalf("q or no answer deleted files: %v", got)
	}

	// rmdirs -i: keeping empty2 keeps empty1 too (it is not empty then).
	if code, _, errOut := runBinStdin(t, nil, "n\n", "rmdirs", "-i", "--leave-root", dir); code != 0 {
		t.Errorf("rmdirs -i, n: exit %d\n%s", code, errOut)
	}
	if got := dirs(t, dir); !slices.Contains(got, "empty1/empty2") {
		t.Errorf("rmdirs -i answered n removed empty1/empty2: %v", got)
	}

	// delete takes the filters; -v names each file deleted.
	code, _, errOut = runBinStdin(t, nil, "", "delete", "-v", "--include", "*.log", dir)
	if code != 0 || !strings.Contains(errOut, "b.log: Deleted") || !strings.Contains(errOut, "sub/d.log: Deleted") || strings.Contains(errOut, "a.txt") {
		t.Errorf("delete -v --include *.log: exit %d\n%s", code, errOut)
	}
	code, _, errOut = runBinStdin(t, nil, "", "delete", "--min-size", "1K", "--exclude", "sub/**", dir)
	if code != 0 {
		t.Errorf("delete --min-size 1K: exit %d\n%s", code, errOut)
	}
	if got := files(t, dir); !slices.Equal(got, []string{"a.txt", "sub/c.txt"}) {
		t.Errorf("after the filtered deletes: %v, want a.txt sub/c.txt", got)
	}

	// purge -i: y purges.
	if code, _, errOut := runBinStdin(t, nil, "y\n", "purge", "-i", filepath.Join(dir, "sub")); code != 0 || !strings.Contains(errOut, "purge") {
		t.Errorf("purge -i, y: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub")); !os.IsNotExist(err) {
		t.Errorf("purge -i answered y left sub: %v", err)
	}
}

// TestCleanupDedupeSafety runs cleanup and dedupe with --dry-run and -i
// against the local MEGA server: the trash and the duplicates stay until
// a yes.
func TestCleanupDedupeSafety(t *testing.T) {
	srv, remote := megaCLI(t)
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"gone.txt": "to the trash", "keep.txt": "k"})
	run := func(stdin string, args ...string) (int, string, string) {
		t.Helper()
		return runBinStdin(t, nil, stdin, append(args, remote...)...)
	}
	if code, _, errOut := run("", "copy", src, ":mega:box"); code != 0 {
		t.Fatalf("copy: %d\n%s", code, errOut)
	}
	if code, _, errOut := run("", "deletefile", ":mega:box/gone.txt"); code != 0 {
		t.Fatalf("deletefile: %d\n%s", code, errOut)
	}
	trashed := func() int64 {
		t.Helper()
		code, out, errOut := run("", "about", "--json", ":mega:")
		var u struct{ Trashed int64 }
		if code != 0 || json.Unmarshal([]byte(out), &u) != nil {
			t.Fatalf("about: %d %q\n%s", code, out, errOut)
		}
		return u.Trashed
	}
	if trashed() == 0 {
		t.Fatal("the deleted file is not in the trash")
	}
	for _, tc := range []struct {
		stdin string
		args  []string
	}{{"", []string{"cleanup", "--dry-run", ":mega:"}}, {"n\n", []string{"cleanup", "-i", ":mega:"}}} {
		if code, _, errOut := run(tc.stdin, tc.args...); code != 0 || !strings.Contains(errOut, "Skipped cleanup") {
			t.Errorf("%v: exit %d\n%s", tc.args, code, errOut)
		}
		if trashed() == 0 {
			t.Errorf("%v emptied the trash", tc.args)
		}
	}
	if code, _, errOut := run("y\n", "cleanup", "-i", ":mega:"); code != 0 || trashed() != 0 {
		t.Errorf("cleanup -i, y: exit %d, trash not empty\n%s", code, errOut)
	}

	// Two same-named files: dedupe newest -i asks before deleting the
	// older one; n keeps both, y deletes it.
	c := otherClient(t, srv)
	box, err := c.LookupNames("box")
	if err != nil || len(box) != 1 {
		t.Fatalf("box: %v %v", box, err)
	}
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, data := range []string{"old", "newer"} {
		if _, err := c.Upload(t.Context(), box[0], "dup.txt", strings.NewReader(data), int64(len(data)), t0.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		t.Helper()
		_, out, _ := run("", "lsf", ":mega:box")
		return strings.Count(out, "dup.txt")
	}
	if code, _, errOut := run("", "dedupe", "--dry-run", "newest", ":mega:box"); code != 0 || !strings.Contains(errOut, "as --dry-run is set") || count() != 2 {
		t.Errorf("dedupe --dry-run: exit %d, %d copies\n%s", code, count(), errOut)
	}
	if code, _, errOut := run("n\n", "dedupe", "-i", "newest", ":mega:box"); code != 0 || !strings.Contains(errOut, `ferry: delete "dup.txt"?`) || count() != 2 {
		t.Errorf("dedupe -i, n: exit %d, %d copies\n%s", code, count(), errOut)
	}
	if code, _, errOut := run("y\n", "dedupe", "-i", "newest", ":mega:box"); code != 0 || count() != 1 {
		t.Errorf("dedupe -i, y: exit %d, %d copies\n%s", code, count(), errOut)
	}
	if _, out, _ := run("", "cat", ":mega:box/dup.txt"); out != "newer" {
		t.Errorf("dedupe newest kept %q", out)
	}
}
