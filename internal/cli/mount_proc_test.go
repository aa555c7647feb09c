package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// These helpers run the built ferry binary, for the tests of what only a
// real process shows: signals, --daemon, kill -9.

func TestMain(m *testing.M) {
	// In-process wizards see the default servers as reachable, so that
	// they ask the same questions with and without network; the tests of
	// an unreachable default set their own probe or run the binary.
	probeServer = func(context.Context, string) error { return nil }
	code := m.Run()
	if ferryBuild.dir != "" {
		os.RemoveAll(ferryBuild.dir)
	}
	os.Exit(code)
}

var ferryBuild struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// ferryBinary builds cmd/ferry once per test binary and returns its path.
func ferryBinary(t *testing.T) string {
	t.Helper()
	ferryBuild.once.Do(func() {
		ferryBuild.dir, ferryBuild.err = os.MkdirTemp("", "ferry-bin-")
		if ferryBuild.err != nil {
			return
		}
		ferryBuild.path = filepath.Join(ferryBuild.dir, "ferry")
		out, err := exec.Command("go", "build", "-o", ferryBuild.path, "ferry/cmd/ferry").CombinedOutput()
		if err != nil {
			ferryBuild.err = fmt.Errorf("go build ferry/cmd/ferry: %v\n%s", err, out)
		}
	})
	if ferryBuild.err != nil {
		t.Fatal(ferryBuild.err)
	}
	return ferryBuild.path
}

// needFUSE skips the test without FUSE.
func needFUSE(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse: mount tests need FUSE (apt-get install fuse3)")
	}
	if _, err := exec.LookPath("fusermount3"); err != nil {
		t.Skip("no fusermount3 on PATH: mount tests need fuse3 (apt-get install fuse3)")
	}
}

// mounted reports whether dir is a mountpoint (in /proc/mounts; a dead
// FUSE mount, which stat cannot reach, counts).
func mounted(dir string) bool {
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 1 && f[1] == dir {
			return true
		}
	}
	return false
}

// watchMount guards a mount made by a ferry process: after limit it
// aborts the FUSE connection (which frees anything stuck on it) and
// kills pid; at the end of the test it clears whatever is left.
func watchMount(t *testing.T, dir string, pid int, limit time.Duration) {
	t.Helper()
	var st unix.Stat_t
	conn := ""
	if err := unix.Stat(dir, &st); err == nil {
		conn = filepath.Join("/sys/fs/fuse/connections", fmt.Sprint(unix.Minor(st.Dev)), "abort")
	}
	abort := func() {
		if conn != "" && mounted(dir) {
			os.WriteFile(conn, []byte("1"), 0)
		}
		if pid > 0 {
			unix.Kill(pid, unix.SIGKILL)
		}
	}
	timer := time.AfterFunc(limit, func() {
		t.Errorf("watchdog: the mount on %s is still there after %v; aborting it", dir, limit)
		abort()
	})
	t.Cleanup(func() {
		timer.Stop()
		if pid > 0 && alive(pid) {
			abort()
		}
		if mounted(dir) {
			if conn != "" {
				os.WriteFile(conn, []byte("1"), 0)
			}
			exec.Command("fusermount3", "-u", "-z", dir).Run()
		}
	})
}

// alive reports whether process pid runs (a zombie does not count).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// "pid (comm) S ...": the state follows the last ')'.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}

// mountProc is a foreground "ferry mount" process.
type mountProc struct {
	cmd  *exec.Cmd
	dir  string
	out  *syncBuffer // stdout and stderr
	done chan struct{}
	err  error // of Wait, once done is closed
}

// startMountProc runs bin with args (a mount on dir, in the foreground)
// and waits until it says the mount is up.
func startMountProc(t *testing.T, bin, dir string, args ...string) *mountProc {
	t.Helper()
	p := &mountProc{dir: dir, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	deadline := time.After(60 * time.Second)
	for !strings.Contains(p.out.String(), "Mounted ") {
		select {
		case <-p.done:
			t.Fatalf("ferry mount exited (%v) before mounting:\n%s", p.err, p.out)
		case <-deadline:
			p.cmd.Process.Kill()
			t.Fatalf("ferry mount did not mount in 60 s:\n%s", p.out)
		case <-time.After(20 * time.Millisecond):
		}
	}
	watchMount(t, dir, p.cmd.Process.Pid, 4*time.Minute)
	return p
}

// wait waits up to limit for the process to exit and returns its exit
// code.
func (p *mountProc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		t.Fatalf("ferry mount still runs %v later:\n%s", limit, p.out)
	}
	return p.cmd.ProcessState.ExitCode()
}

// shell runs script with sh -c (never with a working directory inside a
// mount: see the FUSE trap in the README's test notes).
func shell(t *testing.T, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sh", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("sh -c %q: %v\n%s", script, err, out)
	}
	return string(out)
}

var pidRE = regexp.MustCompile(`\(pid (\d+)\)`)

func errorsAs(err error, target any) bool { return errors.As(err, target) }
