package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ferry/megaserver/megaservertest"
)

// TestMountSignals runs the built binary in the foreground and stops it
// with SIGINT and with SIGTERM: each time it unmounts, exits 0, and the
// file written through it is on MEGA.
func TestMountSignals(t *testing.T) {
	needFUSE(t)
	bin := ferryBinary(t)
	_, remote := megaCLI(t)
	if code, _, errOut := runCLI(t, t.Context(), "", append([]string{"mkdir", ":mega:box"}, remote...)...); code != 0 {
		t.Fatalf("mkdir: exit %d %s", code, errOut)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			p := startMountProc(t, bin, dir, append([]string{"mount", ":mega:box", dir}, remote...)...)
			name := strings.ReplaceAll(sig.String(), " ", "-") + ".txt"
			shell(t, fmt.Sprintf("printf 'before %s' > %q/%s", sig, dir, name))
			p.cmd.Process.Signal(sig)
			if code := p.wait(t, time.Minute); code != 0 {
				t.Errorf("exit %d after %v, want 0:\n%s", code, sig, p.out)
			}
			if mounted(dir) {
				t.Errorf("%s is still mounted after %v", dir, sig)
			}
			code, out, errOut := runCLI(t, t.Context(), "", append([]string{"cat", ":mega:box/" + name}, remote...)...)
			if code != 0 || out != "before "+sig.String() {
				t.Errorf("file written before %v: exit %d %q %s", sig, code, out, errOut)
			}
		})
	}

	// SIGTERM while a file is open for writing: the mount cannot go at
	// once, so it is detached; the writer goes on, and its close uploads
	// the file before the process exits 0.
	t.Run("SIGTERM with a file open", func(t *testing.T) {
		dir := t.TempDir()
		p := startMountProc(t, bin, dir, append([]string{"mount", ":mega:box", dir}, remote...)...)
		gate := filepath.Join(t.TempDir(), "gate")
		writer := exec.Command("sh", "-c", fmt.Sprintf("exec 3> %q/open.txt; echo first >&3; while [ ! -e %q ]; do sleep 0.05; done; echo second >&3; exec 3>&-", dir, gate))
		if err := writer.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(time.Minute); !strings.Contains(shell(t, fmt.Sprintf("ls %q", dir)), "open.txt"); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the writer did not open its file")
			}
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		for deadline := time.Now().Add(time.Minute); !strings.Contains(p.out.String(), "unmounting lazily"); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no lazy unmount after SIGTERM with a file open:\n%s", p.out)
			}
		}
		select {
		case <-p.done:
			t.Fatalf("ferry mount exited while a file was open for writing:\n%s", p.out)
		default:
		}
		os.WriteFile(gate, nil, 0o600)
		if err := writer.Wait(); err != nil {
			t.Errorf("the writer failed after the lazy unmount: %v", err)
		}
		if code := p.wait(t, time.Minute); code != 0 {
			t.Errorf("exit %d, want 0:\n%s", code, p.out)
		}
		code, out, errOut := runCLI(t, t.Context(), "", append([]string{"cat", ":mega:box/open.txt"}, remote...)...)
		if code != 0 || out != "first\nsecond\n" {
			t.Errorf("file closed after SIGTERM: exit %d %q %s\nmount log:\n%s", code, out, errOut, p.out)
		}
	})
}

// TestMountDaemon: "ferry mount --daemon" returns 0 once the mount
// serves, and the process in the background serves it until "ferry
// umount" or "fusermount3 -u", then exits; its log (-vv) has the FUSE
// requests. Neither the daemons nor a mount with its own --cache-dir
// twice logs in more than once: sessions are resumed. A daemon that
// cannot mount makes the command fail with its error and exit code.
func TestMountDaemon(t *testing.T) {
	needFUSE(t)
	bin := ferryBinary(t)
	srv, _ := megaCLI(t)
	// A configured remote: its session is cached (connection strings
	// such as :mega: have none).
	remote := []string{}
	if code, _, errOut := runCLI(t, t.Context(), "", "config", "create", "m", "mega", "user="+megaservertest.UserV2, "pass="+megaservertest.PasswordV2, "url="+srv.URL); code != 0 {
		t.Fatalf("config create: exit %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, t.Context(), "", "mkdir", "m:box"); code != 0 {
		t.Fatalf("mkdir: exit %d %s", code, errOut)
	}
	logins := srv.Server.Logins(megaservertest.UserV2)
	if logins != 1 {
		t.Fatalf("%d logins after the first command, want 1", logins)
	}

	for _, stop := range [][]string{{bin, "umount"}, {"fusermount3", "-u"}} {
		t.Run(filepath.Base(stop[0]), func(t *testing.T) {
			dir := t.TempDir()
			logFile := filepath.Join(t.TempDir(), "mount.log")
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			start := time.Now()
			out, err := exec.CommandContext(ctx, bin, append([]string{"-vv", "mount", "--daemon", "--log-file", logFile, "m:box", dir}, remote...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("mount --daemon: %v\n%s", err, out)
			}
			m := pidRE.FindStringSubmatch(string(out))
			if m == nil {
				t.Fatalf("mount --daemon printed no pid: %s", out)
			}
			pid, _ := strconv.Atoi(m[1])
			watchMount(t, dir, pid, 4*time.Minute)
			t.Logf("mount --daemon returned in %v: %s", time.Since(start), out)
			// It returned, and the mount serves already.
			if !mounted(dir) || !alive(pid) {
				t.Fatalf("after mount --daemon: mounted %v, daemon alive %v", mounted(dir), alive(pid))
			}
			name := filepath.Base(stop[0]) + ".txt"
			if got := shell(t, fmt.Sprintf("cd %q && printf 'from the daemon' > %s && cat %s", dir, name, name)); got != "from the daemon" {
				t.Fatalf("through the daemon's mount: %q", got)
			}
			if out, err := exec.Command(stop[0], append(stop[1:], dir)...).CombinedOutput(); err != nil {
				t.Fatalf("%v: %v %s", stop, err, out)
			}
			for deadline := time.Now().Add(time.Minute); alive(pid); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the daemon (pid %d) still runs a minute after %v", pid, stop)
				}
			}
			if mounted(dir) {
				t.Errorf("%s still mounted after the daemon ended", dir)
			}
			code, got, errOut := runCLI(t, t.Context(), "", append([]string{"cat", "m:box/" + name}, remote...)...)
			if code != 0 || got != "from the daemon" {
				t.Errorf("file written through the daemon: exit %d %q %s", code, got, errOut)
			}
			log, _ := os.ReadFile(logFile)
			for _, want := range []string{"Mounted ", "rx ", "GETATTR"} {
				if !strings.Contains(string(log), want) {
					t.Errorf("the daemon's -vv log has no %q:\n%s", want, log)
				}
			}
		})
	}
	if got := srv.Server.Logins(megaservertest.UserV2); got != logins {
		t.Errorf("%d logins after two daemon mounts, want %d: the mount must resume the session", got, logins)
	}

	// --cache-dir moves the session and the journal: one login in the new
	// directory, none for the next mount with it.
	cache := t.TempDir()
	for i := range 2 {
		ctx, cancel := context.WithCancel(t.Context())
		dir := t.TempDir()
		errb := &syncBuffer{}
		done := make(chan int, 1)
		go func() {
			done <- Run(ctx, append([]string{"mount", "--cache-dir", cache, "m:box", dir}, remote...), Stdio{In: strings.NewReader(""), Out: errb, Err: errb})
		}()
		waitForMount(t, errb, done)
		watchMount(t, dir, 0, 2*time.Minute)
		shell(t, fmt.Sprintf("printf %d > %q/cache%d.txt", i, dir, i))
		cancel()
		if code := <-done; code != 0 {
			t.Fatalf("mount --cache-dir: exit %d\n%s", code, errb)
		}
	}
	if got := srv.Server.Logins(megaservertest.UserV2); got != logins+1 {
		t.Errorf("%d logins after two mounts with a new --cache-dir, want %d (one for the new directory)", got, logins+1)
	}
	if ds, _ := filepath.Glob(filepath.Join(cache, "vfs", "*", "journal")); len(ds) != 1 {
		t.Errorf("journal dirs under --cache-dir: %v, want one under vfs/", ds)
	}

	// A daemon that cannot mount: its error, its exit code.
	out, err := exec.Command(bin, append([]string{"mount", "--daemon", "m:box/missing", t.TempDir()}, remote...)...).CombinedOutput()
	var ee *exec.ExitError
	if !errorsAs(err, &ee) || ee.ExitCode() != exitNotFound || !strings.Contains(string(out), "missing") {
		t.Errorf("mount --daemon of a missing folder: %v, want exit %d naming it: %s", err, exitNotFound, out)
	}
}

// waitForMount waits for the "Mounted" line of an in-process mount.
func waitForMount(t *testing.T, out *syncBuffer, done chan int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), "Mounted "); time.Sleep(10 * time.Millisecond) {
		select {
		case code := <-done:
			t.Fatalf("mount exited %d before mounting:\n%s", code, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mount after a minute:\n%s", out)
		}
	}
}
