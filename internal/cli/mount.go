package cli

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"ferry/internal/mount"
	"ferry/internal/vfs"
)

// mountOptions are the flags of "ferry mount" (rclone's names).
type mountOptions struct {
	readOnly     bool
	allowOther   bool
	dirCacheTime time.Duration
}

func newMountCommand(g *globals) *cobra.Command {
	var o mountOptions
	cmd := &cobra.Command{
		Use:   "mount remote:path mountpoint",
		Short: "Mount the remote as a file system on a mountpoint (FUSE)",
		Long: `Serve remote:path at mountpoint until interrupted (Ctrl-C, SIGTERM) or
unmounted with "ferry umount mountpoint" or "fusermount3 -u mountpoint".
The remote's resumed session is used: no new login. Reads fetch only the
byte ranges asked for; a file read whole is verified (MEGA's MAC), and a
mismatch is EIO. Files written are uploaded when they are closed, with
their mtime, retried with backoff; an upload error is returned by close
and fsync. Written data is journalled under --cache-dir/vfs until its
upload succeeds, and a later mount of the same remote finishes uploads a
crash or an outage left. A public link mounts read-only.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMount(cmd.Context(), g, o, args[0], args[1])
		},
	}
	cmd.Flags().BoolVar(&o.readOnly, "read-only", false, "refuse every change through the mount")
	cmd.Flags().BoolVar(&o.allowOther, "allow-other", false, "let other users see the mount (needs user_allow_other in /etc/fuse.conf)")
	cmd.Flags().DurationVar(&o.dirCacheTime, "dir-cache-time", vfs.DefaultDirCacheTime, "how long a directory listing is trusted (changes other MEGA clients make are seen within seconds anyway)")
	return cmd
}

func runMount(ctx context.Context, g *globals, o mountOptions, arg, dir string) error {
	open := g.openWritable
	if o.readOnly || g.resolver().IsLink(arg) {
		open, o.readOnly = g.openRemote, true
	}
	ref, err := open(ctx, arg)
	if err != nil {
		return err
	}
	defer ref.Close()
	v, err := vfs.New(ctx, ref.Backend, vfs.Options{
		Root:         ref.Path,
		CacheDir:     filepath.Join(g.cacheRoot(), "vfs"),
		DirCacheTime: o.dirCacheTime,
		ReadOnly:     o.readOnly,
		Logger:       g.logger(),
	})
	if err != nil {
		return err
	}
	defer v.Close()
	m, err := mount.New(dir, v, mount.Options{AllowOther: o.allowOther, FsName: ref.Backend.String(), Debug: g.verbose >= 2})
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w", ref.Backend, dir, err)
	}
	fmt.Fprintf(g.stdio.Err, "Mounted %s on %s; Ctrl-C or \"ferry umount %s\" unmounts it.\n", ref.Backend, dir, dir)
	done := make(chan struct{})
	go func() {
		m.Wait()
		close(done)
	}()
	select {
	case <-done: // unmounted from outside
	case <-ctx.Done():
		if err := m.Unmount(); err != nil {
			return fmt.Errorf("unmount %s: %w (try \"fusermount3 -u %s\")", dir, err, dir)
		}
		<-done
	}
	return nil
}

func newUmountCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "umount mountpoint",
		Short: "Unmount a file system mounted by ferry mount",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return unmount(args[0])
		},
	}
}

// unmount unmounts dir with fusermount3 (or fusermount), or with
// umount(2) when neither is installed.
func unmount(dir string) error {
	for _, tool := range []string{"fusermount3", "fusermount"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			continue
		}
		out, err := exec.Command(path, "-u", dir).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s -u %s: %w: %s", tool, dir, err, out)
		}
		return nil
	}
	if err := syscall.Unmount(dir, 0); err != nil {
		return fmt.Errorf("unmount %s: %w", dir, errors.Join(err, errors.New("no fusermount3 installed")))
	}
	return nil
}
