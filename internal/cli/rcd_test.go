package cli

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRcdAndRc runs the daemon in-process and drives it with "ferry rc":
// a copy between local folders, its statistics, a listing, and errors.
// startRcd runs `ferry rcd` (with extra arguments, such as backend flags)
// on a free loopback port until the test ends, and returns its address.
// It expects a clean exit.
func startRcd(t *testing.T, extra ...string) string {
	t.Helper()
	t.Setenv("FERRY_RC_PASS", "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	out := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, append([]string{"rcd", "--rc-addr", addr}, extra...), Stdio{In: strings.NewReader(""), Out: out, Err: io.Discard})
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("rcd exit %d", code)
		}
	})
	waitFor(t, out, regexp.MustCompile(`remote control on (http://\S+)`))
	return addr
}

func TestRcdAndRc(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	addr := startRcd(t)

	src, dst := t.TempDir(), t.TempDir()
	for _, f := range []string{"a.txt", "sub/b.txt"} {
		p := filepath.Join(src, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("content of "+f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rc := func(args ...string) (int, map[string]any, string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, t.Context(), "", append([]string{"rc", "--rc-addr", addr}, args...)...)
		var m map[string]any
		if code == 0 {
			if err := json.Unmarshal([]byte(stdout), &m); err != nil {
				t.Fatalf("rc %v: %v in %q", args, err, stdout)
			}
		}
		return code, m, stderr
	}
	if code, _, errOut := rc("sync/copy", "srcFs="+src, "dstFs="+dst); code != 0 {
		t.Fatalf("sync/copy: exit %d: %s", code, errOut)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "sub", "b.txt")); err != nil || string(b) != "content of sub/b.txt" {
		t.Fatalf("copied file: %q, %v", b, err)
	}
	_, stats, _ := rc("core/stats")
	if stats["transfers"] != float64(2) || stats["retries"] != float64(0) {
		t.Errorf("core/stats = %v, want 2 transfers and 0 retries", stats)
	}
	_, list, _ := rc("operations/list", "fs="+dst, `opt={"recurse":true}`)
	if items, _ := list["list"].([]any); len(items) != 3 {
		t.Errorf("operations/list = %v, want 3 entries", list)
	}
	// An async job.
	_, job, _ := rc("sync/sync", "srcFs="+src, "dstFs="+dst, "_async=true")
	id := job["jobid"]
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, st, _ := rc("job/status", "jobid="+strings.TrimSuffix(strings.TrimSuffix(jsonString(id), ".0"), "\n"))
		if st["finished"] == true {
			if st["success"] != true {
				t.Errorf("job failed: %v", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job did not finish: %v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Errors: a missing path, an unknown call, a wrong password.
	if code, _, errOut := rc("operations/list", "fs="+filepath.Join(src, "nope")); code == 0 || !strings.Contains(errOut, "nope") {
		t.Errorf("list of a missing dir: exit %d, %q", code, errOut)
	}
	if code, _, errOut := rc("no/such"); code == 0 || !strings.Contains(errOut, "no/such") {
		t.Errorf("unknown call: exit %d, %q", code, errOut)
	}
	if code, _, errOut := rc("--rc-pass", "wrong", "rc/noop"); code == 0 || !strings.Contains(errOut, "401") {
		t.Errorf("wrong password: exit %d, %q", code, errOut)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
