package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMountCommand runs `ferry mount` on a MEGA remote (the loopback
// server), writes and reads a file through it with ordinary tools, then
// unmounts with `ferry umount`: the mount command exits 0 and the file is
// on MEGA. A second mount is stopped by cancelling its context (what
// Ctrl-C does), and a folder link mounts read-only.
func TestMountCommand(t *testing.T) {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse: mount tests need FUSE (apt-get install fuse3)")
	}
	if _, err := exec.LookPath("fusermount3"); err != nil {
		t.Skip("no fusermount3 on PATH: mount tests need fuse3 (apt-get install fuse3)")
	}
	_, remote := megaCLI(t)
	if code, _, errOut := runCLI(t, t.Context(), "", append([]string{"mkdir", ":mega:box"}, remote...)...); code != 0 {
		t.Fatalf("mkdir: exit %d %s", code, errOut)
	}

	// start runs ferry mount in the background until ctx ends or the
	// mount is unmounted; it waits for the mount to be up.
	start := func(ctx context.Context, args ...string) (string, chan int) {
		t.Helper()
		dir := t.TempDir()
		errb := &syncBuffer{}
		done := make(chan int, 1)
		go func() {
			done <- Run(ctx, append(append([]string{"mount"}, args...), append([]string{dir}, remote...)...),
				Stdio{In: strings.NewReader(""), Out: errb, Err: errb})
		}()
		waitFor(t, errb, regexp.MustCompile(`Mounted (.*) on `))
		// Watchdog: a hung FUSE server must not hang the run.
		var st unix.Stat_t
		if err := unix.Stat(dir, &st); err == nil {
			conn := fmt.Sprint(unix.Minor(st.Dev))
			timer := time.AfterFunc(2*time.Minute, func() {
				os.WriteFile(filepath.Join("/sys/fs/fuse/connections", conn, "abort"), []byte("1"), 0)
			})
			t.Cleanup(func() { timer.Stop() })
		}
		return dir, done
	}
	sh := func(script string) (string, error) {
		out, err := exec.Command("sh", "-c", script).CombinedOutput()
		return string(out), err
	}

	dir, done := start(t.Context(), ":mega:box")
	if out, err := sh(fmt.Sprintf("cd %q && printf 'through the mount' > note.txt && head -c 4194304 /dev/urandom > big.bin && mkdir d && cp note.txt d/copy.txt && cat d/copy.txt", dir)); err != nil || out != "through the mount" {
		t.Fatalf("write and read through the mount: %q, %v", out, err)
	}
	if code, _, errOut := runCLI(t, t.Context(), "", "umount", dir); code != 0 {
		t.Fatalf("umount: exit %d %s", code, errOut)
	}
	if code := <-done; code != 0 {
		t.Errorf("mount exited %d after umount, want 0", code)
	}
	code, out, errOut := runCLI(t, t.Context(), "", append([]string{"cat", ":mega:box/d/copy.txt"}, remote...)...)
	if code != 0 || out != "through the mount" {
		t.Errorf("file written through the mount, read from MEGA: exit %d %q %s", code, out, errOut)
	}

	// Ctrl-C: the command's context ends, it unmounts and exits 0.
	ctx, cancel := context.WithCancel(t.Context())
	dir, done = start(ctx, ":mega:box")
	if out, err := sh(fmt.Sprintf("cat %q/note.txt", dir)); err != nil || out != "through the mount" {
		t.Errorf("read after remount: %q, %v", out, err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("mount exited %d after its context ended, want 0", code)
	}
	if _, err := sh(fmt.Sprintf("mountpoint -q %q", dir)); err == nil {
		t.Errorf("%s is still a mountpoint after the mount command returned", dir)
	}

	// --cache-max-size: a random read (O_DIRECT, far from the start: a
	// sequential read of a MEGA file passes through memory only) fills
	// the block cache under --cache-dir; "off" leaves it empty.
	for _, c := range []struct {
		flag   string
		filled bool
	}{{"1G", true}, {"off", false}} {
		cache := t.TempDir()
		ctx, cancel := context.WithCancel(t.Context())
		dir, done := start(ctx, "--cache-dir", cache, "--cache-max-size", c.flag, ":mega:box")
		if out, err := sh(fmt.Sprintf("dd if=%q/big.bin of=/dev/null bs=4096 skip=768 count=1 iflag=direct status=none", dir)); err != nil {
			t.Errorf("--cache-max-size %s: read: %v %s", c.flag, err, out)
		}
		n := blockCacheBytes(t, cache)
		cancel()
		<-done
		if (n > 0) != c.filled {
			t.Errorf("--cache-max-size %s: %d bytes in the block cache after a read", c.flag, n)
		}
	}

	// A folder link mounts read-only.
	code, link, errOut := runCLI(t, t.Context(), "", append([]string{"link", ":mega:box"}, remote...)...)
	if code != 0 {
		t.Fatalf("link: exit %d %s", code, errOut)
	}
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	dir, done = start(ctx, strings.TrimSpace(link))
	if out, err := sh(fmt.Sprintf("cat %q/d/copy.txt", dir)); err != nil || out != "through the mount" {
		t.Errorf("read through a link mount: %q, %v", out, err)
	}
	if _, err := sh(fmt.Sprintf("echo x > %q/new.txt", dir)); err == nil {
		t.Error("write to a link mount succeeded")
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("link mount exited %d, want 0", code)
	}
}

// blockCacheBytes sums the sizes of the block cache's files under the
// cache dir root.
func blockCacheBytes(t *testing.T, root string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.Contains(p, string(filepath.Separator)+"blocks-") {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
