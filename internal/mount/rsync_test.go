package mount_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
)

// skipWithout skips the test when one of the tools is not on PATH (CI
// installs them; see .ci/run).
func skipWithout(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s on PATH (apt-get install %s)", tool, tool)
		}
	}
}

// modeTree writes tree's files and gives them the modes and mtimes of a
// real source tree: a private file, an executable, times in the past.
func modeTree(t *testing.T, dir string) string {
	t.Helper()
	tree(t, dir)
	src := filepath.Join(dir, "src")
	os.WriteFile(filepath.Join(src, "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	os.Chmod(filepath.Join(src, "f0"), 0o600)
	old := time.Date(2020, 5, 6, 7, 8, 9, 123456789, time.UTC)
	filepath.Walk(src, func(p string, _ os.FileInfo, _ error) error {
		old = old.Add(time.Minute)
		return os.Chtimes(p, old, old)
	})
	return src
}

// transferred is the count rsync --stats prints of regular files sent.
var transferred = regexp.MustCompile(`Number of regular files transferred: ([0-9,]+)`)

// testRsync runs rsync -a and cp -a into a mount of b; again gives the
// backend of a second mount (a fresh client where there is one).
func testRsync(t *testing.T, b backend.Backend, again func() backend.Backend) {
	skipWithout(t, "rsync")
	m := mountT(t, b)
	src := modeTree(t, t.TempDir())
	run := func(m *mounted) (stats string, changes []string) {
		out := m.mustSh(t, "rsync -a --stats --out-format='CHANGE %i %n' '"+src+"/' dst/")
		for _, l := range strings.Split(out, "\n") {
			if c, ok := strings.CutPrefix(l, "CHANGE "); ok {
				changes = append(changes, c)
			}
		}
		return out, changes
	}
	out, changes := run(m)
	if s := transferred.FindStringSubmatch(out); s == nil || s[1] == "0" {
		t.Fatalf("first rsync -a transferred nothing:\n%s", out)
	}
	m.mustSh(t, "diff -r '"+src+"' dst")
	out, changes = run(m)
	if s := transferred.FindStringSubmatch(out); s == nil || s[1] != "0" {
		t.Fatalf("second rsync -a transferred files again:\n%s", out)
	}
	t.Logf("second rsync -a itemized %d changes: %q", len(changes), changes)
	for _, c := range changes {
		// The backends keep no modes or owners: rsync's chmod is
		// accepted and forgotten, so it may itemize a permission
		// change, but never content or times.
		if c[0] != '.' || strings.ContainsAny(c[2:5], "cst") {
			t.Errorf("second rsync -a changed %q", c)
		}
	}
	m.mustSh(t, "diff -r '"+src+"' dst")
	// rsync writes into temporary files and renames them over the
	// target: an edit goes through it too.
	os.WriteFile(filepath.Join(src, "sub/f1"), []byte("edited"), 0o644)
	out, _ = run(m)
	if s := transferred.FindStringSubmatch(out); s == nil || s[1] != "1" {
		t.Fatalf("rsync -a after one edit: want 1 file transferred:\n%s", out)
	}
	m.mustSh(t, "diff -r '"+src+"' dst && test -z \"$(ls -A dst/sub | grep '^\\.')\"")

	// cp -a keeps mtimes (seconds at least; a directory's for the life
	// of the mount) and accepts its chmod/chown.
	m.mustSh(t, "cp -a '"+src+"' cpa && diff -r '"+src+"' cpa")
	const list = "find . -exec stat -c '%n %F %Y %s' {} + | sed 's/ directory \\([0-9]*\\) [0-9]*$/ directory \\1/' | sort"
	want := m.mustSh(t, "cd '"+src+"' && "+list)
	got := m.mustSh(t, "cd cpa && "+list)
	if got != want {
		t.Fatalf("cp -a: names, types, mtimes and sizes differ:\n%s\nwant\n%s", got, want)
	}

	// A fresh mount knows the files' mtimes from the backend, at its
	// precision: rsync still transfers nothing. Directory times are
	// not kept by the backends, so it sets them again.
	m.unmount()
	m = mountT(t, again())
	out, changes = run(m)
	if s := transferred.FindStringSubmatch(out); s == nil || s[1] != "0" {
		t.Fatalf("rsync -a on a fresh mount transferred files again:\n%s", out)
	}
	t.Logf("rsync -a on a fresh mount itemized %d changes: %q", len(changes), changes)
	for _, c := range changes {
		if c[0] != '.' || c[1] == 'f' && strings.ContainsAny(c[2:5], "cst") {
			t.Errorf("rsync -a on a fresh mount changed %q", c)
		}
	}
	m.mustSh(t, "diff -r '"+src+"' dst")
}

func TestRsyncMemory(t *testing.T) {
	b := memory.New()
	testRsync(t, b, func() backend.Backend { return b })
}

func TestRsyncMega(t *testing.T) {
	b, ts := newMega(t)
	testRsync(t, b, func() backend.Backend { b2, _ := newMegaOn(t, ts); return b2 })
}
