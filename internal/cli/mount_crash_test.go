package cli

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ferry/megaserver/megaservertest"
)

// TestMountCrashKill9 kills a real "ferry mount" with SIGKILL while
// files copied into it are being uploaded (every upload request is held
// a while), clears the dead mount, mounts again with the same cache dir
// and waits for the journal replay. Then another MEGA client checks that
// every file whose close had returned is there, byte-exact, and that the
// files in flight at the kill were finished by the replay, not lost or
// left half-written. It runs with the default write-back (a close
// returns once the file is journalled, so the replay finishes closed
// files too) and with --vfs-write-back off (a close waits for its upload).
func TestMountCrashKill9(t *testing.T) {
	needFUSE(t)
	for _, wb := range []string{"0s", "off"} {
		t.Run("vfs-write-back "+wb, func(t *testing.T) { testMountCrashKill9(t, wb) })
	}
}

func testMountCrashKill9(t *testing.T, writeBack string) {
	bin := ferryBinary(t)
	srv, _ := megaCLI(t)
	var slow atomic.Bool
	proxy := megaservertest.StartProxy(t, srv.URL, megaservertest.ProxyConfig{Before: func(r *http.Request) {
		if slow.Load() && strings.HasPrefix(r.URL.Path, "/ul/") {
			time.Sleep(700 * time.Millisecond)
		}
	}})
	if code, _, errOut := runCLI(t, t.Context(), "", "config", "create", "m", "mega", "user="+megaservertest.UserV2, "pass="+megaservertest.PasswordV2, "url="+proxy.URL); code != 0 {
		t.Fatalf("config create: exit %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, t.Context(), "", "mkdir", "m:crash"); code != 0 {
		t.Fatalf("mkdir: exit %d %s", code, errOut)
	}

	// The files: 1 KiB to ~400 KiB (up to four upload chunks each).
	src := t.TempDir()
	const files, writers = 40, 4
	want := map[string][]byte{}
	for i := range files {
		b := make([]byte, 1024+i*10007)
		rand.Read(b)
		name := fmt.Sprintf("f%02d.bin", i)
		want[name] = b
		if err := os.WriteFile(filepath.Join(src, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	mnt := t.TempDir()
	first := startMountProc(t, bin, mnt, "mount", "m:crash", mnt, "--vfs-write-back", writeBack)
	slow.Store(true)
	logs := t.TempDir()
	var procs []*exec.Cmd
	for w := range writers {
		var names []string
		for i := w; i < files; i += writers {
			names = append(names, fmt.Sprintf("f%02d.bin", i))
		}
		// cp closes the copy before it exits: a name in the log is a file
		// whose close(2) returned 0.
		script := fmt.Sprintf("for f in %s; do cp %q/$f %q/$f && echo $f >> %q; done", strings.Join(names, " "), src, mnt, filepath.Join(logs, fmt.Sprint(w)))
		c := exec.Command("sh", "-c", script)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, c)
	}
	closed := func() []string {
		var out []string
		for w := range writers {
			b, _ := os.ReadFile(filepath.Join(logs, fmt.Sprint(w)))
			out = append(out, strings.Fields(string(b))...)
		}
		return out
	}
	journal := func() []string {
		a, _ := filepath.Glob(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "ferry", "vfs", "*", "journal", "*.json"))
		b, _ := filepath.Glob(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "ferry", "vfs", "*", "write-*", "*.json"))
		return append(a, b...)
	}
	// Kill once some files are closed and uploads are in flight (their
	// records are on disk).
	for deadline := time.Now().Add(2 * time.Minute); len(closed()) < 8 || len(journal()) < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d files closed, %d uploads in flight after 2 minutes:\n%s", len(closed()), len(journal()), first.out)
		}
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.wait(t, time.Minute)
	for _, c := range procs {
		c.Wait() // copies into the dead mount fail
	}
	if out, err := exec.Command("fusermount3", "-u", "-z", mnt).CombinedOutput(); err != nil {
		t.Fatalf("clearing the dead mount: %v %s", err, out)
	}
	done := closed()
	inFlight := len(journal())
	t.Logf("killed with %d files closed and %d uploads journalled", len(done), inFlight)
	if inFlight == 0 {
		t.Errorf("no journal record at the kill: no upload was in flight, so the replay is not tested")
	}

	// Mount again (uploads fast now) and wait for the replay.
	slow.Store(false)
	mnt2 := t.TempDir()
	second := startMountProc(t, bin, mnt2, "-v", "mount", "m:crash", mnt2)
	for deadline := time.Now().Add(2 * time.Minute); len(journal()) > 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("journal not replayed in 2 minutes: %v\n%s", journal(), second.out)
		}
	}
	second.cmd.Process.Signal(syscall.SIGTERM)
	if code := second.wait(t, time.Minute); code != 0 {
		t.Errorf("second mount: exit %d", code)
	}
	if !strings.Contains(second.out.String(), "vfs: replaying journalled uploads") {
		t.Errorf("-v shows no replay (the vfs's info logs):\n%s", second.out)
	}

	// Another client checks what MEGA has.
	c := otherClient(t, srv)
	stored := 0
	for name, data := range want {
		ns, err := c.Lookup("crash/" + name)
		if err != nil {
			continue // never started, or in flight before its data was journalled
		}
		if len(ns) != 1 {
			t.Errorf("%s: %d nodes, want 1", name, len(ns))
		}
		var got bytes.Buffer
		if err := c.Download(t.Context(), ns[0], &got); err != nil {
			t.Errorf("download %s: %v", name, err)
			continue
		}
		if !bytes.Equal(got.Bytes(), data) {
			t.Errorf("%s on MEGA: %d bytes, not the %d bytes written", name, got.Len(), len(data))
		}
		stored++
	}
	for _, name := range done {
		if ns, err := c.Lookup("crash/" + name); err != nil || len(ns) == 0 {
			t.Errorf("%s was closed before the kill but is not on MEGA: %v", name, err)
		}
	}
	// With write-back the closed files are among the journalled ones;
	// without it, a journalled file is one whose close had not returned.
	if want := len(done) + inFlight; writeBack != "off" && stored < max(len(done), inFlight) || writeBack == "off" && stored < want {
		t.Errorf("%d files on MEGA, want every one of the %d closed and the %d journalled at the kill", stored, len(done), inFlight)
	}
	t.Logf("on MEGA: %d files (%d closed before the kill, %d replayed from the journal)", stored, len(done), inFlight)
}
