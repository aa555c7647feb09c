package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ferry/megaserver/megaservertest"
)

// TestMountUnmountUploadsFailed: a file whose upload failed during an
// upload outage (with --vfs-write-back off close reports the error; with
// write-back, fsync does) is uploaded when the mount ends after the
// outage, before the process exits, and leaves no journal record.
func TestMountUnmountUploadsFailed(t *testing.T) {
	needFUSE(t)
	for _, wb := range []string{"off", "0s"} {
		t.Run("vfs-write-back "+wb, func(t *testing.T) { testMountUnmountUploadsFailed(t, wb) })
	}
}

func testMountUnmountUploadsFailed(t *testing.T, writeBack string) {
	srv, _ := megaCLI(t)
	var outage atomic.Bool
	proxy := megaservertest.StartProxy(t, srv.URL, megaservertest.ProxyConfig{
		Reply: func(w http.ResponseWriter, r *http.Request, resp *http.Response) {
			if outage.Load() && strings.HasPrefix(r.URL.Path, "/ul/") {
				// Not retryable, so close fails at once rather than after
				// minutes of retries.
				http.Error(w, "outage", http.StatusForbidden)
				return
			}
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			io.Copy(w, resp.Body)
		},
	})
	if code, _, errOut := runCLI(t, t.Context(), "", "config", "create", "m", "mega", "user="+megaservertest.UserV2, "pass="+megaservertest.PasswordV2, "url="+proxy.URL); code != 0 {
		t.Fatalf("config create: exit %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, t.Context(), "", "mkdir", "m:box"); code != 0 {
		t.Fatalf("mkdir: exit %d %s", code, errOut)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	dir := t.TempDir()
	errb := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"mount", "m:box", dir, "--vfs-write-back", writeBack}, Stdio{In: strings.NewReader(""), Out: errb, Err: errb})
	}()
	waitForMount(t, errb, done)
	watchMount(t, dir, 0, 4*time.Minute)
	outage.Store(true)
	start := time.Now()
	src := filepath.Join(t.TempDir(), "late.txt")
	os.WriteFile(src, []byte("kept through the outage"), 0o600)
	// cp reports close's error (a shell's redirection does not). With
	// write-back the close succeeds (the file is journalled) and fsync
	// reports the error.
	cmd := fmt.Sprintf("cp %q %q/late.txt", src, dir)
	if writeBack != "off" {
		if out, err := exec.Command("sh", "-c", cmd).CombinedOutput(); err != nil {
			t.Fatalf("close with write-back during the outage: %v %s", err, out)
		}
		cmd = fmt.Sprintf("dd if=%q of=%q/late.txt conv=fsync status=none", src, dir)
	}
	out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
	t.Logf("%s during the outage after %v: %v %s", cmd, time.Since(start), err, out)
	if err == nil {
		t.Fatal("close (off) or fsync (write-back) during an upload outage succeeded")
	}
	journal := func() []string {
		a, _ := filepath.Glob(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "ferry", "vfs", "*", "journal", "*.json"))
		return a
	}
	if len(journal()) != 1 {
		t.Fatalf("journal after the failed close: %v", journal())
	}
	retried := regexp.MustCompile(`retr(ied|ying) in the background`)
	// The release after the close tries again (and fails): wait for it,
	// so only the attempt at unmount can upload the file.
	for deadline := time.Now().Add(time.Minute); !retried.MatchString(errb.String()); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no failed release logged:\n%s", errb)
		}
	}
	outage.Store(false)
	cancel() // Ctrl-C: the mount ends, after one more try
	if code := <-done; code != 0 {
		t.Fatalf("mount: exit %d\n%s", code, errb)
	}
	code, got, errOut := runCLI(t, t.Context(), "", "cat", "m:box/late.txt")
	if code != 0 || got != "kept through the outage" {
		t.Errorf("after the mount ended: exit %d %q %s", code, got, errOut)
	}
	if j := journal(); len(j) != 0 {
		t.Errorf("journal after the upload at unmount: %v", j)
	}
}
