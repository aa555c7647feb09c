package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ferry/internal/backend/local"
	"ferry/internal/backup/repo"
	"ferry/internal/backup/tree"
	"ferry/mediafireserver/mediafireservertest"
	"ferry/megaserver/megaservertest"
)

const testBackupPassword = "backup test password"

// backupEnv gives the test its own config and cache dirs and the
// repository password in the environment.
func backupEnv(t *testing.T) {
	t.Helper()
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("FERRY_CACHE_DIR", "")
	t.Setenv(envBackupPassword, testBackupPassword)
}

// backupRun runs a ferry backup command with --json and decodes its
// document.
func backupRun(t *testing.T, args ...string) (int, backupJSON, string) {
	t.Helper()
	code, out, errOut := runCLI(t, t.Context(), "", append(args, "--json")...)
	var doc backupJSON
	if out != "" {
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v: output is not JSON: %v\n%s\nstderr:\n%s", args, err, out, errOut)
		}
	}
	return code, doc, errOut
}

func randFile(t *testing.T, p string, seed uint64, n int) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// countObjects counts the objects below dir, and those below dir/sub
// (not the local backend's temporary files, ".ferry-tmp-*").
func countObjects(t *testing.T, dir, sub string) (all, inSub int) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			all++
			if strings.HasPrefix(p, filepath.Join(dir, sub)+"/") {
				inSub++
			}
		}
		return nil
	})
	return all, inSub
}

// checkSnapshot opens the repository at dir and checks that its latest
// snapshot holds every file of want (relative path -> content).
func checkSnapshot(t *testing.T, dir string, want map[string][]byte) {
	t.Helper()
	be, err := local.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(t.Context(), be, []byte(testBackupPassword), repo.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := r.Snapshots(t.Context())
	if err != nil || len(snaps) == 0 {
		t.Fatalf("snapshots: %v, %v", snaps, err)
	}
	got := map[string][]byte{}
	var walk func(id repo.ID, prefix string)
	walk = func(id repo.ID, prefix string) {
		b, err := r.LoadBlob(t.Context(), repo.TreeBlob, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := tree.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range tr.Nodes {
			p := prefix + string(n.Name)
			switch n.Type {
			case tree.Dir:
				walk(n.Subtree, p+"/")
			case tree.File:
				var data []byte
				for _, id := range n.Content {
					b, err := r.LoadBlob(t.Context(), repo.DataBlob, id, nil)
					if err != nil {
						t.Fatalf("%s: %v", p, err)
					}
					data = append(data, b...)
				}
				got[p] = data
			}
		}
	}
	walk(snaps[len(snaps)-1].Tree, "")
	for p, w := range want {
		if !bytes.Equal(got[p], w) {
			t.Errorf("%s: %d bytes in the snapshot, want %d (equal: %v)", p, len(got[p]), len(w), bytes.Equal(got[p], w))
		}
	}
	if len(got) != len(want) {
		t.Errorf("snapshot has %d files, want %d", len(got), len(want))
	}
}

// TestBackupCommand: the first run creates the repository; a run with no
// change writes no object and downloads none; a small change writes at
// most 4 objects; snapshots and ls show both snapshots and the odd names.
func TestBackupCommand(t *testing.T) {
	backupEnv(t)
	src, repoDir := t.TempDir(), filepath.Join(t.TempDir(), "repo")
	want := map[string][]byte{}
	for i := range 20 {
		p := fmt.Sprintf("dir%d/f%02d.bin", i%3, i)
		want[p] = randFile(t, filepath.Join(src, p), uint64(i), 1000+i*20000)
	}
	odd := "odd \xff name\nwith newline"
	want[odd] = randFile(t, filepath.Join(src, odd), 99, 10)
	if err := os.Mkdir(filepath.Join(src, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}

	code, first, errOut := backupRun(t, "backup", src, repoDir)
	if code != 0 || first.Snapshot == "" || !strings.Contains(errOut, "created repository") {
		t.Fatalf("first backup: exit %d, %+v\n%s", code, first, errOut)
	}
	if first.NewFiles != 21+4 || first.SourceFiles != 25 {
		t.Errorf("first backup: new %d, source files %d; want 25 (21 files, 4 dirs)", first.NewFiles, first.SourceFiles)
	}
	checkSnapshot(t, repoDir, want)

	before, _ := countObjects(t, repoDir, "")
	code, none, errOut := backupRun(t, "backup", src, repoDir)
	if code != 0 || none.Snapshot != "" || !none.Unchanged {
		t.Fatalf("no-change backup: exit %d, %+v\n%s", code, none, errOut)
	}
	if after, _ := countObjects(t, repoDir, ""); after != before || none.ObjectsWritten != 0 {
		t.Errorf("no-change backup: objects %d -> %d, objects_written %d; want none", before, after, none.ObjectsWritten)
	}
	// Opening reads the config and the key (the password's check); the
	// index, the snapshots and the trees come from the local cache.
	if none.ObjectsRead > 2 || none.RawDeltaSize != 0 {
		t.Errorf("no-change backup read %d objects, %d new bytes; want <= 2 (config, key) and 0", none.ObjectsRead, none.RawDeltaSize)
	}

	// A small incremental: one file changed, one added.
	want["dir0/f00.bin"] = randFile(t, filepath.Join(src, "dir0/f00.bin"), 1000, 5000)
	want["new.txt"] = []byte("new file\n")
	os.WriteFile(filepath.Join(src, "new.txt"), want["new.txt"], 0o644)
	code, inc, errOut := backupRun(t, "backup", src, repoDir)
	if code != 0 || inc.Snapshot == "" || inc.Parent != first.Snapshot {
		t.Fatalf("incremental: exit %d, %+v\n%s", code, inc, errOut)
	}
	if inc.ObjectsWritten > 4 || inc.NewFiles != 1 || inc.ChangedFiles < 1 {
		t.Errorf("incremental: %d objects written (want <= 4), new %d, changed %d", inc.ObjectsWritten, inc.NewFiles, inc.ChangedFiles)
	}
	checkSnapshot(t, repoDir, want)

	// The text block.
	os.WriteFile(filepath.Join(src, "new.txt"), []byte("changed again\n"), 0o644)
	want["new.txt"] = []byte("changed again\n")
	code, out, errOut := runCLI(t, t.Context(), "", "backup", src, repoDir)
	for _, line := range []string{"--------------[ Backup Statistics ]--------------", "ChangedFiles 1\n", "Errors 0\n", "Snapshot "} {
		if code != 0 || !strings.Contains(out, line) {
			t.Errorf("text output lacks %q: exit %d\n%s\n%s", line, code, out, errOut)
		}
	}

	code, out, errOut = runCLI(t, t.Context(), "", "backup", "snapshots", repoDir)
	if code != 0 || !strings.Contains(out, first.SnapshotShort) || !strings.Contains(out, inc.SnapshotShort) || !strings.Contains(out, "3 snapshot(s)") {
		t.Errorf("snapshots: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, t.Context(), "", "backup", "snapshots", repoDir, "--json")
	var list []snapshotJSON
	if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list) != 3 || list[0].ID != first.Snapshot {
		t.Errorf("snapshots --json: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}

	code, out, errOut = runCLI(t, t.Context(), "", "backup", "ls", repoDir, "--snapshot", first.SnapshotShort)
	for _, w := range []string{"/dir1/f01.bin", `"/odd \xff name\nwith newline"`, "/emptydir"} {
		if code != 0 || !strings.Contains(out, w) {
			t.Errorf("ls lacks %q: exit %d\n%s\n%s", w, code, out, errOut)
		}
	}
	if strings.Contains(out, "/new.txt") {
		t.Errorf("ls of the first snapshot shows new.txt:\n%s", out)
	}
	code, out, _ = runCLI(t, t.Context(), "", "backup", "ls", repoDir, "dir2", "--json")
	var ls struct{ Nodes []lsNodeJSON }
	if err := json.Unmarshal([]byte(out), &ls); code != 0 || err != nil || len(ls.Nodes) != 6 || !strings.HasPrefix(ls.Nodes[0].Path, "/dir2/") {
		t.Errorf("ls dir2 --json: exit %d, %v, %+v", code, err, ls.Nodes)
	}
}

// TestBackupPasswords: --password-file and the environment work, a wrong
// password is exit 7 naming the problem, no password source on a
// non-terminal is a usage error.
func TestBackupPasswords(t *testing.T) {
	backupEnv(t)
	src, repoDir := t.TempDir(), filepath.Join(t.TempDir(), "repo")
	os.WriteFile(filepath.Join(src, "a"), []byte("a"), 0o644)
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte(testBackupPassword+"\n"), 0o600)
	t.Setenv(envBackupPassword, "")
	if code, _, errOut := runCLI(t, t.Context(), "", "backup", src, repoDir); code != exitUsage || !strings.Contains(errOut, "--password-file") {
		t.Errorf("no password: exit %d, %q; want %d naming --password-file", code, errOut, exitUsage)
	}
	if code, _, errOut := runCLI(t, t.Context(), "", "backup", "--password-file", pwFile, src, repoDir); code != 0 {
		t.Fatalf("--password-file: exit %d\n%s", code, errOut)
	}
	t.Setenv(envBackupPassword, testBackupPassword)
	if code, _, errOut := runCLI(t, t.Context(), "", "backup", "snapshots", repoDir); code != 0 {
		t.Errorf("env password: exit %d\n%s", code, errOut)
	}
	t.Setenv(envBackupPassword, "wrong")
	code, _, errOut := runCLI(t, t.Context(), "", "backup", src, repoDir)
	if code != exitFatal || !strings.Contains(errOut, "wrong password") || strings.Contains(errOut, "wrong\n") {
		t.Errorf("wrong password: exit %d, %q; want %d saying wrong password", code, errOut, exitFatal)
	}
	if code, _, errOut := runCLI(t, t.Context(), "", "backup", "snapshots", filepath.Join(t.TempDir(), "none")); code != exitUsage || !strings.Contains(errOut, "no repository here") {
		t.Errorf("snapshots of no repository: exit %d, %q", code, errOut)
	}
}

// TestBackupUnreadableExit3 runs a real ferry as an unprivileged user
// over a source with a file it cannot read: exit 3, the file named, and
// the snapshot written with the rest.
func TestBackupUnreadableExit3(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run ferry as another user")
	}
	base, err := os.MkdirTemp("", "ferry-backup-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o777)
	// A copy of the binary the other user can run.
	exe, err := os.ReadFile(ferryBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "ferry")
	if err := os.WriteFile(bin, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(base, "src")
	os.Mkdir(src, 0o777)
	os.WriteFile(filepath.Join(src, "ok.txt"), []byte("readable"), 0o644)
	os.WriteFile(filepath.Join(src, "secret.txt"), []byte("not for nobody"), 0o600)
	repoDir := filepath.Join(base, "repo")
	cmd := exec.Command(bin, "backup", src, repoDir)
	cmd.Env = append(os.Environ(), envBackupPassword+"="+testBackupPassword, "XDG_CACHE_HOME="+filepath.Join(base, "cache"),
		"XDG_CONFIG_HOME="+filepath.Join(base, "config"), "HOME="+base)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if code != exitPartial || !strings.Contains(errb.String(), "secret.txt") || !strings.Contains(out.String(), "Errors 1\n") {
		t.Fatalf("exit %d (%v), want %d naming secret.txt\nstdout:\n%s\nstderr:\n%s", code, err, exitPartial, out.String(), errb.String())
	}
	checkSnapshot(t, repoDir, map[string][]byte{"ok.txt": []byte("readable")})
}

// TestBackupKill9 kills a real ferry backup with SIGKILL once some packs
// are uploaded, then runs it again: the packs of the killed run are
// reused (their data is not stored again) and the snapshot is complete.
func TestBackupKill9(t *testing.T) {
	backupEnv(t)
	bin := ferryBinary(t)
	src, repoDir := t.TempDir(), filepath.Join(t.TempDir(), "repo")
	want := map[string][]byte{}
	const files, size = 24, 4 << 20
	for i := range files {
		p := fmt.Sprintf("f%02d.bin", i)
		want[p] = randFile(t, filepath.Join(src, p), uint64(i)+500, size)
	}
	cmd := exec.Command(bin, "backup", "--pack-size", "1", src, repoDir)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if _, n := countObjects(t, repoDir, "data"); n >= 6 {
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
			break
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("no 6 packs in a minute:\n%s", errb.String())
	}
	if _, snaps := countObjects(t, repoDir, "snapshots"); snaps != 0 {
		t.Skipf("the backup finished before the kill (%d snapshot): the machine is too fast for this source", snaps)
	}
	_, packsAtKill := countObjects(t, repoDir, "data")
	t.Logf("killed with %d data packs uploaded", packsAtKill)

	code, doc, errOut := backupRun(t, "backup", "--pack-size", "1", src, repoDir)
	if code != 0 || doc.Snapshot == "" {
		t.Fatalf("rerun: exit %d %+v\n%s", code, doc, errOut)
	}
	// What the killed run uploaded is not stored again: the rerun stores
	// at most the source minus the killed run's packs (1 MiB each, less
	// the last one's slack).
	total := int64(files * size)
	if limit := total - int64(packsAtKill-1)<<20; doc.RawDeltaSize > limit || doc.DedupSavings < int64(packsAtKill-1)<<20 {
		t.Errorf("rerun stored %d new bytes (limit %d), dedup savings %d", doc.RawDeltaSize, limit, doc.DedupSavings)
	}
	if _, packs := countObjects(t, repoDir, "data"); packs > files*size>>20+files+2 {
		t.Errorf("%d data packs for %d MiB of data", packs, files*size>>20)
	}
	checkSnapshot(t, repoDir, want)
}

// TestBackupConcurrent: two backups of different sources into one
// repository at the same time both succeed and both snapshots list.
func TestBackupConcurrent(t *testing.T) {
	backupEnv(t)
	repoDir := filepath.Join(t.TempDir(), "repo")
	seed := t.TempDir()
	os.WriteFile(filepath.Join(seed, "seed"), []byte("seed"), 0o644)
	if code, _, errOut := runCLI(t, t.Context(), "", "backup", seed, repoDir); code != 0 {
		t.Fatalf("first backup: exit %d\n%s", code, errOut)
	}
	srcs := []string{t.TempDir(), t.TempDir()}
	for i, s := range srcs {
		for j := range 8 {
			randFile(t, filepath.Join(s, fmt.Sprintf("f%d", j)), uint64(i*100+j), 300<<10)
		}
	}
	var wg sync.WaitGroup
	docs := make([]backupJSON, 2)
	codes := make([]int, 2)
	errs := make([]string, 2)
	for i, s := range srcs {
		wg.Go(func() {
			var out, errb bytes.Buffer
			codes[i] = Run(t.Context(), []string{"backup", "--json", "--pack-size", "1", s, repoDir}, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb})
			json.Unmarshal(out.Bytes(), &docs[i])
			errs[i] = errb.String()
		})
	}
	wg.Wait()
	for i := range srcs {
		if codes[i] != 0 || docs[i].Snapshot == "" {
			t.Errorf("backup %d: exit %d %+v\n%s", i, codes[i], docs[i], errs[i])
		}
	}
	code, out, errOut := runCLI(t, t.Context(), "", "backup", "snapshots", repoDir)
	if code != 0 || !strings.Contains(out, "3 snapshot(s)") || !strings.Contains(out, docs[0].SnapshotShort) || !strings.Contains(out, docs[1].SnapshotShort) {
		t.Errorf("snapshots: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestBackupMegaLogins: 100 backups to a mega remote on the loopback
// server make one login; the ones after the first use the cached session.
func TestBackupMegaLogins(t *testing.T) {
	srv, _ := megaCLI(t)
	t.Setenv(envBackupPassword, testBackupPassword)
	if code, _, errOut := runCLI(t, t.Context(), "", "config", "create", "m", "mega", "user="+megaservertest.UserV2,
		"pass="+megaservertest.PasswordV2, "url="+srv.URL); code != 0 {
		t.Fatalf("config create: exit %d %s", code, errOut)
	}
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("first"), 0o644)
	const runs = 100
	snaps := 0
	for i := range runs {
		if i%10 == 5 {
			os.WriteFile(filepath.Join(src, "a.txt"), fmt.Appendf(nil, "run %d", i), 0o644)
		}
		code, doc, errOut := backupRun(t, "backup", src, "m:backups/b")
		if code != 0 {
			t.Fatalf("backup %d: exit %d\n%s", i, code, errOut)
		}
		if doc.Snapshot != "" {
			snaps++
		}
		if i == runs-1 {
			t.Logf("a no-change run: %d requests, %d objects read, %d written, %.2fs", doc.Requests, doc.ObjectsRead, doc.ObjectsWritten, doc.ElapsedTime)
			if doc.ObjectsWritten != 0 {
				t.Errorf("a no-change run wrote %d objects", doc.ObjectsWritten)
			}
		}
	}
	if snaps != 11 {
		t.Errorf("%d snapshots written, want 11 (the first and one per change)", snaps)
	}
	if n := srv.Server.Logins(megaservertest.UserV2); n != 1 {
		t.Errorf("%d logins for %d backups, want 1", n, runs)
	}
}

// TestBackupPasswordPrompt: on a terminal with no other password source,
// a new repository asks twice without echo (a mismatch is refused) and an
// existing one once.
func TestBackupPasswordPrompt(t *testing.T) {
	backupEnv(t)
	t.Setenv(envBackupPassword, "")
	src, repoDir := t.TempDir(), filepath.Join(t.TempDir(), "repo")
	os.WriteFile(filepath.Join(src, "a"), []byte("a"), 0o644)
	run := func(c *console, args ...string) chan int {
		code := make(chan int, 1)
		go func() { code <- Run(t.Context(), args, Stdio{In: c.tty, Out: c.tty, Err: c.tty}) }()
		return code
	}
	wait := func(code chan int) int {
		select {
		case n := <-code:
			return n
		case <-time.After(time.Minute):
			t.Fatal("ferry did not finish in a minute")
		}
		return -1
	}

	c := newConsole(t)
	code := run(c, "backup", src, repoDir)
	c.expect("enter password for new repository: ")
	c.sendSecret("one")
	c.expect("enter password again: ")
	c.sendSecret("two")
	if n := wait(code); n != exitUsage {
		t.Fatalf("mismatched passwords: exit %d, want %d\n%s", n, exitUsage, c.out.String())
	}
	c.expect("do not match")

	code = run(c, "backup", src, repoDir)
	c.expect("enter password for new repository: ")
	c.sendSecret(testBackupPassword)
	c.expect("enter password again: ")
	c.sendSecret(testBackupPassword)
	if n := wait(code); n != 0 {
		t.Fatalf("new repository: exit %d\n%s", n, c.out.String())
	}
	c.expect("Snapshot ")

	code = run(c, "backup", "snapshots", repoDir)
	c.expect("enter password for repository: ")
	c.sendSecret(testBackupPassword)
	if n := wait(code); n != 0 {
		t.Fatalf("snapshots: exit %d\n%s", n, c.out.String())
	}
	c.expect("1 snapshot(s)")
	if strings.Contains(c.out.String(), testBackupPassword) {
		t.Error("the password was echoed")
	}
}

// TestBackupOptions: --dry-run stores nothing, --exclude leaves paths
// out, several sources are stored by base name, --tag and --host are
// recorded, -P draws the progress line.
func TestBackupOptions(t *testing.T) {
	backupEnv(t)
	a, b := filepath.Join(t.TempDir(), "alpha"), filepath.Join(t.TempDir(), "beta")
	writeTree(t, a, map[string]string{"keep.txt": "keep", "skip.log": "skip", "cache/x": "x"})
	writeTree(t, b, map[string]string{"b.txt": "bee"})
	repoDir := filepath.Join(t.TempDir(), "repo")
	if code, _, errOut := runCLI(t, t.Context(), "", "backup", a, repoDir); code != 0 {
		t.Fatalf("first backup: exit %d\n%s", code, errOut)
	}
	before, _ := countObjects(t, repoDir, "")
	os.WriteFile(filepath.Join(a, "keep.txt"), []byte("changed"), 0o644)
	code, dry, errOut := backupRun(t, "backup", "--dry-run", a, repoDir)
	if after, _ := countObjects(t, repoDir, ""); code != 0 || !dry.DryRun || dry.Snapshot != "" || dry.ChangedFiles != 1 || after != before {
		t.Fatalf("dry run: exit %d, %+v, objects %d -> %d\n%s", code, dry, before, after, errOut)
	}
	code, doc, errOut := backupRun(t, "backup", "--exclude", "*.log", "--exclude", "/cache/**", "--tag", "nightly", "--host", "h1", a, b, repoDir)
	if code != 0 || doc.Snapshot == "" {
		t.Fatalf("two sources: exit %d %+v\n%s", code, doc, errOut)
	}
	code, out, _ := runCLI(t, t.Context(), "", "backup", "ls", repoDir, "--snapshot", doc.SnapshotShort)
	for _, w := range []string{"/alpha/keep.txt", "/beta/b.txt"} {
		if !strings.Contains(out, w) {
			t.Errorf("ls lacks %s:\n%s", w, out)
		}
	}
	if strings.Contains(out, "skip.log") || strings.Contains(out, "cache/x") {
		t.Errorf("excluded paths are in the snapshot:\n%s", out)
	}
	code, out, _ = runCLI(t, t.Context(), "", "backup", "snapshots", repoDir)
	if code != 0 || !strings.Contains(out, "nightly") || !strings.Contains(out, "h1") {
		t.Errorf("snapshots lack the tag or host:\n%s", out)
	}
	os.WriteFile(filepath.Join(b, "b.txt"), []byte("changed"), 0o644)
	code, _, errOut = runCLI(t, t.Context(), "", "backup", "-P", a, b, repoDir)
	if code != 0 || !strings.Contains(errOut, "Transferred:") {
		t.Errorf("-P: exit %d, no progress in stderr:\n%s", code, errOut)
	}
	// A repository inside the source is not backed up into itself.
	inner := filepath.Join(a, "repo")
	if code, _, errOut := runCLI(t, t.Context(), "", "backup", a, inner); code != 0 {
		t.Fatalf("repository inside the source: exit %d\n%s", code, errOut)
	}
	if code, doc, errOut := backupRun(t, "backup", a, inner); code != 0 || !doc.Unchanged {
		t.Errorf("repository inside the source: second run exit %d, unchanged %v (the repository was backed up)\n%s", code, doc.Unchanged, errOut)
	}
	if code, _, errOut := runCLI(t, t.Context(), "", "backup", a, filepath.Join(t.TempDir(), "x", "alpha"), repoDir); code != exitUsage || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing source: exit %d, %q", code, errOut)
	}
}

// TestBackupMediaFireURL: a backup to duplicity's mf:// URL on the
// MediaFire stand-in, then an incremental and a no-change run.
func TestBackupMediaFireURL(t *testing.T) {
	ts := mediafireCLI(t)
	t.Setenv("FTP_PASSWORD", mediafireservertest.Password)
	t.Setenv(envBackupPassword, testBackupPassword)
	url := "mf://" + strings.Replace(mediafireservertest.User, "@", "%40", 1) + "@mediafire.com/backups/host1"
	src := t.TempDir()
	writeTree(t, src, map[string]string{"a.txt": "alpha", "sub/b.txt": "bravo"})
	code, first, errOut := backupRun(t, "backup", "--mediafire-url", ts.URL, src, url)
	if code != 0 || first.Snapshot == "" {
		t.Fatalf("first backup: exit %d %+v\n%s", code, first, errOut)
	}
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("alpha 2"), 0o644)
	code, inc, errOut := backupRun(t, "backup", "--mediafire-url", ts.URL, src, url)
	if code != 0 || inc.Parent != first.Snapshot || inc.ObjectsWritten > 4 {
		t.Fatalf("incremental: exit %d %+v\n%s", code, inc, errOut)
	}
	code, none, errOut := backupRun(t, "backup", "--mediafire-url", ts.URL, src, url)
	if code != 0 || !none.Unchanged || none.ObjectsWritten != 0 {
		t.Fatalf("no change: exit %d %+v\n%s", code, none, errOut)
	}
	code, out, errOut := runCLI(t, t.Context(), "", "backup", "ls", "--mediafire-url", ts.URL, url)
	if code != 0 || !strings.Contains(out, "/sub/b.txt") || !strings.Contains(out, "/a.txt") {
		t.Errorf("ls: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestBackupMegaFaults: with the server failing a fifth of its calls
// (EAGAIN) and dropping some connections, a backup and an incremental
// succeed, and the retries show in the statistics.
func TestBackupMegaFaults(t *testing.T) {
	srv, _ := megaCLI(t, megaservertest.WithFaults("eagain=0.2,drop=0.05,seed=7"))
	t.Setenv(envBackupPassword, testBackupPassword)
	if code, _, errOut := runCLI(t, t.Context(), "", "config", "create", "m", "mega", "user="+megaservertest.UserV2,
		"pass="+megaservertest.PasswordV2, "url="+srv.URL); code != 0 {
		t.Fatalf("config create: exit %d %s", code, errOut)
	}
	src := t.TempDir()
	for i := range 6 {
		randFile(t, filepath.Join(src, fmt.Sprintf("d%d/f%d", i%2, i)), uint64(i)+77, 200<<10)
	}
	code, first, errOut := backupRun(t, "backup", src, "m:faulty")
	if code != 0 || first.Snapshot == "" {
		t.Fatalf("backup: exit %d %+v\n%s", code, first, errOut)
	}
	randFile(t, filepath.Join(src, "d0/f0"), 1234, 100<<10)
	code, inc, errOut := backupRun(t, "backup", src, "m:faulty")
	if code != 0 || inc.Parent != first.Snapshot {
		t.Fatalf("incremental: exit %d %+v\n%s", code, inc, errOut)
	}
	if first.Retries+inc.Retries == 0 {
		t.Errorf("no retries counted with faults on: %d, %d", first.Retries, inc.Retries)
	}
	code, out, errOut := runCLI(t, t.Context(), "", "backup", "ls", "m:faulty")
	if code != 0 || strings.Count(out, "\n") != 8 {
		t.Errorf("ls: exit %d, want 8 entries\n%s\n%s", code, out, errOut)
	}
}

// TestBackupMegaURL: duplicity's mega://user@mega.nz/path URLs work
// wherever a remote does (the password from $FTP_PASSWORD, the API
// server from $X_MEGA_API_URL), writable, and with the session cached per
// account: backups, a copy and a listing through the URL make one login.
func TestBackupMegaURL(t *testing.T) {
	srv, _ := megaCLI(t)
	t.Setenv("FTP_PASSWORD", megaservertest.PasswordV2)
	t.Setenv("X_MEGA_API_URL", srv.URL)
	t.Setenv(envBackupPassword, testBackupPassword)
	base := "mega://" + strings.Replace(megaservertest.UserV2, "@", "%40", 1) + "@mega.nz/"
	src := t.TempDir()
	writeTree(t, src, map[string]string{"a.txt": "alpha", "sub/b.txt": "bravo"})
	code, first, errOut := backupRun(t, "backup", src, base+"backups/host1")
	if code != 0 || first.Snapshot == "" {
		t.Fatalf("first backup: exit %d %+v\n%s", code, first, errOut)
	}
	code, none, errOut := backupRun(t, "backup", src, base+"backups/host1")
	if code != 0 || !none.Unchanged {
		t.Fatalf("no-change backup: exit %d %+v\n%s", code, none, errOut)
	}
	if code, _, errOut := runCLI(t, t.Context(), "", "copy", src, base+"plain"); code != 0 {
		t.Fatalf("copy to a mega:// URL: exit %d\n%s", code, errOut)
	}
	code, out, errOut := runCLI(t, t.Context(), "", "lsf", "-R", base+"plain")
	if code != 0 || !strings.Contains(out, "sub/b.txt") {
		t.Fatalf("lsf of a mega:// URL: exit %d\n%s%s", code, out, errOut)
	}
	if n := srv.Server.Logins(megaservertest.UserV2); n != 1 {
		t.Errorf("%d logins for four commands on one mega:// account, want 1", n)
	}
	t.Setenv("FTP_PASSWORD", "")
	if code, _, errOut := runCLI(t, t.Context(), "", "lsf", "mega://nobody%40example.com@mega.nz/x"); code == 0 || !strings.Contains(errOut, "FTP_PASSWORD") {
		t.Errorf("a mega:// URL without a password: exit %d, %s", code, errOut)
	}
}
