// Package mount serves an internal/vfs tree to the kernel with go-fuse:
// the fs.Node* interfaces over vfs Nodes and Handles, errno mapping in
// one function (Errno), mount and unmount, and dropping the kernel's
// cached entries and pages when the VFS reports an outside change.
package mount

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"ferry/internal/backend"
	"ferry/internal/vfs"
)

// Options configure a mount.
type Options struct {
	AllowOther bool   // let other users see the mount (fuse allow_other)
	FsName     string // shown by mount(8), e.g. "m:photos"
	Debug      bool   // log every FUSE request (-vv)
	// ReadAhead is the kernel's read-ahead of the mount's files in bytes
	// (0: DefaultReadAhead; negative: the kernel's own, 128 KiB).
	ReadAhead int64
	// DirectIO opens every file with FOPEN_DIRECT_IO: the kernel keeps
	// none of its data in the page cache and hands every read and write
	// to the mount as the caller made it (rclone's --direct-io). A big
	// sequential reader (1 MiB reads) then gets the data with one copy,
	// straight into its buffer, instead of two through the page cache;
	// small reads pay a round trip each (the vfs's block cache still
	// serves them). mmap works where the kernel offers
	// FUSE_DIRECT_IO_ALLOW_MMAP (Linux 6.6 and later).
	DirectIO bool
	// Logger gets what the mount says about itself (nil: nothing).
	Logger *slog.Logger
}

// Mount is a mounted VFS.
type Mount struct {
	Dir    string
	server *fuse.Server
	v      *vfs.VFS

	openFlags uint32 // FOPEN_* flags of every open and create (Options.DirectIO)

	mu     sync.Mutex
	inodes map[uint64]*fs.Inode // live kernel inodes, for invalidation
}

// Errno maps an error of the VFS or a backend to the errno the kernel
// gets. It is the one place errors become errnos.
func Errno(err error) syscall.Errno {
	var en syscall.Errno
	switch {
	case err == nil:
		return 0
	case errors.As(err, &en):
		return en
	case backend.IsFatal(err): // a MAC mismatch, a blocked account: never data
		return syscall.EIO
	case errors.Is(err, iofs.ErrNotExist):
		return syscall.ENOENT
	case errors.Is(err, backend.ErrNotEmpty):
		return syscall.ENOTEMPTY
	case errors.Is(err, backend.ErrIsDir):
		return syscall.EISDIR
	case errors.Is(err, backend.ErrNotDir):
		return syscall.ENOTDIR
	case errors.Is(err, iofs.ErrExist):
		return syscall.EEXIST
	case errors.Is(err, vfs.ErrReadOnly):
		return syscall.EROFS
	case errors.Is(err, iofs.ErrPermission):
		return syscall.EACCES
	case errors.Is(err, errors.ErrUnsupported):
		return syscall.ENOTSUP
	case errors.Is(err, iofs.ErrInvalid):
		return syscall.EINVAL
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return syscall.EINTR
	}
	return syscall.EIO
}

// maxRequest is the most one read or write request carries.
const maxRequest = 1 << 20

// DefaultReadAhead is the kernel's read-ahead of the mount's files,
// set through the connection's backing device (read_ahead_kb) once
// mounted: the kernel starts every FUSE connection at 128 KiB and the
// INIT reply can only lower it. With 128 KiB a sequential reader gets
// one 128 KiB request at a time, each a round trip through ferry; with
// 4 MiB the kernel sends 1 MiB reads, several at once, ahead of the
// reader.
const DefaultReadAhead = 4 << 20

// attrTimeout is how long the kernel keeps entries and attributes; the
// VFS's invalidations drop them sooner.
const attrTimeout = time.Second

// New mounts v at dir and serves it until Unmount (or an outside
// fusermount3 -u).
func New(dir string, v *vfs.VFS, o Options) (*Mount, error) {
	m := &Mount{Dir: dir, v: v, inodes: map[uint64]*fs.Inode{}}
	if o.DirectIO {
		m.openFlags = fuse.FOPEN_DIRECT_IO
	}
	root := &node{m: m, vn: v.Root()}
	t := attrTimeout
	neg := time.Duration(0)
	fso := &fs.Options{
		EntryTimeout:    &t,
		AttrTimeout:     &t,
		NegativeTimeout: &neg,
		UID:             uint32(os.Getuid()),
		GID:             uint32(os.Getgid()),
		RootStableAttr:  &fs.StableAttr{Ino: v.Root().Ino()},
		MountOptions: fuse.MountOptions{
			AllowOther: o.AllowOther,
			FsName:     o.FsName,
			Name:       "ferry",
			Debug:      o.Debug,
			// With the vfs's block cache, reads are served in parallel
			// (the kernel sends a file's read-ahead several requests at a
			// time), and a file read whole in any order is verified.
			// Without it, one read at a time per file, in order:
			// sequential reads stay on one stream, whose end a verifying
			// backend checks.
			SyncRead:      !v.ParallelReads(),
			DisableXAttrs: true,
			// Replies come from memory, never from a file descriptor:
			// go-fuse's splice attempt (a pipe, grown, the header
			// written into it and thrown away) would only cost syscalls.
			DisableSplice: true,
			// Reads and writes of up to 1 MiB per request (the kernel's
			// most; it sends 128 KiB by default). No MaxReadAhead: it
			// could only lower the kernel's offer, 128 KiB; New raises
			// the read-ahead after the mount.
			MaxWrite: maxRequest,
		},
	}
	if o.DirectIO {
		// Shared mmap of files opened with FOPEN_DIRECT_IO (git maps
		// its packs), where the kernel offers it.
		fso.MountOptions.ExtraCapabilities = fuse.CAP_DIRECT_IO_ALLOW_MMAP
	}
	srv, err := fs.Mount(dir, root, fso)
	if err != nil {
		return nil, err
	}
	m.server = srv
	v.OnChange(m.invalidate)
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if ra := cmp.Or(o.ReadAhead, DefaultReadAhead); ra >= 0 {
		if err := setReadAhead(dir, ra); err != nil {
			log.Info("mount: the kernel's read-ahead stays at 128 KiB (only root may change it)", "dir", dir, "err", err)
		}
	}
	return m, nil
}

// setReadAhead sets the kernel's read-ahead of the FUSE mount at dir to
// n bytes. Only root may (the file is in sysfs).
func setReadAhead(dir string, n int64) error {
	p, err := readAheadFile(dir)
	if err != nil {
		return err
	}
	return os.WriteFile(p, []byte(strconv.FormatInt(n>>10, 10)), 0)
}

// readAheadFile returns the sysfs file of the kernel's read-ahead (in
// KiB) of the mount at dir: its backing device's read_ahead_kb.
func readAheadFile(dir string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return "", err
	}
	return fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev)), nil
}

// Wait returns when the file system is unmounted.
func (m *Mount) Wait() { m.server.Wait() }

// Unmount unmounts the file system (as fusermount3 -u does).
func (m *Mount) Unmount() error {
	m.v.OnChange(nil)
	return m.server.Unmount()
}

// invalidate drops what the kernel caches of an outside change.
func (m *Mount) invalidate(c vfs.Change) {
	if c.Dir != nil && c.Name != "" {
		if in := m.inode(c.Dir.Ino()); in != nil {
			in.NotifyEntry(c.Name)
		}
	}
	if c.Node != nil {
		if in := m.inode(c.Node.Ino()); in != nil {
			in.NotifyContent(0, 0)
		}
	}
}

func (m *Mount) inode(ino uint64) *fs.Inode {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inodes[ino]
}

// node is a vfs Node as a go-fuse inode.
type node struct {
	fs.Inode
	m  *Mount
	vn *vfs.Node
}

var (
	_ fs.NodeLookuper    = (*node)(nil)
	_ fs.NodeReaddirer   = (*node)(nil)
	_ fs.NodeGetattrer   = (*node)(nil)
	_ fs.NodeSetattrer   = (*node)(nil)
	_ fs.NodeOpener      = (*node)(nil)
	_ fs.NodeCreater     = (*node)(nil)
	_ fs.NodeMkdirer     = (*node)(nil)
	_ fs.NodeRmdirer     = (*node)(nil)
	_ fs.NodeUnlinker    = (*node)(nil)
	_ fs.NodeRenamer     = (*node)(nil)
	_ fs.NodeStatfser    = (*node)(nil)
	_ fs.NodeOnAdder     = (*node)(nil)
	_ fs.NodeOnForgetter = (*node)(nil)
	_ fs.FileReader      = (*handle)(nil)
	_ fs.FileWriter      = (*handle)(nil)
	_ fs.FileFlusher     = (*handle)(nil)
	_ fs.FileFsyncer     = (*handle)(nil)
	_ fs.FileReleaser    = (*handle)(nil)
)

func (n *node) OnAdd(ctx context.Context) { n.register() }

func (n *node) register() {
	n.m.mu.Lock()
	n.m.inodes[n.vn.Ino()] = n.EmbeddedInode()
	n.m.mu.Unlock()
}

func (n *node) OnForget() {
	n.m.mu.Lock()
	if n.m.inodes[n.vn.Ino()] == n.EmbeddedInode() {
		delete(n.m.inodes, n.vn.Ino())
	}
	n.m.mu.Unlock()
}

// fill sets out from a's attributes.
func (m *Mount) fill(a vfs.Attr, out *fuse.Attr) {
	out.Ino = a.Ino
	out.Size = uint64(a.Size)
	out.Blocks = (out.Size + 511) / 512
	out.Blksize = 4096
	out.SetTimes(&a.ModTime, &a.ModTime, &a.ModTime)
	perm := uint32(0o644)
	mode := uint32(syscall.S_IFREG)
	if a.IsDir {
		perm, mode = 0o755, syscall.S_IFDIR
	}
	if m.v.ReadOnly() {
		perm &^= 0o222
	}
	out.Mode = mode | perm
	out.Nlink = 1
	out.Uid, out.Gid = uint32(os.Getuid()), uint32(os.Getgid())
}

// child returns the go-fuse inode of vfs node c below n, filling out.
func (n *node) child(ctx context.Context, c *vfs.Node, out *fuse.EntryOut) *fs.Inode {
	a := c.Attr()
	n.m.fill(a, &out.Attr)
	mode := uint32(syscall.S_IFREG)
	if a.IsDir {
		mode = syscall.S_IFDIR
	}
	in := n.NewInode(ctx, &node{m: n.m, vn: c}, fs.StableAttr{Mode: mode, Ino: a.Ino})
	in.Operations().(*node).register()
	return in
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	c, err := n.vn.Lookup(ctx, name)
	if err != nil {
		return nil, Errno(err)
	}
	return n.child(ctx, c, out), 0
}

func (n *node) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	cs, err := n.vn.ReadDir(ctx)
	if err != nil {
		return nil, Errno(err)
	}
	es := make([]fuse.DirEntry, 0, len(cs))
	for _, c := range cs {
		mode := uint32(syscall.S_IFREG)
		if c.IsDir() {
			mode = syscall.S_IFDIR
		}
		es = append(es, fuse.DirEntry{Name: c.Name(), Ino: c.Ino(), Mode: mode})
	}
	return fs.NewListDirStream(es), 0
}

func (n *node) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.m.fill(n.vn.Attr(), &out.Attr)
	return 0
}

// Setattr changes size and mtime; mode and owner changes are accepted
// and ignored (the backends keep neither), so cp -a and rsync -a work.
func (n *node) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if size, ok := in.GetSize(); ok {
		var err error
		if h, isOurs := fh.(*handle); isOurs && h.h != nil {
			err = h.h.Truncate(ctx, int64(size))
		} else {
			err = n.vn.Truncate(ctx, int64(size))
		}
		if err != nil {
			return Errno(err)
		}
	}
	if mt, ok := in.GetMTime(); ok {
		if err := n.vn.SetModTime(ctx, mt); err != nil {
			return Errno(err)
		}
	}
	n.m.fill(n.vn.Attr(), &out.Attr)
	return 0
}

// openFlags maps open(2) flags to the VFS's.
func openFlags(flags uint32) int {
	var f int
	if flags&(syscall.O_WRONLY|syscall.O_RDWR) != 0 {
		f |= vfs.OpenWrite
	}
	if flags&syscall.O_TRUNC != 0 {
		f |= vfs.OpenTrunc
	}
	return f
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	h, err := n.m.v.Open(ctx, n.vn, openFlags(flags))
	if err != nil {
		return nil, 0, Errno(err)
	}
	return &handle{h: h, in: n.EmbeddedInode()}, n.m.openFlags, 0
}

func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	c, h, err := n.vn.Create(ctx, name)
	if err != nil {
		return nil, nil, 0, Errno(err)
	}
	in := n.child(ctx, c, out)
	return in, &handle{h: h, in: in}, n.m.openFlags, 0
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	c, err := n.vn.Mkdir(ctx, name)
	if err != nil {
		return nil, Errno(err)
	}
	return n.child(ctx, c, out), 0
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	return Errno(n.vn.Rmdir(ctx, name))
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	return Errno(n.vn.Remove(ctx, name))
}

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	np, ok := newParent.(*node)
	if !ok {
		return syscall.EXDEV
	}
	const renameNoReplace, renameExchange = 1, 2
	if flags&renameExchange != 0 {
		return syscall.ENOTSUP
	}
	if flags&renameNoReplace != 0 {
		if _, err := np.vn.Lookup(ctx, newName); err == nil {
			return syscall.EEXIST
		}
	}
	return Errno(n.vn.Rename(ctx, name, np.vn, newName))
}

func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	const bs = 4096
	out.Bsize, out.Frsize, out.NameLen = bs, bs, 255
	u, err := n.m.v.Statfs(ctx)
	if err != nil || u.Total < 0 {
		// Unknown: report a large, empty file system so tools do not refuse to write.
		out.Blocks, out.Bfree, out.Bavail = 1<<40/bs, 1<<40/bs, 1<<40/bs
		return 0
	}
	free := u.Free
	if free < 0 {
		free = max(u.Total-u.Used, 0)
	}
	out.Blocks = uint64(u.Total) / bs
	out.Bfree = uint64(free) / bs
	out.Bavail = out.Bfree
	return 0
}

// handle is a vfs Handle as a go-fuse file handle.
type handle struct {
	h  *vfs.Handle
	in *fs.Inode // the file's

	mu      sync.Mutex
	failing map[*pageRange]bool // +checklocks:mu; failed reads waiting for their drop of the file's pages
}

// pageRange is a read request's pages, [off, end) rounded out to pages.
type pageRange struct{ off, end int64 }

// Read replies with the bytes where they are: checked chunks in the
// VFS's memory go to the kernel with no copy into dest. A fatal error (a
// MAC mismatch) first drops the file's pages from the kernel's cache
// (see dropPages).
func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	b, err := h.h.ReadData(ctx, dest, off)
	if err != nil && err != io.EOF {
		if backend.IsFatal(err) {
			h.dropPages(off, int64(len(dest)))
		}
		return nil, Errno(err)
	}
	return fuse.ReadResultData(b), 0
}

// dropPagesWait bounds how long a failed read waits for the kernel to
// drop the file's pages.
const dropPagesWait = 2 * time.Second

// dropPages drops the kernel's cached pages of the file before a read of
// [off, off+n) replies its fatal error: read-ahead got them before the
// file failed its check (MEGA's MAC covers the whole file), and a reader
// that got the error must not find them in the page cache. It spares the
// pages of the failed reads waiting for their own drop, this one's too:
// they stay locked until those replies, and the kernel would wait for
// them. A read in flight that succeeded (before the check failed) has
// its pages dropped once its reply is in. It waits at most
// dropPagesWait.
func (h *handle) dropPages(off, n int64) {
	const page = 4096
	r := &pageRange{off &^ (page - 1), (off + n + page - 1) &^ (page - 1)}
	h.mu.Lock()
	if h.failing == nil {
		h.failing = map[*pageRange]bool{}
	}
	h.failing[r] = true
	var keep []pageRange
	for k := range h.failing {
		keep = append(keep, *k)
	}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.failing, r)
		h.mu.Unlock()
	}()
	slices.SortFunc(keep, func(a, b pageRange) int { return cmp.Compare(a.off, b.off) })
	done := make(chan struct{})
	go func() {
		defer close(done)
		from := int64(0)
		for _, k := range keep {
			if k.off > from {
				h.in.NotifyContent(from, k.off-from)
			}
			from = max(from, k.end)
		}
		h.in.NotifyContent(from, 0) // to the end
	}()
	select {
	case <-done:
	case <-time.After(dropPagesWait):
	}
}

func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	n, err := h.h.WriteAt(ctx, data, off)
	if err != nil {
		return uint32(n), Errno(err)
	}
	return uint32(n), 0
}

// Flush uploads the file. The upload is not cancelled when the kernel
// interrupts the request: any signal the caller catches does that (a Go
// program gets them all the time), and close(2) would fail with EINTR
// and the upload start again at release. A caller killed by a signal
// does not wait; the upload goes on, journalled.
func (h *handle) Flush(ctx context.Context) syscall.Errno {
	return Errno(h.h.Flush(context.WithoutCancel(ctx)))
}

// Fsync uploads the file, not cancelled by interrupts either (see Flush).
func (h *handle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return Errno(h.h.Fsync(context.WithoutCancel(ctx)))
}

func (h *handle) Release(ctx context.Context) syscall.Errno {
	// close(2) has returned already: an error here has no one to go to
	// (the VFS logs it); Flush reported what it could.
	h.h.Release(context.Background())
	return 0
}
