package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ferry/megaserver/megaservertest"
)

// These tests run the built binary with rclone's sync-semantics flags
// (issue 13): each on a local destination and on a remote of a loopback
// MEGA server.

// flagSide is a destination of these tests: a local directory or a
// configured MEGA remote "m:".
type flagSide struct {
	name string
	env  []string
	root string // local: a directory; MEGA: "m:"
	mega bool
}

// forSides runs f on a local destination and on a MEGA remote.
func forSides(t *testing.T, f func(t *testing.T, s *flagSide)) {
	t.Run("local", func(t *testing.T) {
		f(t, &flagSide{name: "local", env: binEnv(t), root: t.TempDir() + "/"})
	})
	t.Run("mega", func(t *testing.T) {
		srv := megaservertest.Start(t, megaservertest.WithLogger(quietLogger(t)))
		s := &flagSide{name: "mega", env: binEnv(t), root: "m:", mega: true}
		s.ok(t, "config", "create", "m", "mega", "user="+megaservertest.UserV2, "pass="+megaservertest.PasswordV2, "url="+srv.URL)
		f(t, s)
	})
}

// at is the argument naming p on the side.
func (s *flagSide) at(p string) string { return s.root + p }

// run runs ferry with the side's environment.
func (s *flagSide) run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	code, out, errOut := runBin(t, s.env, args...)
	return code, out + errOut
}

// ok runs ferry and fails the test unless it exits 0; it returns the
// output (stdout then stderr).
func (s *flagSide) ok(t *testing.T, args ...string) string {
	t.Helper()
	code, out := s.run(t, args...)
	if code != 0 {
		t.Fatalf("ferry %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// seed puts files (with xferTime, or the mtimes in times) at p.
func (s *flagSide) seed(t *testing.T, p string, files map[string]string, times map[string]time.Time) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	setTimes(t, dir, times)
	s.ok(t, "copy", dir, s.at(p))
}

// files returns the files at p, read back through the side.
func (s *flagSide) files(t *testing.T, p string) map[string]string {
	t.Helper()
	if !s.mega {
		return readFiles(t, s.at(p))
	}
	dir := t.TempDir()
	if code, out := s.run(t, "copy", s.at(p), dir); code != 0 && !strings.Contains(out, "directory not found") {
		t.Fatalf("reading %s back: exit %d\n%s", p, code, out)
	}
	return readFiles(t, dir)
}

// ids returns the identity of each file at p: its MEGA node handle, or
// its local inode (kept by a rename, new for a copy).
func (s *flagSide) ids(t *testing.T, p string) map[string]string {
	t.Helper()
	out := map[string]string{}
	if s.mega {
		for _, line := range strings.Split(strings.TrimSpace(s.ok(t, "lsf", "-R", "--files-only", "--format", "pi", "-s", "|", s.at(p))), "\n") {
			if k, v, ok := strings.Cut(line, "|"); ok {
				out[k] = v
			}
		}
		return out
	}
	root := s.at(p)
	_ = filepath.WalkDir(root, func(q string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				rel, _ := filepath.Rel(root, q)
				out[filepath.ToSlash(rel)] = fmt.Sprint(fi.Sys().(*syscall.Stat_t).Ino)
			}
		}
		return nil
	})
	return out
}

// dirs lists the directories at p, recursively.
func (s *flagSide) dirs(t *testing.T, p string) string {
	t.Helper()
	return strings.TrimSpace(s.ok(t, "lsf", "-R", "--dirs-only", s.at(p)))
}

// setTimes sets the mtimes of files under dir.
func setTimes(t *testing.T, dir string, times map[string]time.Time) {
	t.Helper()
	for name, mt := range times {
		if err := os.Chtimes(filepath.Join(dir, filepath.FromSlash(name)), mt, mt); err != nil {
			t.Fatal(err)
		}
	}
}

// wantOut fails unless out holds every one of want.
func wantOut(t *testing.T, what, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %q:\n%s", what, w, out)
		}
	}
}

// TestUpdateAndIgnoreTimes: -u keeps files newer on the destination,
// replaces older ones and, with equal mtimes, those whose size differs;
// -I transfers identical files again.
func TestUpdateAndIgnoreTimes(t *testing.T) {
	forSides(t, func(t *testing.T, s *flagSide) {
		newer, older := xferTime.Add(time.Hour), xferTime.Add(-time.Hour)
		s.seed(t, "dst", map[string]string{"newer.txt": "dst newer", "older.txt": "dst older", "size.txt": "dst", "same.txt": "DST!"},
			map[string]time.Time{"newer.txt": newer, "older.txt": older})
		src := t.TempDir()
		writeFiles(t, src, map[string]string{"newer.txt": "src", "older.txt": "src", "size.txt": "src size", "same.txt": "src!"})

		out := s.ok(t, "copy", "-n", "-u", src, s.at("dst"))
		wantOut(t, "copy -n -u", out, "older.txt: Skipped copy as --dry-run is set", "size.txt: Skipped copy as --dry-run is set")
		if strings.Contains(out, "newer.txt") || strings.Contains(out, "same.txt") {
			t.Errorf("copy -n -u would copy newer.txt or same.txt:\n%s", out)
		}
		s.ok(t, "copy", "-u", src, s.at("dst"))
		sameFiles(t, "after copy -u", s.files(t, "dst"), map[string]string{"newer.txt": "dst newer", "older.txt": "src", "size.txt": "src size", "same.txt": "DST!"})

		// -I: every file again, same.txt (same size and mtime) too.
		out = s.ok(t, "copy", "-v", "-I", src, s.at("dst"))
		wantOut(t, "copy -I", out, "same.txt: Copied (replaced existing)", "newer.txt: Copied (replaced existing)", "Transferred:  4 / 4, 100%")
		sameFiles(t, "after copy -I", s.files(t, "dst"), map[string]string{"newer.txt": "src", "older.txt": "src", "size.txt": "src size", "same.txt": "src!"})

		// --ignore-existing: nothing the destination has, changed or not.
		writeFiles(t, src, map[string]string{"older.txt": "changed again", "new.txt": "new"})
		s.ok(t, "copy", "--ignore-existing", src, s.at("dst"))
		sameFiles(t, "after copy --ignore-existing", s.files(t, "dst"), map[string]string{"newer.txt": "src", "older.txt": "src", "size.txt": "src size", "same.txt": "src!", "new.txt": "new"})
	})
}

// TestImmutable: --immutable creates new files but an existing file that
// differs is an error and stays as it was.
func TestImmutable(t *testing.T) {
	forSides(t, func(t *testing.T, s *flagSide) {
		s.seed(t, "dst", map[string]string{"a.txt": "old", "same.txt": "same"}, nil)
		src := t.TempDir()
		writeFiles(t, src, map[string]string{"a.txt": "new content", "same.txt": "same", "b.txt": "bravo"})
		code, out := s.run(t, "sync", "--immutable", src, s.at("dst"))
		if code == 0 {
			t.Errorf("sync --immutable over a changed file: exit 0\n%s", out)
		}
		wantOut(t, "sync --immutable", out, "a.txt: source and destination exist but do not match (sizes differ): immutable file modified")
		sameFiles(t, "after sync --immutable", s.files(t, "dst"), map[string]string{"a.txt": "old", "same.txt": "same", "b.txt": "bravo"})
	})
}

// TestBackupDirAndSuffix: files a sync replaces or deletes go into
// --backup-dir at their relative paths (with --suffix, before the
// extension with --suffix-keep-extension), moved server-side on MEGA;
// --suffix alone renames them in place; a backup dir inside the
// destination must be excluded.
func TestBackupDirAndSuffix(t *testing.T) {
	forSides(t, func(t *testing.T, s *flagSide) {
		s.seed(t, "dst", map[string]string{"a.txt": "old a", "d/b.txt": "old b", "extra.txt": "extra", "keep.txt": "keep"}, nil)
		src := t.TempDir()
		writeFiles(t, src, map[string]string{"a.txt": "new alpha", "d/b.txt": "new bravo", "keep.txt": "keep"})
		before := s.ids(t, "dst")

		out := s.ok(t, "sync", "-n", "--backup-dir", s.at("bak"), src, s.at("dst"))
		wantOut(t, "sync -n --backup-dir", out, "extra.txt: Skipped delete as --dry-run is set")
		if got := s.files(t, "bak"); len(got) != 0 {
			t.Errorf("dry run made backups: %v", got)
		}

		out = s.ok(t, "sync", "-v", "--backup-dir", s.at("bak"), "--suffix", "-1", "--suffix-keep-extension", src, s.at("dst"))
		wantOut(t, "sync --backup-dir", out, "extra.txt: Deleted (moved into backup dir)", "a.txt: Moved into backup dir", "a.txt: Copied (replaced existing)")
		sameFiles(t, "destination", s.files(t, "dst"), map[string]string{"a.txt": "new alpha", "d/b.txt": "new bravo", "keep.txt": "keep"})
		sameFiles(t, "backup dir", s.files(t, "bak"), map[string]string{"a-1.txt": "old a", "d/b-1.txt": "old b", "extra-1.txt": "extra"})
		// Moved, not copied: the backups are the old objects.
		after := s.ids(t, "bak")
		for old, bak := range map[string]string{"a.txt": "a-1.txt", "d/b.txt": "d/b-1.txt", "extra.txt": "extra-1.txt"} {
			if before[old] == "" || after[bak] != before[old] {
				t.Errorf("%s backed up as a new object: id %q, was %q", bak, after[bak], before[old])
			}
		}

		// --suffix alone: renamed beside themselves.
		writeFiles(t, src, map[string]string{"a.txt": "newer a"})
		s.ok(t, "copy", "--suffix", ".orig", src, s.at("dst"))
		sameFiles(t, "after copy --suffix", s.files(t, "dst"), map[string]string{"a.txt": "newer a", "a.txt.orig": "new alpha", "d/b.txt": "new bravo", "keep.txt": "keep"})

		// copyto and move back up too (copyto by the file's name).
		one := filepath.Join(t.TempDir(), "one.txt")
		if err := os.WriteFile(one, []byte("one, replaced"), 0o644); err != nil {
			t.Fatal(err)
		}
		s.ok(t, "copyto", "--backup-dir", s.at("bak2"), one, s.at("dst/keep.txt"))
		mv := t.TempDir()
		writeFiles(t, mv, map[string]string{"keep.txt": "moved over"})
		s.ok(t, "move", "--backup-dir", s.at("bak2"), "--suffix", ".moved", mv, s.at("dst"))
		sameFiles(t, "copyto and move --backup-dir", s.files(t, "bak2"), map[string]string{"keep.txt": "keep", "keep.txt.moved": "one, replaced"})
		s.ok(t, "copyto", filepath.Join(src, "keep.txt"), s.at("dst/keep.txt"))

		// Inside the destination: refused unless excluded.
		code, out := s.run(t, "sync", "--backup-dir", s.at("dst/old"), src, s.at("dst"))
		if code != 1 || !strings.Contains(out, "overlap") {
			t.Errorf("--backup-dir inside the destination: exit %d\n%s", code, out)
		}
		writeFiles(t, src, map[string]string{"a.txt": "newest a"})
		s.ok(t, "sync", "--backup-dir", s.at("dst/old"), "--exclude", "old/**", "--exclude", "*.orig", src, s.at("dst"))
		sameFiles(t, "after sync into an excluded backup dir", s.files(t, "dst"),
			map[string]string{"a.txt": "newest a", "a.txt.orig": "new alpha", "d/b.txt": "new bravo", "keep.txt": "keep", "old/a.txt": "newer a"})
		// Another remote: refused.
		if s.mega {
			code, out = s.run(t, "sync", "--backup-dir", t.TempDir(), src, s.at("dst"))
			if code != 1 || !strings.Contains(out, "must be on the destination's remote") {
				t.Errorf("--backup-dir on another remote: exit %d\n%s", code, out)
			}
		}
	})
}

// TestMaxDeleteAndDeleteModes: --max-delete N deletes at most N files
// and fails fatally (exit 7), also under --dry-run; --delete-excluded
// deletes excluded files; --delete-before deletes before the first copy,
// --delete-after (the default) after the last; an error before the
// deletions cancels them.
func TestMaxDeleteAndDeleteModes(t *testing.T) {
	forSides(t, func(t *testing.T, s *flagSide) {
		s.seed(t, "dst", map[string]string{"x1": "1", "x2": "2", "x3": "3", "keep.log": "log"}, nil)
		src := t.TempDir()
		writeFiles(t, src, map[string]string{"a.txt": "alpha"})

		code, out := s.run(t, "sync", "-n", "--max-delete", "1", "--exclude", "*.log", src, s.at("dst"))
		if code != 7 || !strings.Contains(out, "--max-delete threshold reached") {
			t.Errorf("sync -n --max-delete 1: exit %d\n%s", code, out)
		}
		code, out = s.run(t, "sync", "--max-delete", "1", "--exclude", "*.log", src, s.at("dst"))
		if code != 7 || !strings.Contains(out, "--max-delete threshold reached") {
			t.Errorf("sync --max-delete 1: exit %d\n%s", code, out)
		}
		if got := s.files(t, "dst"); len(got) != 4 || got["a.txt"] != "alpha" || got["keep.log"] != "log" {
			t.Errorf("after --max-delete 1: %v, want a.txt, keep.log and two of x1..x3", got)
		}
		s.ok(t, "sync", "--max-delete", "2", "--exclude", "*.log", src, s.at("dst"))
		sameFiles(t, "after --max-delete 2", s.files(t, "dst"), map[string]string{"a.txt": "alpha", "keep.log": "log"})
		s.ok(t, "sync", "--delete-excluded", "--exclude", "*.log", src, s.at("dst"))
		sameFiles(t, "after --delete-excluded", s.files(t, "dst"), map[string]string{"a.txt": "alpha"})

		// The order of deleting and copying.
		for _, tc := range []struct {
			flag        string
			deleteFirst bool
		}{{"--delete-before", true}, {"--delete-after", false}, {"", false}, {"--delete-during", false}} {
			s.seed(t, "dst", map[string]string{"zz-old": "z"}, nil)
			writeFiles(t, src, map[string]string{"b" + strings.TrimPrefix(tc.flag, "--") + ".txt": "new"})
			args := []string{"sync", "-v", "--transfers", "1", "--checkers", "1"}
			if tc.flag != "" {
				args = append(args, tc.flag)
			}
			out := s.ok(t, append(args, src, s.at("dst"))...)
			del, cp := strings.Index(out, "zz-old: Deleted"), strings.Index(out, "Copied (new)")
			if del < 0 || cp < 0 || (del < cp) != tc.deleteFirst && tc.flag != "--delete-during" {
				t.Errorf("sync %s: delete at %d, copy at %d (delete first: want %v)\n%s", tc.flag, del, cp, tc.deleteFirst, out)
			}
		}
		if code, out := s.run(t, "sync", "--delete-before", "--delete-after", src, s.at("dst")); code != 1 {
			t.Errorf("two delete modes: exit %d\n%s", code, out)
		}

		// An error (a file where the destination has a directory): nothing deleted.
		s.seed(t, "dst", map[string]string{"conflict/inner": "i", "zz-old": "z"}, nil)
		writeFiles(t, src, map[string]string{"conflict": "file"})
		for _, mode := range []string{"--delete-after", "--delete-before"} {
			code, out = s.run(t, "sync", mode, src, s.at("dst"))
			if mode == "--delete-after" {
				if code == 0 || !strings.Contains(out, "not deleting files as there were IO errors") || !strings.Contains(out, "can't replace directory") {
					t.Errorf("sync %s with an error: exit %d\n%s", mode, code, out)
				}
				if got := s.files(t, "dst"); got["zz-old"] != "z" {
					t.Errorf("sync %s with an error deleted zz-old: %v", mode, got)
				}
			} else if code == 0 {
				t.Errorf("sync %s with an error: exit 0\n%s", mode, out)
			}
		}
	})
}

// TestCreateEmptySrcDirs: copy makes the source's empty directories only
// with --create-empty-src-dirs (and -n only says so); sync removes the
// destination's directories the source lacks.
func TestCreateEmptySrcDirs(t *testing.T) {
	forSides(t, func(t *testing.T, s *flagSide) {
		src := t.TempDir()
		writeFiles(t, src, map[string]string{"a.txt": "alpha"})
		for _, d := range []string{"empty", "deep/er/est"} {
			if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		s.ok(t, "copy", src, s.at("plain"))
		if got := s.dirs(t, "plain"); got != "" {
			t.Errorf("copy without the flag made directories: %q", got)
		}
		out := s.ok(t, "copy", "-n", "--create-empty-src-dirs", src, s.at("dst"))
		wantOut(t, "copy -n --create-empty-src-dirs", out, "deep/er/est: Skipped make directory as --dry-run is set", "empty: Skipped make directory as --dry-run is set")
		if code, out := s.run(t, "lsf", s.at("dst")); code == 0 && strings.TrimSpace(out) != "" {
			t.Errorf("dry run made %q", out)
		}
		s.ok(t, "copy", "--create-empty-src-dirs", src, s.at("dst"))
		if got, want := s.dirs(t, "dst"), "deep/\ndeep/er/\ndeep/er/est/\nempty/"; got != want {
			t.Errorf("copy --create-empty-src-dirs: directories %q, want %q", got, want)
		}
		// sync removes what the source lacks, and keeps what it has.
		if err := os.RemoveAll(filepath.Join(src, "deep", "er")); err != nil {
			t.Fatal(err)
		}
		s.ok(t, "sync", "--create-empty-src-dirs", src, s.at("dst"))
		if got, want := s.dirs(t, "dst"), "deep/\nempty/"; got != want {
			t.Errorf("sync --create-empty-src-dirs: directories %q, want %q", got, want)
		}
	})
}

// TestNoTraverseCommand: copy --no-traverse looks each file up instead of
// listing the destination, with the same result; sync ignores it.
func TestNoTraverseCommand(t *testing.T) {
	forSides(t, func(t *testing.T, s *flagSide) {
		s.seed(t, "dst", map[string]string{"a.txt": "alpha", "d/b.txt": "old", "other/1": "1", "other/2": "2"}, nil)
		src := t.TempDir()
		writeFiles(t, src, map[string]string{"a.txt": "alpha", "d/b.txt": "bravo", "d/c.txt": "charlie"})
		out := s.ok(t, "copy", "-v", "--no-traverse", src, s.at("dst"))
		wantOut(t, "copy --no-traverse", out, "d/b.txt: Copied (replaced existing)", "d/c.txt: Copied (new)", "Transferred:  2 / 2, 100%")
		sameFiles(t, "after copy --no-traverse", s.files(t, "dst"), map[string]string{"a.txt": "alpha", "d/b.txt": "bravo", "d/c.txt": "charlie", "other/1": "1", "other/2": "2"})
		out = s.ok(t, "sync", "--no-traverse", src, s.at("dst"))
		wantOut(t, "sync --no-traverse", out, "Ignoring --no-traverse with sync")
		sameFiles(t, "after sync --no-traverse", s.files(t, "dst"), map[string]string{"a.txt": "alpha", "d/b.txt": "bravo", "d/c.txt": "charlie"})
	})
}

// TestTrackRenames: a renamed 5 MB file is moved on the destination (the
// MEGA node, or the local inode, is kept; nothing is transferred) with
// --track-renames, and uploaded again without it.
func TestTrackRenames(t *testing.T) {
	forSides(t, func(t *testing.T, s *flagSide) {
		src := t.TempDir()
		big := strings.Repeat("0123456789abcdef", 5<<16) // 5 MiB
		writeFiles(t, src, map[string]string{"old/big.bin": big, "small.txt": "s", "twin1": "same", "twin2": "same"})
		s.ok(t, "sync", src, s.at("dst"))
		before := s.ids(t, "dst")
		rename := func(from, to string) {
			t.Helper()
			if err := os.MkdirAll(filepath.Dir(filepath.Join(src, to)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Join(src, from), filepath.Join(src, to)); err != nil {
				t.Fatal(err)
			}
		}
		rename("old/big.bin", "new/big.bin")
		rename("twin1", "twin3")

		out := s.ok(t, "sync", "-n", "--track-renames", src, s.at("dst"))
		wantOut(t, "sync -n --track-renames", out, "new/big.bin: Skipped move as --dry-run is set")
		out = s.ok(t, "sync", "-v", "--track-renames", src, s.at("dst"))
		wantOut(t, "sync --track-renames", out, "new/big.bin: Moved (renamed from old/big.bin)", "twin3: Moved (renamed from twin1)", "Renamed:      2", "Transferred:  0 B / 0 B", "Transferred:  0 / 0")
		if strings.Contains(out, "Copied") {
			t.Errorf("sync --track-renames copied:\n%s", out)
		}
		after := s.ids(t, "dst")
		if after["new/big.bin"] == "" || after["new/big.bin"] != before["old/big.bin"] || after["twin3"] != before["twin1"] {
			t.Errorf("renamed files are new objects: before %v, after %v", before, after)
		}
		sameFiles(t, "after sync --track-renames", s.files(t, "dst"), map[string]string{"new/big.bin": big, "small.txt": "s", "twin2": "same", "twin3": "same"})

		// Without the flag: uploaded again, a new object.
		rename("new/big.bin", "big.bin")
		out = s.ok(t, "sync", "-v", src, s.at("dst"))
		wantOut(t, "sync", out, "big.bin: Copied (new)")
		if id := s.ids(t, "dst")["big.bin"]; id == before["old/big.bin"] {
			t.Errorf("without --track-renames the object was kept (%s): the test cannot tell", id)
		}

		// --track-renames-strategy leaf: the same name in another folder,
		// with another mtime, is taken for the file it was.
		rename("small.txt", "sub/small.txt")
		later := time.Now().Add(-time.Hour).Truncate(time.Second)
		if err := os.Chtimes(filepath.Join(src, "sub", "small.txt"), later, later); err != nil {
			t.Fatal(err)
		}
		out = s.ok(t, "sync", "-v", "--track-renames", "--track-renames-strategy", "leaf", src, s.at("dst"))
		wantOut(t, "sync --track-renames-strategy leaf", out, "sub/small.txt: Moved (renamed from small.txt)")
		if id := s.ids(t, "dst")["sub/small.txt"]; id != before["small.txt"] {
			t.Errorf("--track-renames-strategy leaf: a new object %s, was %s", id, before["small.txt"])
		}
		if code, errOut := s.run(t, "sync", "--track-renames", "--track-renames-strategy", "size", src, s.at("dst")); code != 1 || !strings.Contains(errOut, "--track-renames-strategy") {
			t.Errorf("--track-renames-strategy size: exit %d, want 1\n%s", code, errOut)
		}
	})
}
