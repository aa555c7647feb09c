package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/megaserver/megaservertest"
)

// restoreSource writes a small source with a nested dir, an empty dir, a
// symlink, an odd name and set modes and mtimes.
func restoreSource(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	randFile(t, filepath.Join(src, "big.bin"), 1, 900<<10)
	randFile(t, filepath.Join(src, "a", "b", "c.bin"), 2, 70<<10)
	os.WriteFile(filepath.Join(src, "a", "odd \xff name"), []byte("odd"), 0o600)
	os.Mkdir(filepath.Join(src, "empty"), 0o750)
	os.Symlink("a/b/c.bin", filepath.Join(src, "link"))
	mt := time.Date(2026, 11, 30, 1, 2, 3, 456789012, time.UTC)
	for _, p := range []string{"big.bin", "a/b/c.bin", "a/odd \xff name", "a/b", "a", "empty"} {
		os.Chtimes(filepath.Join(src, p), mt, mt)
	}
	return src
}

// diffTree fails t unless diff -r finds a and b equal and every entry has
// the same mtime and mode.
func diffTree(t *testing.T, a, b string) {
	t.Helper()
	if out, err := exec.Command("diff", "-r", "--no-dereference", a, b).CombinedOutput(); err != nil {
		t.Errorf("diff -r: %v\n%s", err, out)
	}
	filepath.Walk(a, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == a {
			return err
		}
		rel, _ := filepath.Rel(a, p)
		gi, err := os.Lstat(filepath.Join(b, rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		if fi.Mode() != gi.Mode() {
			t.Errorf("%s: mode %v, want %v", rel, gi.Mode(), fi.Mode())
		}
		if !fi.ModTime().Equal(gi.ModTime()) {
			t.Errorf("%s: mtime %v, want %v", rel, gi.ModTime(), fi.ModTime())
		}
		return nil
	})
}

// TestRestoreCommand backs up, changes a file, backs up again, and
// restores each snapshot (--snapshot, --time, the latest, --path), then
// reruns a restore into the same place: nothing is written again.
func TestRestoreCommand(t *testing.T) {
	backupEnv(t)
	src := restoreSource(t)
	repoDir := filepath.Join(t.TempDir(), "repo")
	code, first, errOut := backupRun(t, "backup", src, repoDir)
	if code != 0 {
		t.Fatalf("backup: exit %d\n%s", code, errOut)
	}
	ref1 := filepath.Join(t.TempDir(), "ref1")
	if out, err := exec.Command("cp", "-a", src, ref1).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v %s", err, out)
	}
	time.Sleep(10 * time.Millisecond)
	randFile(t, filepath.Join(src, "a", "b", "c.bin"), 3, 70<<10)
	code, second, errOut := backupRun(t, "backup", src, repoDir)
	if code != 0 || second.Snapshot == "" {
		t.Fatalf("second backup: exit %d\n%s", code, errOut)
	}

	restore := func(dest string, args ...string) restoreJSON {
		t.Helper()
		code, out, errOut := runCLI(t, t.Context(), "", append([]string{"restore", repoDir, dest, "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("restore %v: exit %d\n%s", args, code, errOut)
		}
		var doc restoreJSON
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("restore --json: %v\n%s", err, out)
		}
		return doc
	}
	d1 := filepath.Join(t.TempDir(), "r1")
	doc := restore(d1, "--snapshot", first.SnapshotShort)
	if doc.Snapshot != first.Snapshot || doc.Files != 3 || doc.Symlinks != 1 {
		t.Errorf("restore of snapshot 1: %+v", doc)
	}
	diffTree(t, ref1, d1)

	// --time between the two picks the first; no --time the second.
	d2 := filepath.Join(t.TempDir(), "r2")
	doc = restore(d2, "--time", first.EndTime.Add(time.Millisecond).Format(time.RFC3339Nano))
	if doc.Snapshot != first.Snapshot {
		t.Errorf("--time after the first backup restored %s, want %s", doc.Snapshot, first.Snapshot)
	}
	d3 := filepath.Join(t.TempDir(), "r3")
	if doc = restore(d3); doc.Snapshot != second.Snapshot {
		t.Errorf("restore restored %s, want the latest, %s", doc.Snapshot, second.Snapshot)
	}
	diffTree(t, src, d3)
	// Relative time: "1h" is before both snapshots.
	code, _, errOut = runCLI(t, t.Context(), "", "restore", repoDir, t.TempDir(), "--time", "1h")
	if code != 1 || !strings.Contains(errOut, "no snapshot") {
		t.Errorf("--time 1h: exit %d, %s", code, errOut)
	}

	// A rerun writes nothing.
	if doc = restore(d3); doc.FilesSkipped != 3 || doc.PackRanges != 0 {
		t.Errorf("rerun: %+v, want 3 files skipped and no pack read", doc)
	}

	// --path of a directory and of a file.
	d4 := t.TempDir()
	restore(d4, "--path", "a/b")
	diffTree(t, filepath.Join(src, "a", "b"), d4)
	d5 := t.TempDir()
	restore(d5, "--path", "big.bin")
	if a, b := readBytes(t, filepath.Join(src, "big.bin")), readBytes(t, filepath.Join(d5, "big.bin")); !bytes.Equal(a, b) {
		t.Error("--path big.bin: content differs")
	}

	// The text output.
	code, out, errOut := runCLI(t, t.Context(), "", "restore", repoDir, t.TempDir())
	if code != 0 || !strings.Contains(out, "Restored 3 files") || !strings.Contains(errOut, "restoring snapshot "+second.SnapshotShort) {
		t.Errorf("restore: exit %d\n%s\n%s", code, out, errOut)
	}
	// Bad input.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--snapshot", "ffffffff"}, "no such snapshot"},
		{[]string{"--time", "soon"}, `"soon"`},
		{[]string{"--path", "nope"}, `"nope" is not in the snapshot`},
	} {
		code, _, errOut := runCLI(t, t.Context(), "", append([]string{"restore", repoDir, t.TempDir()}, tc.args...)...)
		if code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("restore %v: exit %d, %q; want an error with %q", tc.args, code, errOut, tc.want)
		}
	}
}

func readBytes(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// firstObject returns the path of the first file below dir/sub.
func firstObject(t *testing.T, dir, sub string) string {
	t.Helper()
	var found string
	filepath.WalkDir(filepath.Join(dir, sub), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && found == "" && !strings.HasPrefix(d.Name(), ".") {
			found = p
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no object below %s", sub)
	}
	return found
}

func flipFileByte(t *testing.T, p string, off int64) func() {
	t.Helper()
	b := readBytes(t, p)
	orig := bytes.Clone(b)
	b[off] ^= 0x01
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return func() { os.WriteFile(p, orig, 0o644) }
}

// TestBackupVerifyCommand: a clean repository verifies; a flipped byte in
// a data pack, an index and a snapshot object each fails verify with
// exit code 1 and the object's name; --compare-data lists a changed file.
func TestBackupVerifyCommand(t *testing.T) {
	backupEnv(t)
	src := restoreSource(t)
	repoDir := filepath.Join(t.TempDir(), "repo")
	if code, _, errOut := backupRun(t, "backup", src, repoDir); code != 0 {
		t.Fatalf("backup: exit %d\n%s", code, errOut)
	}
	code, out, errOut := runCLI(t, t.Context(), "", "backup", "verify", repoDir, "--read-data-subset", "100%", "--compare-data", src)
	if code != 0 || !strings.Contains(out, "no problems found") || !strings.Contains(out, "0 differences") {
		t.Fatalf("verify of a clean repository: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, sub := range []string{"data", "index", "snapshots"} {
		t.Run(sub, func(t *testing.T) {
			p := firstObject(t, repoDir, sub)
			name, _ := filepath.Rel(repoDir, p)
			fi, _ := os.Stat(p)
			restore := flipFileByte(t, p, fi.Size()/2)
			defer restore()
			code, out, errOut := runCLI(t, t.Context(), "", "backup", "verify", repoDir, "--read-data-subset", "100%")
			if code != 1 || !strings.Contains(out, "damaged: "+filepath.ToSlash(name)) {
				t.Errorf("verify with a flipped byte in %s: exit %d, want 1 naming it\n%s\n%s", name, code, out, errOut)
			}
		})
	}
	// The source changes: compare-data says where.
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(filepath.Join(src, "a", "odd \xff name"), []byte("ODD"), 0o600)
	code, out, _ = runCLI(t, t.Context(), "", "backup", "verify", repoDir, "--compare-data", src)
	if code != 1 || !strings.Contains(out, "differs: a/odd \xff name: mtime") || !strings.Contains(out, "content differs at byte 0") || !strings.Contains(out, "2 differences") {
		t.Errorf("compare-data of a changed source: exit %d\n%s", code, out)
	}
}

// TestBackupForgetPrune: forget by policy (dry run first), then --prune
// twice with --grace 0: the repository shrinks and the kept snapshot
// restores.
func TestBackupForgetPrune(t *testing.T) {
	backupEnv(t)
	src := restoreSource(t)
	repoDir := filepath.Join(t.TempDir(), "repo")
	var snaps []string
	for i := range 3 {
		randFile(t, filepath.Join(src, "big.bin"), uint64(10+i), 900<<10)
		code, doc, errOut := backupRun(t, "backup", src, repoDir)
		if code != 0 || doc.Snapshot == "" {
			t.Fatalf("backup %d: exit %d\n%s", i, code, errOut)
		}
		snaps = append(snaps, doc.SnapshotShort)
	}
	size := func() int64 {
		var n int64
		filepath.Walk(repoDir, func(_ string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				n += fi.Size()
			}
			return nil
		})
		return n
	}
	before := size()
	code, out, errOut := runCLI(t, t.Context(), "", "backup", "forget", repoDir, "--keep-last", "1", "--dry-run")
	if code != 0 || !strings.Contains(out, "keep 1, remove 2") || !strings.Contains(out, "dry run") {
		t.Fatalf("forget --dry-run: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, t.Context(), "", "backup", "snapshots", repoDir)
	if code != 0 || !strings.Contains(out, snaps[0]) {
		t.Fatalf("dry run removed a snapshot:\n%s", out)
	}
	code, out, errOut = runCLI(t, t.Context(), "", "backup", "forget", repoDir, "--keep-last", "1", "--prune", "--grace", "0")
	if code != 0 || !strings.Contains(out, "removed 2 snapshots") || !strings.Contains(out, "phase 1:") {
		t.Fatalf("forget --prune: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, t.Context(), "", "backup", "prune", repoDir, "--grace", "0")
	if code != 0 {
		t.Fatalf("prune: exit %d\n%s\n%s", code, out, errOut)
	}
	after := size()
	if after >= before-900<<10 {
		t.Errorf("repository %d bytes before, %d after forget and prune: want at least one big.bin freed\n%s", before, after, out)
	}
	d := t.TempDir()
	if code, _, errOut := runCLI(t, t.Context(), "", "restore", repoDir, d, "--snapshot", snaps[2]); code != 0 {
		t.Fatalf("restore after prune: exit %d\n%s", code, errOut)
	}
	diffTree(t, src, d)
	if code, out, errOut := runCLI(t, t.Context(), "", "backup", "verify", repoDir, "--read-data-subset", "100%"); code != 0 {
		t.Errorf("verify after prune: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, t.Context(), "", "backup", "forget", repoDir); code != 1 || !strings.Contains(errOut, "needs a policy") {
		t.Errorf("forget without a policy: exit %d, %s", code, errOut)
	}
}

// TestBackupKeyCommands: add a key, open with it, change its password,
// remove the first key; the last key and the key in use are refused.
func TestBackupKeyCommands(t *testing.T) {
	backupEnv(t)
	src := restoreSource(t)
	repoDir := filepath.Join(t.TempDir(), "repo")
	if code, _, errOut := backupRun(t, "backup", src, repoDir); code != 0 {
		t.Fatalf("backup: exit %d\n%s", code, errOut)
	}
	pwFile := filepath.Join(t.TempDir(), "pw2")
	os.WriteFile(pwFile, []byte("second password\n"), 0o600)
	code, out, errOut := runCLI(t, t.Context(), "", "backup", "key", "add", repoDir, "--new-password-file", pwFile)
	if code != 0 || !strings.Contains(out, "added key") {
		t.Fatalf("key add: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, t.Context(), "", "backup", "key", "list", repoDir, "--json")
	var keys []keyJSON
	if err := json.Unmarshal([]byte(out), &keys); err != nil || code != 0 || len(keys) != 2 {
		t.Fatalf("key list: exit %d, %v\n%s", code, err, out)
	}
	var first string
	for _, k := range keys {
		if k.Current {
			first = k.ID
		}
	}
	// The new password opens the repository.
	if code, _, errOut := runCLI(t, t.Context(), "", "backup", "snapshots", repoDir, "--password-file", pwFile); code != 0 {
		t.Fatalf("snapshots with the second password: exit %d\n%s", code, errOut)
	}
	// The key in use cannot be removed; through the other it can.
	code, _, errOut = runCLI(t, t.Context(), "", "backup", "key", "remove", repoDir, first[:8])
	if code == 0 || !strings.Contains(errOut, "in use") {
		t.Errorf("removing the key in use: exit %d, %s", code, errOut)
	}
	code, out, errOut = runCLI(t, t.Context(), "", "backup", "key", "remove", repoDir, first[:8], "--password-file", pwFile)
	if code != 0 || !strings.Contains(out, "removed key "+first[:8]) {
		t.Fatalf("key remove: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, _ := runCLI(t, t.Context(), "", "backup", "snapshots", repoDir); code != 7 {
		t.Errorf("the removed key's password: exit %d, want 7 (wrong password)", code)
	}
	// passwd replaces the key in use.
	pw3 := filepath.Join(t.TempDir(), "pw3")
	os.WriteFile(pw3, []byte("third"), 0o600)
	code, out, errOut = runCLI(t, t.Context(), "", "backup", "key", "passwd", repoDir, "--password-file", pwFile, "--new-password-file", pw3)
	if code != 0 || !strings.Contains(out, "changed the password") {
		t.Fatalf("key passwd: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, _ := runCLI(t, t.Context(), "", "backup", "snapshots", repoDir, "--password-file", pwFile); code != 7 {
		t.Errorf("the old password after passwd: exit %d, want 7", code)
	}
	code, out, _ = runCLI(t, t.Context(), "", "backup", "key", "list", repoDir, "--password-file", pw3)
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "*") {
		t.Errorf("key list after passwd: exit %d\n%s", code, out)
	}
	// The last key cannot go (it is also the one in use).
	code, _, errOut = runCLI(t, t.Context(), "", "backup", "key", "remove", repoDir, "0", "--password-file", pw3)
	if code == 0 {
		t.Errorf("key remove of an unknown prefix: exit 0 (%s)", errOut)
	}
}

// TestRestoreCommandMega restores from a mega remote on the loopback
// server with faults on: the retries hide them and the result is exact.
func TestRestoreCommandMega(t *testing.T) {
	_, flags := megaCLI(t, megaservertest.WithFaults("eagain=0.05,http500=0.02,drop=0.01"))
	t.Setenv(envBackupPassword, testBackupPassword)
	src := restoreSource(t)
	if code, _, errOut := backupRun(t, append(flags, "backup", src, ":mega:backups/r")...); code != 0 {
		t.Fatalf("backup: exit %d\n%s", code, errOut)
	}
	d := filepath.Join(t.TempDir(), "r")
	code, out, errOut := runCLI(t, t.Context(), "", append(flags, "restore", ":mega:backups/r", d)...)
	if code != 0 {
		t.Fatalf("restore: exit %d\n%s%s", code, out, errOut)
	}
	diffTree(t, src, d)
	code, out, errOut = runCLI(t, t.Context(), "", append(flags, "backup", "verify", ":mega:backups/r", "--read-data-subset", "100%", "--compare-data", src)...)
	if code != 0 {
		t.Errorf("verify: exit %d\n%s%s", code, out, errOut)
	}
	fmt.Fprint(t.Output(), out)
}
