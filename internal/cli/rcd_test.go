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

// TestRcTransferOptions drives sync/copy and sync/sync through "ferry rc"
// with rclone's _config and _filter objects: each option must change what
// the run does, as its flag does on the command line.
func TestRcTransferOptions(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	addr := startRcd(t)
	rc := func(args ...string) (int, string) {
		t.Helper()
		code, _, stderr := runCLI(t, t.Context(), "", append([]string{"rc", "--rc-addr", addr}, args...)...)
		return code, stderr
	}
	write := func(dir string, files ...string) {
		t.Helper()
		for _, f := range files {
			p := filepath.Join(dir, f)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("content of "+f), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	exists := func(p string) bool {
		_, err := os.Stat(p)
		return err == nil
	}
	src := t.TempDir()
	write(src, "a.txt", "b.jpg", "sub/c.jpg", "empty/.keep")
	os.Remove(filepath.Join(src, "empty", ".keep"))

	// _config DryRun: nothing is written.
	dry := t.TempDir()
	if code, errOut := rc("sync/copy", "srcFs="+src, "dstFs="+dry, `_config={"DryRun":true}`); code != 0 {
		t.Fatalf("dry run: exit %d: %s", code, errOut)
	}
	if entries, _ := os.ReadDir(dry); len(entries) != 0 {
		t.Errorf("a dry run wrote %d entries", len(entries))
	}
	// _filter IncludeRule and createEmptySrcDirs.
	dst := t.TempDir()
	if code, errOut := rc("sync/copy", "srcFs="+src, "dstFs="+dst, `_filter={"IncludeRule":["*.jpg"]}`, "createEmptySrcDirs=true"); code != 0 {
		t.Fatalf("filtered copy: exit %d: %s", code, errOut)
	}
	if exists(filepath.Join(dst, "a.txt")) || !exists(filepath.Join(dst, "b.jpg")) || !exists(filepath.Join(dst, "sub", "c.jpg")) || !exists(filepath.Join(dst, "empty")) {
		t.Errorf("IncludeRule *.jpg with createEmptySrcDirs: got %v", listTree(t, dst))
	}
	// _config MaxDelete 0: sync refuses to delete the extra file.
	write(dst, "extra.bin")
	if code, errOut := rc("sync/sync", "srcFs="+src, "dstFs="+dst, `_config={"MaxDelete":0}`); code == 0 || !exists(filepath.Join(dst, "extra.bin")) {
		t.Errorf("MaxDelete 0: exit %d (%s), extra.bin kept: %v", code, errOut, exists(filepath.Join(dst, "extra.bin")))
	}
	// _config BackupDir: the deleted file moves there instead.
	if code, errOut := rc("sync/sync", "srcFs="+src, "dstFs="+filepath.Join(dst, "sub"), `_config={"BackupDir":"`+filepath.Join(dst, "old")+`","Suffix":".bak"}`); code != 0 {
		t.Fatalf("BackupDir: exit %d: %s", code, errOut)
	}
	if !exists(filepath.Join(dst, "old", "c.jpg.bak")) || exists(filepath.Join(dst, "sub", "c.jpg")) || !exists(filepath.Join(dst, "sub", "a.txt")) {
		t.Errorf("BackupDir: got %v", listTree(t, dst))
	}
	// Mistakes name the option.
	for _, c := range []struct{ arg, want string }{
		{`_config={"NoSuchOption":1}`, "_config.NoSuchOption"},
		{`_config={"Progress":true}`, "_config.Progress"},
		{`_config={"Transfers":"many"}`, "_config.Transfers"},
		{`_filter={"IncludeRule":["[x"]}`, "_filter"},
		{`_config={"DeleteMode":7}`, "_config.DeleteMode"},
	} {
		if code, errOut := rc("sync/copy", "srcFs="+src, "dstFs="+t.TempDir(), c.arg); code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, %q; want an error naming %s", c.arg, code, errOut, c.want)
		}
	}
}

// listTree lists the paths under dir, for failure messages.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if rel, _ := filepath.Rel(dir, p); rel != "." {
			out = append(out, rel)
		}
		return nil
	})
	return out
}
