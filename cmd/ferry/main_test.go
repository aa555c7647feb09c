package main

// End-to-end tests: they build the ferry binary and run it as a user would,
// against a loopback MEGA server, with go-mega as an independent client.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gomega "github.com/t3rm1n4l/go-mega"

	"ferry/megaserver/megaservertest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// ferryBinary builds cmd/ferry once per test run.
func ferryBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ferry-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "ferry")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// env is one user's environment: private config and cache directories.
type env struct {
	t    *testing.T
	bin  string
	vars []string
}

func newEnv(t *testing.T) *env {
	home := t.TempDir()
	return &env{t: t, bin: ferryBinary(t), vars: []string{
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
		"PATH=" + os.Getenv("PATH"),
	}}
}

// run runs ferry and returns its exit code, stdout and stderr.
func (e *env) run(args ...string) (int, string, string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, args...)
	cmd.Env = e.vars
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			e.t.Fatalf("ferry %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return code, out.String(), errb.String()
}

// ok runs ferry and fails the test unless it exits 0.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	code, out, errOut := e.run(args...)
	if code != 0 {
		e.t.Fatalf("ferry %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// stats runs a transfer command with --json and decodes its statistics.
func (e *env) stats(args ...string) map[string]float64 {
	e.t.Helper()
	out := e.ok(append(args, "--json")...)
	var st map[string]float64
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		e.t.Fatalf("ferry %v --json: %v in %q", args, err, out)
	}
	return st
}

// makeTree writes n small files (1-4 KiB) in nested folders under dir.
func makeTree(t *testing.T, dir string, n int) []string {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 9))
	var files []string
	for i := range n {
		rel := filepath.Join(fmt.Sprintf("d%02d", i%20), fmt.Sprintf("s%d", i%3), fmt.Sprintf("file %04d.txt", i))
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data := make([]byte, 1024+rng.IntN(3072))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, rel)
	}
	return files
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	srv := megaservertest.Start(t, megaservertest.WithFaults("logins=20/min"))
	e := newEnv(t)
	e.ok("config", "create", "m", "mega", "user="+megaservertest.UserV2, "pass="+megaservertest.PasswordV2, "url="+srv.URL)

	src := t.TempDir()
	files := makeTree(t, src, 1000)

	if st := e.stats("copy", src, "m:tree", "--transfers", "8"); st["transfers"] != 1000 {
		t.Fatalf("first copy transferred %v files, want 1000", st["transfers"])
	}
	if st := e.stats("sync", src, "m:tree"); st["transfers"] != 0 {
		t.Fatalf("second sync transferred %v files, want 0 (mtimes not preserved?)", st["transfers"])
	}
	later := time.Now().Add(time.Hour).Truncate(time.Second)
	for _, rel := range files[:10] {
		p := filepath.Join(src, rel)
		if err := os.WriteFile(p, []byte("changed "+rel), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, later, later); err != nil {
			t.Fatal(err)
		}
	}
	if st := e.stats("sync", src, "m:tree"); st["transfers"] != 10 {
		t.Fatalf("sync after changing 10 files transferred %v, want 10", st["transfers"])
	}
	e.ok("check", src, "m:tree")
	e.ok("check", "--checksum", src, "m:tree")

	// A copy back is byte-identical.
	back := t.TempDir()
	e.ok("copy", "m:tree/d00", back)
	e.ok("check", "m:tree/d00", back)
	e.ok("check", "--checksum", filepath.Join(src, "d00"), back)

	// Duplicates made by go-mega, an independent client.
	g := gomega.New().SetLogger(nil)
	g.SetAPIUrl(srv.URL)
	if err := g.Login(megaservertest.UserV2, megaservertest.PasswordV2); err != nil {
		t.Fatal(err)
	}
	nodes, err := g.FS.PathLookup(g.FS.GetRoot(), []string{"tree", "d01", "s2"})
	if err != nil {
		t.Fatal(err)
	}
	dupSrc := filepath.Join(t.TempDir(), "file 0041.txt")
	if err := os.WriteFile(dupSrc, []byte("a different file with the same name"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := g.UploadFile(dupSrc, nodes[len(nodes)-1], "file 0041.txt", nil); err != nil {
			t.Fatal(err)
		}
	}
	out := e.ok("lsf", "m:tree/d01/s2")
	if n := strings.Count(out, "file 0041.txt\n"); n != 3 {
		t.Fatalf("lsf shows %d copies of the duplicated name, want 3:\n%s", n, out)
	}
	e.ok("dedupe", "--dedupe-mode", "oldest", "m:tree/d01/s2")
	out = e.ok("lsf", "m:tree/d01/s2")
	if n := strings.Count(out, "file 0041.txt\n"); n != 1 {
		t.Fatalf("after dedupe: %d copies, want 1:\n%s", n, out)
	}
	e.ok("check", filepath.Join(src, "d01", "s2"), "m:tree/d01/s2")

	link := strings.TrimSpace(e.ok("link", "m:tree/d02/s2/file 0002.txt"))
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(srv.URL) + `/file/[A-Za-z0-9_-]{8}#[A-Za-z0-9_-]{43}$`).MatchString(link) {
		t.Errorf("link = %q, want %s/file/<handle>#<key> (the local server's host)", link, srv.URL)
	}
	folder := strings.TrimSpace(e.ok("link", "m:tree/d02"))
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(srv.URL) + `/folder/[A-Za-z0-9_-]{8}#[A-Za-z0-9_-]{22}$`).MatchString(folder) {
		t.Errorf("folder link = %q", folder)
	}

	e.ok("delete", "m:tree/d03")
	if out := e.ok("ls", "m:tree/d03"); out != "" {
		t.Errorf("after delete, ls shows:\n%s", out)
	}
	e.ok("purge", "m:tree")
	if code, _, errOut := e.run("ls", "m:tree"); code == 0 || !strings.Contains(errOut, "tree") {
		t.Errorf("ls after purge: exit %d, stderr %q", code, errOut)
	}
	// One login by go-mega, one by ferry for all of its 15 commands.
	if n := srv.Server.Logins(megaservertest.UserV2); n != 2 {
		t.Errorf("server counted %d logins, want 2 (ferry 1, go-mega 1)", n)
	}
}

// TestOneHundredLinks is the scenario that blocks rclone users' accounts:
// 100 `link` runs in a row with the server's login limit on.
func TestOneHundredLinks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	srv := megaservertest.Start(t, megaservertest.WithFaults("logins=20/min"))
	e := newEnv(t)
	e.ok("config", "create", "m", "mega", "user="+megaservertest.UserV2, "pass="+megaservertest.PasswordV2, "url="+srv.URL)
	f := filepath.Join(t.TempDir(), "file.txt")
	if err := os.WriteFile(f, []byte("share me"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ok("copyto", f, "m:file.txt")
	first := e.ok("link", "m:file.txt")
	for i := range 100 {
		if out := e.ok("link", "m:file.txt"); out != first {
			t.Fatalf("run %d: link %q, want %q", i, out, first)
		}
	}
	if n := srv.Server.Logins(megaservertest.UserV2); n != 1 {
		t.Errorf("100 link runs: server counted %d logins, want 1", n)
	}

	// The same through the remote-control daemon.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	rcd := exec.CommandContext(ctx, e.bin, "rcd", "--rc-addr", addr)
	rcd.Env = e.vars
	var rcdOut bytes.Buffer
	rcd.Stdout, rcd.Stderr = &rcdOut, &rcdOut
	if err := rcd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = rcd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _, _ := e.run("rc", "--rc-addr", addr, "rc/noop"); code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rcd did not come up:\n%s", rcdOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i := range 100 {
		out := e.ok("rc", "--rc-addr", addr, "operations/publiclink", "fs=m:", "remote=file.txt")
		var reply struct{ URL string }
		if err := json.Unmarshal([]byte(out), &reply); err != nil || reply.URL != strings.TrimSpace(first) {
			t.Fatalf("rc run %d: %q (%v), want url %q", i, out, err, first)
		}
	}
	if n := srv.Server.Logins(megaservertest.UserV2); n != 1 {
		t.Errorf("after 100 rc calls: server counted %d logins, want 1", n)
	}
}

// TestBadInput: each mistake gets a one-line error naming it, a non-zero
// exit code, and changes nothing.
func TestBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	srv := megaservertest.Start(t)
	e := newEnv(t)
	e.ok("config", "create", "m", "mega", "user="+megaservertest.UserV2, "pass="+megaservertest.PasswordV2, "url="+srv.URL)
	e.ok("config", "create", "--no-check", "bad", "mega", "user="+megaservertest.UserV2, "pass=wrong password", "url="+srv.URL)
	cfgPath := strings.TrimSpace(e.ok("config", "file"))
	cfgPath = cfgPath[strings.LastIndex(cfgPath, "\n")+1:]
	before, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatalf("config file %q: %v", cfgPath, err)
	}
	corrupt := filepath.Join(t.TempDir(), "corrupt.conf")
	if err := os.WriteFile(corrupt, []byte("[m]\ntype = mega\nthis line is broken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"wrong password", []string{"ls", "bad:"}, "wrong e-mail or password"},
		{"unknown remote", []string{"ls", "nosuch:dir"}, `"nosuch"`},
		{"malformed remote:path", []string{"ls", "bad*name:x"}, "bad*name"},
		{"corrupt config", []string{"--config", corrupt, "ls", "m:"}, "corrupt.conf:3"},
		{"missing path", []string{"ls", "m:does/not/exist"}, "does/not/exist"},
		{"missing local path", []string{"copy", "/does/not/exist", "m:x"}, "/does/not/exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := e.run(tc.args...)
			if code == 0 {
				t.Fatalf("exit 0, stdout %q", out)
			}
			if strings.Count(strings.TrimRight(errOut, "\n"), "\n") != 0 || !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q: want one line containing %q", errOut, tc.want)
			}
		})
	}
	after, _ := os.ReadFile(cfgPath)
	if !bytes.Equal(before, after) {
		t.Error("the config file changed")
	}
	if b, _ := os.ReadFile(corrupt); !bytes.Contains(b, []byte("this line is broken")) {
		t.Error("the corrupt config file was rewritten")
	}
	if out := e.ok("ls", "m:"); out != "" {
		t.Errorf("the remote changed: %q", out)
	}
}
