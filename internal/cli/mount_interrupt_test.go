package cli

import (
	"bytes"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ferry/megaserver/megaservertest"
)

// TestMountCloseNotInterrupted: a signal caught by the thread blocked in
// close(2) while the mount uploads the file (the kernel then sends FUSE
// an INTERRUPT; Go programs get such signals all the time) neither fails
// the close with EINTR nor cancels the upload. The mount is served by
// the ferry binary, so this process may write to it.
func TestMountCloseNotInterrupted(t *testing.T) {
	needFUSE(t)
	bin := ferryBinary(t)
	srv, _ := megaCLI(t)
	proxy := megaservertest.StartProxy(t, srv.URL, megaservertest.ProxyConfig{Before: func(r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/ul/") {
			time.Sleep(time.Second) // the upload at close takes a while
		}
	}})
	if code, _, errOut := runCLI(t, t.Context(), "", "config", "create", "m", "mega", "user="+megaservertest.UserV2, "pass="+megaservertest.PasswordV2, "url="+proxy.URL); code != 0 {
		t.Fatalf("config create: exit %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, t.Context(), "", "mkdir", "m:box"); code != 0 {
		t.Fatalf("mkdir: exit %d %s", code, errOut)
	}
	mnt := t.TempDir()
	p := startMountProc(t, bin, mnt, "mount", "m:box", mnt, "--vfs-write-back", "off") // close waits for the upload

	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, syscall.SIGUSR1) // caught, so it interrupts the close
	defer signal.Stop(sigs)
	data := bytes.Repeat([]byte("interrupted? "), 10000)
	tids := make(chan int, 1)
	closed := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		f, err := os.Create(filepath.Join(mnt, "slow.bin"))
		if err == nil {
			_, err = f.Write(data)
		}
		if err != nil {
			tids <- 0
			closed <- err
			return
		}
		tids <- unix.Gettid()
		closed <- f.Close()
	}()
	tid := <-tids
	var err error
	sent := 0
	for done := false; !done; {
		select {
		case err = <-closed:
			done = true
		case <-time.After(200 * time.Millisecond):
			if tid != 0 {
				unix.Tgkill(os.Getpid(), tid, syscall.SIGUSR1)
				sent++
			}
		}
	}
	if err != nil {
		t.Fatalf("close with %d signals during the upload: %v", sent, err)
	}
	if sent == 0 {
		t.Fatal("close returned before any signal: the upload was not slow")
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(t, time.Minute)
	code, out, errOut := runCLI(t, t.Context(), "", "cat", "m:box/slow.bin")
	if code != 0 || out != string(data) {
		t.Errorf("file closed under signals: exit %d, %d bytes %s", code, len(out), errOut)
	}
}
