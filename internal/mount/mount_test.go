package mount_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ferry/internal/backend"
	"ferry/internal/mount"
	"ferry/internal/vfs"
)

// testDeadline bounds every mount test: a hung FUSE server is aborted
// through /sys/fs/fuse/connections and the test fails instead of
// hanging the run.
const testDeadline = 3 * time.Minute

// skipWithoutFUSE skips when this machine cannot mount.
func skipWithoutFUSE(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse: mount tests need FUSE (apt-get install fuse3)")
	}
	if _, err := exec.LookPath("fusermount3"); err != nil {
		t.Skip("no fusermount3 on PATH: mount tests need fuse3 (apt-get install fuse3)")
	}
}

// mounted is a VFS over b mounted in a temp dir until the test ends.
type mounted struct {
	dir string
	v   *vfs.VFS
	ctx context.Context // ends at the test's deadline
	// unmount unmounts, uploads what waits (as ferry mount does) and
	// closes the VFS (once; the test's end does it otherwise).
	unmount func()
	// leave is unmount without the uploads: failed ones stay journalled.
	leave func()
}

// mountT mounts b for the test, with a watchdog.
func mountT(t *testing.T, b backend.Backend) *mounted {
	t.Helper()
	return mountOpts(t, b, vfs.Options{CacheDir: t.TempDir()})
}

// mountOpts is mountT with the VFS options o.
func mountOpts(t *testing.T, b backend.Backend, o vfs.Options) *mounted {
	t.Helper()
	return mountWith(t, b, o, mount.Options{})
}

// mountWith is mountT with the VFS options o and the mount options mo
// (FsName is set here).
func mountWith(t *testing.T, b backend.Backend, o vfs.Options, mo mount.Options) *mounted {
	t.Helper()
	skipWithoutFUSE(t)
	v, err := vfs.New(t.Context(), b, o)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mo.FsName = b.String()
	m, err := mount.New(dir, v, mo)
	if err != nil {
		v.Close()
		t.Fatalf("mount: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	conn := fmt.Sprint(unix.Minor(st.Dev))
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-done:
		case <-ctx.Done():
			os.WriteFile(filepath.Join("/sys/fs/fuse/connections", conn, "abort"), []byte("1"), 0)
			t.Errorf("mount test still running after %v: FUSE connection %s aborted", testDeadline, conn)
		}
	}()
	var once sync.Once
	var noSync bool
	unmount := func() {
		once.Do(func() {
			close(done)
			<-exited
			cancel()
			if err := m.Unmount(); err != nil {
				t.Errorf("unmount: %v", err)
				os.WriteFile(filepath.Join("/sys/fs/fuse/connections", conn, "abort"), []byte("1"), 0)
				exec.Command("fusermount3", "-u", "-z", dir).Run()
			}
			// As ferry mount does: what waits for its upload goes now.
			if !noSync {
				if err := v.Sync(context.Background()); err != nil {
					t.Errorf("sync at unmount: %v", err)
				}
			}
			v.Close()
		})
	}
	t.Cleanup(unmount)
	return &mounted{dir: dir, v: v, ctx: ctx, unmount: unmount, leave: func() { noSync = true; unmount() }}
}

// sh runs script with sh -c after cd into the mount (never exec.Cmd.Dir
// inside a mount this process serves: the child's chdir can deadlock).
func (m *mounted) sh(t *testing.T, script string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(m.ctx, "sh", "-c", "cd '"+m.dir+"' && "+script)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (m *mounted) mustSh(t *testing.T, script string) string {
	t.Helper()
	out, err := m.sh(t, script)
	if err != nil {
		t.Fatalf("sh %q: %v\n%s", script, err, out)
	}
	return out
}

var _ = syscall.EIO
