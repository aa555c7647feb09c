package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
	daemon       bool
	logFile      string
	cacheMaxSize sizeFlag
	readAhead    sizeFlag
	directIO     bool
	writeBack    writeBackFlag
	transfers    int
}

// writeBackFlag is --vfs-write-back, a vfs.Options.WriteBack: how long
// after its close a file's upload starts in the background ("0s", the
// default: at once), or "off": the close waits for the upload.
type writeBackFlag time.Duration

// String implements pflag.Value.
func (w *writeBackFlag) String() string {
	switch d := time.Duration(*w); d {
	case 0:
		return "off"
	case vfs.WriteBackNow:
		return "0s"
	default:
		return d.String()
	}
}

// Type implements pflag.Value.
func (w *writeBackFlag) Type() string { return "duration" }

// Set implements pflag.Value.
func (w *writeBackFlag) Set(s string) error {
	if strings.EqualFold(s, "off") {
		*w = 0
		return nil
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return err
	case d < 0:
		return errors.New("want a duration of 0 or more, or off")
	case d == 0:
		d = vfs.WriteBackNow
	}
	*w = writeBackFlag(d)
	return nil
}

// envDaemon marks the background process of "ferry mount --daemon": it
// holds the number of the file descriptor on which the process reports
// that the mount is up ("ok") or why it failed ("error CODE MESSAGE").
const envDaemon = "FERRY_MOUNT_DAEMON_FD"

// syncTimeout bounds the last attempt, at unmount, at uploads that failed
// and wait for a retry.
const syncTimeout = time.Minute

func newMountCommand(g *globals) *cobra.Command {
	var o mountOptions
	cmd := &cobra.Command{
		Use:   "mount remote:path mountpoint",
		Short: "Mount the remote as a file system on a mountpoint (FUSE)",
		Long: `Serve remote:path at mountpoint until interrupted (Ctrl-C, SIGTERM) or
unmounted with "ferry umount mountpoint" or "fusermount3 -u mountpoint".
With --daemon, ferry mount returns once the mount serves and a process in
the background serves it until it is unmounted (or gets SIGTERM); its log
goes to --log-file.

The remote's resumed session is used: no new login. Reads fetch only the
byte ranges asked for; a file read whole is verified (MEGA's MAC), and a
mismatch is EIO. Files written are uploaded when they are closed, with
their mtime, retried with backoff: a close returns once the file is
journalled on disk (fsynced) and its upload starts in the background at
once (--transfers at a time), or --vfs-write-back D later; fsync waits
for the upload and returns its error, and unmounting uploads what still
waits. With --vfs-write-back off a close waits for its upload and
returns its error, as fsync does. Written
data is journalled under --cache-dir's vfs/ until its upload succeeds:
a failed upload is retried in the background while the mount runs, once
more at unmount, and by the next mount of the same remote, which also
finishes the uploads a crash (even kill -9) left. A file removed or
renamed meanwhile stays removed or lands under its new name. A public link mounts read-only.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMount(cmd.Context(), g, o, args[0], args[1])
		},
	}
	cmd.Flags().BoolVar(&o.readOnly, "read-only", false, "refuse every change through the mount")
	cmd.Flags().BoolVar(&o.allowOther, "allow-other", false, "let other users see the mount (needs user_allow_other in /etc/fuse.conf)")
	cmd.Flags().DurationVar(&o.dirCacheTime, "dir-cache-time", vfs.DefaultDirCacheTime, "how long a directory listing is trusted (changes other MEGA clients make are seen within seconds anyway)")
	o.cacheMaxSize = vfs.DefaultCacheMaxSize
	cmd.Flags().Var(&o.cacheMaxSize, "cache-max-size", `bound of the block cache of file content read (e.g. 512M, 10G; "off": no cache, every read goes to the remote); files open now are never evicted`)
	o.readAhead = mount.DefaultReadAhead
	cmd.Flags().Var(&o.readAhead, "max-read-ahead", `the kernel's read-ahead of the mount's files (e.g. 128k, 16M; "off": the kernel's, 128 KiB), set in the FUSE connection's read_ahead_kb, which only root may change`)
	cmd.Flags().BoolVar(&o.directIO, "direct-io", false, "keep no file data in the kernel's page cache: every read and write goes to the mount as made (faster for big sequential reads in 1 MiB requests, slower for small reads; mmap needs Linux 6.6 or later)")
	o.writeBack = writeBackFlag(vfs.WriteBackNow)
	cmd.Flags().Var(&o.writeBack, "vfs-write-back", `start a closed file's upload this long after its close, in the background (0s: at once; 5s: rclone's default, a file rewritten meanwhile is uploaded once); close returns once the file is journalled on disk, fsync waits for the upload and reports its error. "off": close waits for the upload and reports its error`)
	cmd.Flags().IntVar(&o.transfers, "transfers", vfs.DefaultTransfers, "uploads of closed files that run at once (write-back, retries, unmount)")
	cmd.Flags().BoolVar(&o.daemon, "daemon", false, "run in the background once mounted (ferry umount or fusermount3 -u ends it)")
	cmd.Flags().StringVar(&o.logFile, "log-file", "", "append the log to this file instead of stderr (with --daemon, the log is discarded without it)")
	return cmd
}

func runMount(ctx context.Context, g *globals, o mountOptions, arg, dir string) error {
	if o.readAhead >= 0 && o.readAhead < 4<<10 {
		return usagef("--max-read-ahead %s: want at least 4k, or off", o.readAhead.String())
	}
	fd, child := os.LookupEnv(envDaemon)
	if o.daemon && !child {
		return startDaemon(ctx, g, o, dir)
	}
	report := func(error) {}
	if child {
		// The background process of --daemon: tell the parent how the
		// mount went, once.
		n, _ := strconv.Atoi(fd)
		pipe := os.NewFile(uintptr(n), "daemon-ready")
		os.Unsetenv(envDaemon)
		report = func(err error) {
			if pipe == nil {
				return
			}
			if err == nil {
				fmt.Fprintln(pipe, "ok")
			} else {
				fmt.Fprintf(pipe, "error %d %s\n", exitCode(err), strings.ReplaceAll(message(err), "\n", " "))
			}
			pipe.Close()
			pipe = nil
		}
	} else if o.logFile != "" {
		f, err := os.OpenFile(o.logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return usagef("--log-file: %v", err)
		}
		defer f.Close()
		g.stdio.Err = f
	}
	err := serveMount(ctx, g, o, arg, dir, func() { report(nil) })
	if err != nil {
		report(err)
	}
	return err
}

// serveMount mounts arg on dir, calls ready once the mount serves, and
// serves it until it is unmounted or ctx ends (then it unmounts).
func serveMount(ctx context.Context, g *globals, o mountOptions, arg, dir string, ready func()) error {
	open := g.openWritable
	if o.readOnly || g.resolver().IsLink(arg) {
		open, o.readOnly = g.openRemote, true
	}
	ref, err := open(ctx, arg)
	if err != nil {
		return err
	}
	defer ref.Close()
	log := g.logger()
	v, err := vfs.New(ctx, ref.Backend, vfs.Options{
		Root:         ref.Path,
		CacheDir:     filepath.Join(g.cacheRoot(), "vfs"),
		DirCacheTime: o.dirCacheTime,
		CacheMaxSize: cacheBound(o.cacheMaxSize),
		WriteBack:    time.Duration(o.writeBack),
		Transfers:    o.transfers,
		ReadOnly:     o.readOnly,
		Logger:       log,
	})
	if err != nil {
		return err
	}
	defer v.Close()
	m, err := mount.New(dir, v, mount.Options{AllowOther: o.allowOther, FsName: ref.Backend.String(), Debug: g.log.debug(), ReadAhead: int64(o.readAhead), DirectIO: o.directIO, Logger: log})
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w", ref.Backend, dir, err)
	}
	fmt.Fprintf(g.stdio.Err, "Mounted %s on %s; Ctrl-C or \"ferry umount %s\" unmounts it.\n", ref.Backend, dir, dir)
	ready()
	done := make(chan struct{})
	go func() {
		m.Wait()
		close(done)
	}()
	select {
	case <-done: // unmounted from outside
	case <-ctx.Done():
		if err := m.Unmount(); err != nil {
			// Files are open: detach the mount now; it ends when the
			// last one is closed (and uploaded).
			log.Warn("mount busy; unmounting lazily: it ends when the last open file is closed", "dir", dir, "err", err)
			if err := unmountLazy(dir); err != nil {
				return fmt.Errorf("unmount %s: %w (try \"fusermount3 -u -z %s\")", dir, err, dir)
			}
		}
		<-done
	}
	// Uploads that failed and wait for a retry get one more now; what
	// still fails stays journalled for the next mount.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncTimeout)
	defer cancel()
	if err := v.Sync(sctx); err != nil {
		log.Error("uploads still failing at unmount are left in the journal for the next mount of this remote", "err", err)
	}
	return nil
}

// startDaemon runs this command again in the background, in a new
// session with stdin and stdout on /dev/null and stderr on --log-file (or
// /dev/null), and returns once that process reports the mount serving
// (nil) or its failure (an error with its message and exit code).
func startDaemon(ctx context.Context, g *globals, o mountOptions, dir string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("--daemon: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("--daemon: %w", err)
	}
	defer r.Close()
	logw, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if o.logFile != "" {
		logw, err = os.OpenFile(o.logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	}
	if err != nil {
		w.Close()
		return usagef("--log-file: %v", err)
	}
	defer logw.Close()
	cmd := exec.Command(exe, g.args...)
	cmd.Env = append(os.Environ(), envDaemon+"=3") // ExtraFiles[0] is fd 3
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stdout, cmd.Stderr = logw, logw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close() // the child holds the write end now
	if err != nil {
		return fmt.Errorf("--daemon: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	var reply string
	select {
	case <-ctx.Done():
		cmd.Process.Signal(syscall.SIGTERM)
		return ctx.Err()
	case reply = <-line:
	}
	if reply != "ok" {
		werr := <-exited
		code, msg := exitError, fmt.Sprintf("the background mount process ended (%v) without saying why; see --log-file", werr)
		if rest, ok := strings.CutPrefix(reply, "error "); ok {
			c, m, _ := strings.Cut(rest, " ")
			if n, err := strconv.Atoi(c); err == nil {
				code, msg = n, m
			}
		}
		return daemonError{msg: msg, code: code}
	}
	// The process says it is mounted; check that the mountpoint serves.
	if err := servesMount(dir); err != nil {
		cmd.Process.Signal(syscall.SIGTERM)
		return fmt.Errorf("--daemon: %s does not serve: %w", dir, err)
	}
	fmt.Fprintf(g.stdio.Err, "Mounted on %s in the background (pid %d); \"ferry umount %s\" unmounts it.\n", dir, cmd.Process.Pid, dir)
	return nil
}

// servesMount reports an error unless dir answers stat as the root of a
// file system other than its parent's.
func servesMount(dir string) error {
	var st, parent syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return err
	}
	if err := syscall.Stat(filepath.Join(dir, ".."), &parent); err != nil {
		return err
	}
	if st.Dev == parent.Dev {
		return errors.New("not a mountpoint")
	}
	return nil
}

// daemonError is the failure the background process of --daemon
// reported, with its exit code.
type daemonError struct {
	msg  string
	code int
}

func (e daemonError) Error() string { return e.msg }

func newUmountCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "umount mountpoint",
		Short: "Unmount a file system mounted by ferry mount",
		Long: `Unmount mountpoint (fusermount3 -u does the same). The ferry mount
process serving it, in the foreground or --daemon, then makes one more
attempt at uploads that failed, leaves what still fails in the journal for
the next mount, and exits.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return unmount(args[0])
		},
	}
}

// unmount unmounts dir with fusermount3 (or fusermount), or with
// umount(2) when neither is installed.
func unmount(dir string, flags ...string) error {
	for _, tool := range []string{"fusermount3", "fusermount"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			continue
		}
		out, err := exec.Command(path, append([]string{"-u"}, append(flags, dir)...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s -u %s: %w: %s", tool, dir, err, out)
		}
		return nil
	}
	mflags := 0
	if len(flags) > 0 {
		mflags = syscall.MNT_DETACH
	}
	if err := syscall.Unmount(dir, mflags); err != nil {
		return fmt.Errorf("unmount %s: %w", dir, errors.Join(err, errors.New("no fusermount3 installed")))
	}
	return nil
}

// unmountLazy detaches dir now; the file system ends when its last open
// file is closed.
func unmountLazy(dir string) error { return unmount(dir, "-z") }

// cacheBound is vfs.Options.CacheMaxSize for the --cache-max-size value:
// "off" (and 0) turn the block cache off.
func cacheBound(s sizeFlag) int64 {
	if s <= 0 {
		return -1
	}
	return int64(s)
}
