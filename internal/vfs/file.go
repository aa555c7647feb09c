package vfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"ferry/internal/backend"
	"ferry/internal/retry"
)

// Open flags.
const (
	OpenRead  = 0
	OpenWrite = 1 << iota // the handle may write
	OpenTrunc             // truncate to zero at open
)

// Handle is an open file. Its methods are safe for concurrent use.
type Handle struct {
	n     *Node
	write bool

	// mu is held shared by each read and exclusively by Release, so reads
	// run in parallel and Release waits for them.
	mu     sync.RWMutex
	closed bool // +checklocks:mu

	rmu sync.Mutex // guards the fields below
	r   fileReader // +checklocks:rmu; reads from the backend, made at the first read
	// bad is the fatal error a read met (a MAC mismatch): every later
	// read returns it, so no read at another offset serves unverified
	// bytes of a file known to be corrupt. +checklocks:rmu
	bad error
}

// Node returns the file the handle is open on.
func (h *Handle) Node() *Node { return h.n }

// Open opens file n. OpenWrite gives it the node's write file (made
// here, with the old content fetched when first needed); OpenTrunc
// empties it.
func (v *VFS) Open(ctx context.Context, n *Node, flags int) (*Handle, error) {
	v.mu.Lock()
	e, dup := n.entry, n.dup
	v.mu.Unlock()
	if e.IsDir {
		return nil, v.perr("open", e.Path, backend.ErrIsDir)
	}
	h := &Handle{n: n, write: flags&(OpenWrite|OpenTrunc) != 0}
	if !h.write {
		return h, nil
	}
	if err := v.readOnly("open", e.Path); err != nil {
		return nil, err
	}
	if dup {
		return nil, v.perr("open", e.Path, errors.Join(errors.New("one of several files with this name cannot be written"), errors.ErrUnsupported))
	}
	w, err := v.attach(n, false)
	if err != nil {
		return nil, err
	}
	if flags&OpenTrunc != 0 {
		if err := w.truncate(ctx, 0); err != nil {
			h.Release(ctx)
			return nil, err
		}
	}
	return h, nil
}

// attach returns n's write file, made if needed, counting one more
// handle on it.
func (v *VFS) attach(n *Node, empty bool) (*writeFile, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.attachLocked(n, empty)
}

// attachLocked is attach for a caller holding v.mu.
func (v *VFS) attachLocked(n *Node, empty bool) (*writeFile, error) {
	if n.w == nil {
		w, err := v.newWriteFile(n)
		if err != nil {
			return nil, err
		}
		n.w = w
		if !empty && !n.local && n.entry.Size > 0 {
			n.w.base = n.entry
			n.w.needFetch = true
		} else if empty {
			n.w.mtime = time.Now()
			n.w.dirty = true
		}
	}
	delete(v.failed, n.w) // reopened: its handles upload it now
	delete(v.due, n.w)
	n.w.opens++
	return n.w, nil
}

// Create makes a new empty file name in d and opens it for writing. The
// file is in the listing at once and uploaded at the first flush.
func (d *Node) Create(ctx context.Context, name string) (*Node, *Handle, error) {
	v := d.v
	p := backend.Join(d.Path(), name)
	if err := v.readOnly("create", p); err != nil {
		return nil, nil, err
	}
	if old, err := d.child(ctx, name); err == nil {
		if old.IsDir() {
			return nil, nil, v.perr("create", p, backend.ErrIsDir)
		}
		h, err := v.Open(ctx, old, OpenWrite|OpenTrunc)
		return old, h, err
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	// The node gets its write file in the same critical section that
	// makes it visible: a listing applied in between would take a local
	// node without one for a vanished file and drop its data at upload.
	v.mu.Lock()
	n := &Node{v: v, ino: v.nextIno, entry: backend.Entry{Path: p, ModTime: time.Now()}, parent: d, name: name, local: true}
	if _, err := v.attachLocked(n, true); err != nil {
		v.mu.Unlock()
		return nil, nil, err
	}
	v.nextIno++
	v.byKey[fmt.Sprintf("new:%d", n.ino)] = n
	d.mut++
	if d.children != nil {
		d.children[name] = n
	}
	hook := v.afterCreate
	v.mu.Unlock()
	if hook != nil {
		hook(d)
	}
	return n, &Handle{n: n, write: true}, nil
}

// writer returns n's write file, or nil.
func (h *Handle) writer() *writeFile {
	h.n.v.mu.Lock()
	defer h.n.v.mu.Unlock()
	return h.n.w
}

// ReadAt reads len(p) bytes at off: fewer only at the end of the file,
// with io.EOF.
// Reads of one handle run in parallel.
func (h *Handle) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	b, err := h.ReadData(ctx, p, off)
	if len(b) > 0 && &b[0] != &p[0] {
		copy(p, b)
	}
	return len(b), err
}

// ReadData is ReadAt returning the bytes read: in p, or, when they are
// in memory already (checked chunks a sequential read fetched), that
// memory itself, with no copy. The caller must not change them.
func (h *Handle) ReadData(ctx context.Context, p []byte, off int64) ([]byte, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed {
		return nil, os.ErrClosed
	}
	if w := h.writer(); w != nil {
		if n, err, ok := w.readAt(ctx, p, off); ok {
			return p[:n], err
		}
	}
	r, err := h.reader(ctx)
	if err != nil {
		return nil, err
	}
	b, err := r.read(ctx, p, off)
	if backend.IsFatal(err) {
		h.rmu.Lock()
		h.bad = err
		h.rmu.Unlock()
	}
	return b, err
}

// reader returns the handle's reader, made at the first call: through
// the block cache, or straight from the backend without one. After a
// fatal read error it returns that error.
func (h *Handle) reader(ctx context.Context) (fileReader, error) {
	h.rmu.Lock()
	defer h.rmu.Unlock()
	if h.bad != nil {
		return nil, h.bad
	}
	if h.r != nil {
		return h.r, nil
	}
	v, e := h.n.v, h.n.Entry()
	if v.cache == nil || e.Size == 0 {
		h.r = &lockedReader{r: newReader(v.b, e)}
		return h.r, nil
	}
	r, err := newCachedReader(ctx, v.cache, e)
	if err != nil {
		return nil, v.perr("open", e.Path, err)
	}
	h.r = r
	return r, nil
}

// WriteAt writes p at off into the file's temporary copy.
func (h *Handle) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	if !h.write {
		return 0, h.n.v.perr("write", h.n.Path(), fs.ErrPermission)
	}
	return h.writer().writeAt(ctx, p, off)
}

// Truncate sets the file's size.
func (h *Handle) Truncate(ctx context.Context, size int64) error {
	if !h.write {
		return h.n.v.perr("truncate", h.n.Path(), fs.ErrPermission)
	}
	return h.writer().truncate(ctx, size)
}

// Flush uploads what the handle's file has that the backend lacks and
// returns the upload's error (close(2) reports it). With
// Options.WriteBack it only journals the file (see there).
func (h *Handle) Flush(ctx context.Context) error {
	if !h.write {
		return nil
	}
	w := h.writer()
	if h.n.v.opts.WriteBack != 0 {
		w.mu.Lock()
		_, err := w.journalLocked()
		w.mu.Unlock()
		if err == nil {
			return nil
		}
		h.n.v.log.Warn("vfs: cannot journal the file for write-back; uploading it now", "path", h.n.Path(), "err", err)
	}
	return w.upload(ctx)
}

// Fsync uploads what the handle's file has that the backend lacks, also
// with write-back: a program that asks for its data to be safe gets it
// stored.
func (h *Handle) Fsync(ctx context.Context) error {
	if !h.write {
		return nil
	}
	return h.writer().upload(ctx)
}

// Release closes the handle: a write handle uploads what is left, and
// the last one drops the temporary file.
func (h *Handle) Release(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	h.rmu.Lock()
	r := h.r
	h.r = nil
	h.rmu.Unlock()
	var err error
	if r != nil {
		err = r.close()
	}
	if h.write {
		err = h.writer().release(ctx)
	}
	return err
}

// newWriteFile makes n's write file: NAME.data in the write area, under
// the name its journal record (NAME.json) will have. The caller holds
// v.mu.
func (v *VFS) newWriteFile(n *Node) (*writeFile, error) {
	f, err := os.CreateTemp(v.area.dir, "w-*.data")
	if err != nil {
		return nil, fmt.Errorf("vfs cache: %w", err)
	}
	return &writeFile{v: v, n: n, f: f, mtime: n.entry.ModTime}, nil
}

// writeFile is the temporary copy of a file open for writing, shared by
// its write handles.
type writeFile struct {
	v *VFS
	n *Node
	f *os.File

	mu         sync.Mutex    // guards the fields below; held across fetch and upload
	size       int64         // +checklocks:mu
	mtime      time.Time     // +checklocks:mu
	base       backend.Entry // +checklocks:mu; the object to fetch
	needFetch  bool          // +checklocks:mu; f does not hold base yet
	dirty      bool          // +checklocks:mu; the backend lacks what f holds
	closed     bool          // +checklocks:mu; released: readers go to the backend
	journalled bool          // +checklocks:mu; f's record is on disk
	gen        uint64        // +checklocks:mu; counts the writes and truncations of f
	jgen       uint64        // +checklocks:mu; gen when the record on disk was written
	jrec       journalRecord // +checklocks:mu; the record on disk, while journalled
	opens      int           // guarded by v.mu: handles sharing this file
}

// attr returns the size and mtime of the file being written; ok is false
// while its old content is still to be fetched, or once it is closed
// (closed is then true: its upload finished, or the VFS ended).
func (w *writeFile) attr() (size int64, mtime time.Time, ok, closed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.needFetch {
		return 0, time.Time{}, false, w.closed
	}
	return w.size, w.mtime, true, false
}

// fetch copies the old content into f: a full, verified read. The caller
// holds w.mu.
func (w *writeFile) fetch(ctx context.Context) error {
	if !w.needFetch {
		return nil
	}
	rc, err := backend.OpenEntry(ctx, w.v.b, w.base, 0, -1)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := w.f.Truncate(0); err != nil {
		return err
	}
	if _, err := w.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := backend.CopyExact(w.f, rc, w.base.Size); err != nil {
		return w.v.perr("fetch", w.base.Path, err)
	}
	if err := rc.Close(); err != nil {
		return w.v.perr("fetch", w.base.Path, err)
	}
	w.size, w.needFetch = w.base.Size, false
	return nil
}

func (w *writeFile) readAt(ctx context.Context, p []byte, off int64) (int, error, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, nil, false
	}
	if w.needFetch && !w.dirty {
		return 0, nil, false // nothing changed yet: read the backend's copy
	}
	if err := w.fetch(ctx); err != nil {
		return 0, err, true
	}
	if off >= w.size {
		return 0, io.EOF, true
	}
	if max := w.size - off; int64(len(p)) > max {
		p = p[:max]
		n, err := w.f.ReadAt(p, off)
		if err == nil {
			err = io.EOF
		}
		return n, err, true
	}
	n, err := w.f.ReadAt(p, off)
	return n, err, true
}

func (w *writeFile) writeAt(ctx context.Context, p []byte, off int64) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.fetch(ctx); err != nil {
		return 0, err
	}
	n, err := w.f.WriteAt(p, off)
	if end := off + int64(n); end > w.size {
		w.size = end
	}
	if n > 0 {
		w.dirty, w.mtime = true, time.Now()
		w.gen++
	}
	return n, err
}

func (w *writeFile) truncate(ctx context.Context, size int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if size == 0 {
		w.needFetch = false // nothing of the old content is needed
	} else if err := w.fetch(ctx); err != nil {
		return err
	}
	if err := w.f.Truncate(size); err != nil {
		return err
	}
	w.size, w.dirty, w.mtime = size, true, time.Now()
	w.gen++
	return nil
}

// setModTime sets the file's mtime: the one its attributes show, and the
// one the next upload gives it. It reports false when no upload is to
// come (the caller sets the backend's time).
func (w *writeFile) setModTime(t time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	// Also when it is not dirty: the node's attributes come from the
	// write file until its last handle goes, and the caller sets the
	// backend's time then.
	w.mtime = t
	return w.dirty
}

// upload stores f at the node's path with backend Put if it is dirty.
func (w *writeFile) upload(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.uploadLocked(ctx, w.v.opts.UploadRetry)
}

// uploadLocked uploads f with backend Put, retried by pol, if it is
// dirty. The caller holds w.mu.
func (w *writeFile) uploadLocked(ctx context.Context, pol retry.Policy) error {
	if !w.dirty {
		return nil
	}
	v := w.v
	p, replaces, ok := w.targetLocked()
	if !ok {
		return nil
	}
	// The journal record is written only when the upload takes longer
	// than journalGrace, or fails, not before it: most small uploads to
	// a near server end first and cost no fsync (data, record, folder)
	// or record to remove, and the record of a slow one costs its close
	// nothing on top of its round trips. What the journal promises holds
	// all the same. A close returns only after both ended, so the file of
	// a close that returned is on the remote or, when the upload failed,
	// in the journal (kept by release, retried in the background and by
	// the next mount). An upload in flight at a crash is journalled too,
	// unless the crash came within its first journalGrace (and the
	// record's fsyncs), when no close had returned: no more is lost than
	// by a crash just before the close. A record whose upload finished
	// first is removed below; if a crash keeps it, the replay finds the
	// file there with its size and mtime and skips it.
	j := w.lazyJournal(p, replaces)
	defer j.end(false)
	if v.crashBeforePut != nil {
		j.end(true)
		if err := v.crashBeforePut(); err != nil {
			return err
		}
	}
	pol.Op = "upload"
	pol.OnRetry = func(attempt int, err error, d time.Duration) {
		v.log.Warn("vfs: upload failed; retrying", "path", p, "attempt", attempt, "in", d, "err", err)
	}
	var e backend.Entry
	err := retry.Do(ctx, pol, func(ctx context.Context) error {
		var err error
		e, err = v.b.Put(ctx, p, io.NewSectionReader(w.f, 0, w.size), w.size, w.mtime)
		return err
	})
	if w.n.parent != nil {
		v.mu.Lock()
		w.n.parent.mut++ // a List during the upload may show both the old and the new object
		v.mu.Unlock()
	}
	j.end(err != nil)
	if err != nil {
		return err
	}
	w.dirty = false
	w.unjournal()
	v.uploaded()
	v.mu.Lock()
	defer v.mu.Unlock()
	if w.n.parent != nil {
		w.n.parent.mut++
	}
	if w.n.entry.Path != p || w.n.gone {
		return nil // renamed or removed during the upload: the next flush or the rename handles it
	}
	old := key(w.n.entry)
	if w.n.local {
		old = fmt.Sprintf("new:%d", w.n.ino)
	}
	w.n.entry, w.n.local = e, false
	v.rekey(w.n, old)
	return nil
}

// journalGrace is how long an upload at close or fsync runs before its
// journal record is written.
const journalGrace = 50 * time.Millisecond

// pendingJournal is the journal record of an upload in flight, written
// by a timer once the upload has run journalGrace.
type pendingJournal struct {
	w     *writeFile
	p     string
	rep   string
	timer *time.Timer
	once  sync.Once
}

// lazyJournal starts the timer of the record of w's upload to p
// (replacing rep). The caller holds w.mu until it called end.
func (w *writeFile) lazyJournal(p, rep string) *pendingJournal {
	j := &pendingJournal{w: w, p: p, rep: rep}
	j.timer = time.AfterFunc(journalGrace, func() { j.once.Do(j.write) })
	return j
}

// write writes the record. The upload's caller holds w.mu all along
// and waits for write (end) before it lets go.
func (j *pendingJournal) write() {
	if err := j.w.journal(j.p, j.rep); err != nil {
		j.w.v.log.Error("vfs: cannot journal the upload; a crash before it finishes loses the write", "path", j.p, "err", err)
	}
}

// end stops the timer and waits for a record being written; need writes
// it now if it was not (the upload failed: release keeps the file for
// its retries). Later calls do nothing.
func (j *pendingJournal) end(need bool) {
	j.timer.Stop()
	j.once.Do(func() {
		if need {
			j.write()
		}
	})
}

// journalLocked writes w's journal record if w is dirty, for the path its
// node has now, and returns that path: "" when there is nothing to upload
// (not dirty, or the file was removed). The caller holds w.mu.
func (w *writeFile) journalLocked() (string, error) {
	p, replaces, ok := w.targetLocked()
	if !ok {
		return "", nil
	}
	return p, w.journal(p, replaces)
}

// targetLocked returns where an upload of w goes now: the path of its
// node and the ID of the object it replaces there ("" for a new file).
// It reports false when there is nothing to upload: w is not dirty, or
// its file was removed (then w is no longer dirty and its record goes).
// The caller holds w.mu.
func (w *writeFile) targetLocked() (p, replaces string, ok bool) {
	if !w.dirty {
		return "", "", false
	}
	v := w.v
	v.mu.Lock()
	p, gone, replaces := w.n.entry.Path, w.n.gone, w.n.entry.ID
	if w.n.local {
		replaces = ""
	}
	v.mu.Unlock()
	if gone {
		w.dirty = false
		w.unjournal()
		return "", "", false
	}
	return p, replaces, true
}

// writeBackLocked is release with Options.WriteBack: the file is
// journalled and the handle counted off; the last one queues the write
// file for its write-back (it stays on the node meanwhile). It reports
// false, having changed nothing, when the journal cannot be written: the
// caller then uploads now. The caller holds w.mu.
func (w *writeFile) writeBackLocked() bool {
	v := w.v
	if _, err := w.journalLocked(); err != nil {
		v.log.Warn("vfs: cannot journal the file for write-back; uploading it now", "path", w.n.Path(), "err", err)
		return false
	}
	if !w.dirty {
		return false // nothing to upload: release ends the write file
	}
	v.mu.Lock()
	w.opens--
	if w.opens == 0 {
		v.failed[w] = true
		v.due[w] = time.Now().Add(max(v.opts.WriteBack, 0))
	}
	v.mu.Unlock()
	select {
	case v.wbWake <- struct{}{}:
	default:
	}
	return true
}

// release counts one handle less; the last one uploads what is left and
// drops the temporary file. When that upload fails, after retries, and
// its journal record is on disk, the write file stays on the node (its
// content is what reads and the next open see) and the retrier uploads
// it in the background; if the VFS ends first, the next VFS over the
// cache dir replays the record.
func (w *writeFile) release(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	v := w.v
	if v.opts.WriteBack != 0 && w.writeBackLocked() {
		return nil
	}
	err := w.uploadLocked(ctx, w.v.opts.UploadRetry)
	v.mu.Lock()
	w.opens--
	last := w.opens == 0
	keep := last && err != nil && w.journalled
	switch {
	case keep:
		v.failed[w] = true
	case last:
		w.n.w = nil
	}
	v.mu.Unlock()
	switch {
	case !last:
		return err
	case keep:
		v.log.Error("vfs: upload failed; the new content is kept in the journal and retried in the background (or by the next mount)", "path", w.n.Path(), "journal", w.f.Name(), "err", err)
		return err
	}
	w.closed = true
	w.f.Close()
	if err != nil {
		v.log.Error("vfs: upload failed and the journal could not be written; the new content is lost when this mount ends", "path", w.n.Path(), "data", w.f.Name(), "err", err)
		return err
	}
	w.unjournal()
	os.Remove(w.f.Name())
	return nil
}

// finishLocked ends a write file no handle uses any more whose content
// the backend has (or that was removed): it leaves its node, and its
// record and data go. The caller holds w.mu.
func (w *writeFile) finishLocked() {
	v := w.v
	v.mu.Lock()
	if w.opens > 0 {
		v.mu.Unlock()
		return
	}
	delete(v.failed, w)
	delete(v.due, w)
	if w.n.w == w {
		w.n.w = nil
	}
	v.mu.Unlock()
	if w.closed {
		return
	}
	w.closed = true
	w.f.Close()
	w.unjournal()
	os.Remove(w.f.Name())
}
