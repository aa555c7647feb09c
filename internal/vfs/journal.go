package vfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"ferry/internal/backend"
	"ferry/internal/retry"
)

// journalVersion is the format of journal records (see doc.go).
const journalVersion = 1

// journalRecord is the JSON record kept beside a write file's data
// (NAME.json beside NAME.data) from before its first upload attempt
// until an upload succeeded.
type journalRecord struct {
	Version  int       `json:"version"`
	Backend  string    `json:"backend"`            // Backend.String() of the remote it belongs to
	Root     string    `json:"root"`               // Options.Root of the VFS that wrote it
	Path     string    `json:"path"`               // the file, relative to Root
	Size     int64     `json:"size"`               // bytes of NAME.data at the time of the record
	ModTime  time.Time `json:"mtime"`              // the mtime the upload gives the file
	Replaces string    `json:"replaces,omitempty"` // Entry.ID of the object the upload replaces
}

// BackendCacheDir returns the directory of cacheDir that holds the write
// areas and journal of backend b: a subdirectory named by the first 16
// hex digits of the SHA-256 of b.String().
func BackendCacheDir(cacheDir string, b backend.Backend) string {
	sum := sha256.Sum256([]byte(b.String()))
	return filepath.Join(cacheDir, hex.EncodeToString(sum[:8]))
}

// area is the write area of a VFS, and the journal areas it replays.
type area struct {
	dir     string   // where this VFS's write files and records go
	primary bool     // dir is the backend's journal dir, locked by this VFS
	unlock  []func() // releases the locks taken
}

// openArea picks v's write area under o.CacheDir: the backend's journal
// dir when its lock is free, else a private write-* dir beside it. It
// returns the records to replay (none for a private area).
func (v *VFS) openArea() ([]*replayJob, error) {
	bdir := BackendCacheDir(v.opts.CacheDir, v.b)
	if err := os.MkdirAll(bdir, 0o700); err != nil {
		return nil, fmt.Errorf("vfs cache dir: %w", err)
	}
	unlock, ok, err := tryLock(filepath.Join(bdir, "lock"))
	if err != nil {
		return nil, fmt.Errorf("vfs cache dir: %w", err)
	}
	if !ok {
		// Another VFS of this remote runs: it owns the journal. Write into
		// a private area, locked so the next owner of the journal knows
		// when it may replay what this one leaves.
		dir, err := os.MkdirTemp(bdir, "write-")
		if err != nil {
			return nil, fmt.Errorf("vfs cache dir: %w", err)
		}
		unlock, _, err := tryLock(filepath.Join(dir, "lock"))
		if err != nil {
			return nil, fmt.Errorf("vfs cache dir: %w", err)
		}
		v.area = area{dir: dir, unlock: []func(){unlock}}
		v.log.Info("vfs: another mount of this remote owns the journal; not replaying it", "cache", bdir)
		return nil, nil
	}
	v.area = area{dir: filepath.Join(bdir, "journal"), primary: true, unlock: []func(){unlock}}
	if err := os.MkdirAll(v.area.dir, 0o700); err != nil {
		unlock()
		return nil, fmt.Errorf("vfs cache dir: %w", err)
	}
	jobs := v.scan(v.area.dir)
	// Private areas of mounts that are gone (their lock is free).
	others, _ := filepath.Glob(filepath.Join(bdir, "write-*"))
	for _, d := range others {
		u, ok, err := tryLock(filepath.Join(d, "lock"))
		if err != nil || !ok {
			continue
		}
		v.area.unlock = append(v.area.unlock, u)
		jobs = append(jobs, v.scan(d)...)
	}
	return jobs, nil
}

// replayJob is one journal record of an earlier VFS to replay.
type replayJob struct {
	dir, name string // NAME.json and NAME.data in dir
	rec       journalRecord

	mu    sync.Mutex // held across each replay attempt, and by unlink and rename of its path
	path  string     // the backend path it goes to (rename retargets it); written with mu and VFS.mu held
	tried bool       // +checklocks:mu; a replay failed: the retrier takes it
	done  bool       // +checklocks:mu; replayed, skipped or dropped: record and data are gone
}

// scan reads the journal records of dir and removes what a crash left
// that is no journal: data without a record (a file never flushed) and
// half-written records.
func (v *VFS) scan(dir string) []*replayJob {
	des, err := os.ReadDir(dir)
	if err != nil {
		v.log.Error("vfs: reading the journal", "dir", dir, "err", err)
		return nil
	}
	have := map[string]bool{}
	for _, de := range des {
		have[de.Name()] = true
	}
	var jobs []*replayJob
	for _, de := range des {
		fn := de.Name()
		switch {
		case strings.HasSuffix(fn, ".json.tmp"):
			os.Remove(filepath.Join(dir, fn))
		case strings.HasSuffix(fn, ".data") && !have[strings.TrimSuffix(fn, ".data")+".json"]:
			os.Remove(filepath.Join(dir, fn))
		case strings.HasSuffix(fn, ".json"):
			name := strings.TrimSuffix(fn, ".json")
			b, err := os.ReadFile(filepath.Join(dir, fn))
			var rec journalRecord
			if err == nil {
				err = json.Unmarshal(b, &rec)
			}
			if err == nil && rec.Version != journalVersion {
				err = fmt.Errorf("journal version %d, want %d", rec.Version, journalVersion)
			}
			if err != nil {
				v.log.Error("vfs: unreadable journal record kept, not replayed", "file", filepath.Join(dir, fn), "err", err)
				continue
			}
			if rec.Backend != v.b.String() {
				v.log.Warn("vfs: journal record of another remote kept, not replayed", "file", filepath.Join(dir, fn), "remote", rec.Backend, "path", rec.Path)
				continue
			}
			p, err := backend.Clean(backend.Join(rec.Root, rec.Path))
			if err != nil {
				v.log.Error("vfs: journal record with a bad path kept, not replayed", "file", filepath.Join(dir, fn), "err", err)
				continue
			}
			jobs = append(jobs, &replayJob{dir: dir, name: name, rec: rec, path: p})
		}
	}
	return jobs
}

// addPending records jobs as pending replays, for unlink and rename.
func (v *VFS) addPending(jobs []*replayJob) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, j := range jobs {
		v.pending[j] = true
	}
}

// replay finishes the journalled uploads of earlier VFSs with the
// upload retries; what still fails goes to the retrier. It runs in the
// background from New.
func (v *VFS) replay(ctx context.Context, jobs []*replayJob) {
	defer v.wg.Done()
	defer close(v.replayed)
	for _, j := range jobs {
		if ctx.Err() != nil {
			return
		}
		v.replayOne(ctx, j, v.opts.UploadRetry)
	}
}

// replayOne uploads one journalled file unless what is at its path now
// is newer (the rule in doc.go), retried by pol. It reports whether the
// job is done (uploaded, skipped or dropped); a job not done stays
// journalled and is marked for the retrier.
func (v *VFS) replayOne(ctx context.Context, j *replayJob, pol retry.Policy) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.done {
		return true
	}
	rec, p := j.rec, j.path
	f, err := os.Open(filepath.Join(j.dir, j.name+".data"))
	if err != nil {
		v.log.Error("vfs: journal record without its data; nothing to upload", "path", p, "err", err)
		v.dropJob(j)
		return true
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		v.log.Error("vfs: journalled data unreadable; kept", "path", p, "err", err)
		j.tried = true
		return false
	}
	size := st.Size()
	if size != rec.Size {
		v.log.Warn("vfs: journalled file was written after its last flush; uploading what the cache holds", "path", p, "size", size, "journalled", rec.Size)
	}
	if v.writing(p) {
		v.log.Info("vfs: journalled upload skipped: the file is being written again through this mount", "path", p)
		v.dropJob(j)
		return true
	}
	prec := backend.Precision(v.b)
	var skip string
	pol.Op = "replay"
	pol.OnRetry = func(attempt int, err error, d time.Duration) {
		v.log.Warn("vfs: journal replay failed; retrying", "path", p, "attempt", attempt, "in", d, "err", err)
	}
	err = retry.Do(ctx, pol, func(ctx context.Context) error {
		skip = ""
		cur, err := v.b.Stat(ctx, p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return err
		case cur.IsDir:
			return v.perr("replay", p, backend.ErrIsDir)
		case cur.ID != "" && cur.ID == rec.Replaces:
			// Still the object the write replaces: upload.
		case cur.ModTime.Truncate(prec).After(rec.ModTime.Truncate(prec)):
			skip = "the destination is newer than the journalled write (mtime " + cur.ModTime.Format(time.RFC3339Nano) + ")"
			return nil
		case cur.Size == size && cur.ModTime.Truncate(prec).Equal(rec.ModTime.Truncate(prec)):
			skip = "the destination already has the journalled size and mtime (the upload finished before the crash)"
			return nil
		}
		_, err = v.b.Put(ctx, p, io.NewSectionReader(f, 0, size), size, rec.ModTime)
		return err
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return false // the VFS is closing: replayed on the next mount
	case err != nil:
		v.log.Error("vfs: journalled upload failed; kept, retried in the background (or by the next mount)", "path", p, "file", f.Name(), "err", err)
		j.tried = true
		return false
	case skip != "":
		v.log.Warn("vfs: journalled upload not replayed: "+skip, "path", p, "mtime", rec.ModTime)
	default:
		v.log.Info("vfs: journalled upload finished", "path", p, "size", size)
		v.uploaded()
	}
	v.dropJob(j)
	v.changed([]string{backend.Dir(p)})
	return true
}

// dropJob removes j's record, then its data, and a private area left
// without records. The caller holds j.mu.
func (v *VFS) dropJob(j *replayJob) {
	os.Remove(filepath.Join(j.dir, j.name+".json"))
	os.Remove(filepath.Join(j.dir, j.name+".data"))
	j.done = true
	v.mu.Lock()
	delete(v.pending, j)
	v.mu.Unlock()
	if j.dir != v.area.dir {
		if left, _ := filepath.Glob(filepath.Join(j.dir, "*.json")); len(left) == 0 {
			os.RemoveAll(j.dir)
		}
	}
}

// lockPending locks and returns the pending replays whose path match
// accepts, in name order (the order every caller locks them in).
func (v *VFS) lockPending(match func(p string) bool) []*replayJob {
	v.mu.Lock()
	var js []*replayJob
	for j := range v.pending {
		if match(j.path) {
			js = append(js, j)
		}
	}
	v.mu.Unlock()
	slices.SortFunc(js, func(a, b *replayJob) int { return strings.Compare(a.dir+"/"+a.name, b.dir+"/"+b.name) })
	out := js[:0]
	for _, j := range js {
		j.mu.Lock()
		if !j.done && match(j.path) {
			out = append(out, j)
			continue
		}
		j.mu.Unlock()
	}
	return out
}

// isUnder reports whether backend path p is inside directory dir.
func isUnder(p, dir string) bool {
	return dir == "" && p != "" || strings.HasPrefix(p, dir+"/")
}

func unlockJobs(js []*replayJob) {
	for _, j := range js {
		j.mu.Unlock()
	}
}

// dropJobs drops pending replays whose file was removed through this
// VFS, so it does not come back. The caller holds their mu.
func (v *VFS) dropJobs(js []*replayJob, why string) {
	for _, j := range js {
		v.log.Info("vfs: journalled upload dropped: "+why, "path", j.path)
		v.dropJob(j)
	}
}

// retargetJobs gives the pending replays of a file or directory moved
// from src to dst their new path, in memory and in their records. The
// caller holds their mu.
func (v *VFS) retargetJobs(js []*replayJob, src, dst string) {
	for _, j := range js {
		np := dst + strings.TrimPrefix(j.path, src)
		rec := j.rec
		rec.Root, rec.Path = v.rootPath, strings.TrimPrefix(strings.TrimPrefix(np, v.rootPath), "/")
		if err := writeRecord(filepath.Join(j.dir, j.name), rec); err != nil {
			v.log.Error("vfs: cannot retarget a journal record; the next mount uploads it under its old name", "path", j.path, "to", np, "err", err)
		}
		v.log.Info("vfs: journalled upload follows a rename", "path", j.path, "to", np)
		v.mu.Lock()
		j.rec, j.path = rec, np
		v.mu.Unlock()
	}
}

// uploaded tells the retrier that an upload succeeded: the backend works,
// so the failed uploads are tried again now.
func (v *VFS) uploaded() {
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// retrier tries the failed uploads again in the background: released
// write files whose upload failed (v.failed) and replays that failed,
// one attempt each per round. Rounds come Options.RetryFailed apart,
// doubling after a round with a failure up to 8 times that, and at once
// when an upload succeeded elsewhere.
func (v *VFS) retrier(ctx context.Context) {
	defer v.wg.Done()
	wait := v.opts.RetryFailed
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-v.wake:
			t.Stop()
		}
		ws, js := v.retryWork(false)
		if len(ws)+len(js) == 0 {
			wait = v.opts.RetryFailed
			continue
		}
		v.log.Info("vfs: retrying failed uploads in the background", "count", len(ws)+len(js))
		failed := v.retryOnce(ctx, ws, js)
		if ctx.Err() != nil {
			return
		}
		select { // this round's own successes need no second round
		case <-v.wake:
		default:
		}
		if len(failed) == 0 {
			wait = v.opts.RetryFailed
			continue
		}
		wait = min(2*wait, maxRetryFailedFactor*v.opts.RetryFailed)
		v.log.Warn("vfs: uploads still failing; retrying in the background", "count", len(failed), "in", wait, "err", errors.Join(failed...))
	}
}

// retryWork returns what the retrier has to do; with all, also the write
// files still waiting for their write-back.
func (v *VFS) retryWork(all bool) ([]*writeFile, []*replayJob) {
	v.mu.Lock()
	ws := make([]*writeFile, 0, len(v.failed))
	for w := range v.failed {
		if _, waiting := v.due[w]; !waiting || all {
			ws = append(ws, w)
		}
	}
	var js []*replayJob
	for j := range v.pending {
		js = append(js, j)
	}
	v.mu.Unlock()
	return ws, js
}

// retryOnce makes one attempt at each of ws and at each of js that a
// replay already failed, and returns the errors of those that failed.
func (v *VFS) retryOnce(ctx context.Context, ws []*writeFile, js []*replayJob) []error {
	failed := v.uploadWaiting(ctx, ws, retry.Policy{MaxAttempts: -1})
	once := retry.Policy{MaxAttempts: -1}
	for _, j := range js {
		j.mu.Lock()
		tried, p := j.tried && !j.done, j.path
		j.mu.Unlock()
		if tried && !v.replayOne(ctx, j, once) {
			failed = append(failed, v.perr("replay", p, errors.New("journalled upload failed")))
		}
	}
	return failed
}

// uploadWaiting uploads the released write files ws with pol,
// Options.Transfers at a time, and returns the errors of those that
// failed (they stay queued for the retrier).
func (v *VFS) uploadWaiting(ctx context.Context, ws []*writeFile, pol retry.Policy) []error {
	var (
		mu     sync.Mutex
		failed []error
		g      errgroup.Group
	)
	g.SetLimit(v.opts.Transfers)
	for _, w := range ws {
		g.Go(func() error {
			if err := w.retry(ctx, pol); err != nil {
				mu.Lock()
				failed = append(failed, err)
				mu.Unlock()
			}
			return nil
		})
	}
	g.Wait()
	return failed
}

// writeBacker uploads the write files queued for write-back (v.due) as
// they fall due, with Options.UploadRetry; one that still fails is left
// to the retrier.
func (v *VFS) writeBacker(ctx context.Context) {
	defer v.wg.Done()
	for {
		v.mu.Lock()
		now, next := time.Now(), time.Duration(0)
		var ws []*writeFile
		for w, t := range v.due {
			if d := t.Sub(now); d <= 0 {
				ws = append(ws, w)
				delete(v.due, w)
			} else if next == 0 || d < next {
				next = d
			}
		}
		v.mu.Unlock()
		if len(ws) > 0 {
			if failed := v.uploadWaiting(ctx, ws, v.opts.UploadRetry); len(failed) > 0 && ctx.Err() == nil {
				v.log.Warn("vfs: write-back uploads failed; retrying in the background", "count", len(failed), "err", errors.Join(failed...))
			}
			continue
		}
		if next == 0 {
			next = time.Hour // nothing queued: wait for wbWake
		}
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-v.wbWake:
			t.Stop()
		case <-t.C:
		}
	}
}

// Sync tries once more, now, the uploads kept for a retry (failed at
// release, or replays that failed) and uploads the files waiting for
// their write-back, and returns the errors of those that still fail;
// they stay journalled for the next VFS. A mount calls it before Close,
// once its FUSE server has ended: a file still open then, whose last
// flush journalled it for write-back, is uploaded too (the kernel can
// end a lazily unmounted connection before its release arrives).
func (v *VFS) Sync(ctx context.Context) error {
	v.queueFlushed()
	ws, js := v.retryWork(true)
	if len(ws)+len(js) == 0 {
		return nil
	}
	return errors.Join(v.retryOnce(ctx, ws, js)...)
}

// queueFlushed queues for upload the write files still open whose
// content a flush journalled for write-back and no upload has sent.
func (v *VFS) queueFlushed() {
	if v.opts.WriteBack == 0 {
		return // a flush uploads
	}
	v.mu.Lock()
	var open []*writeFile
	for _, n := range v.byKey {
		if w := n.w; w != nil && w.opens > 0 {
			open = append(open, w)
		}
	}
	v.mu.Unlock()
	for _, w := range open {
		w.mu.Lock()
		flushed := w.journalled && w.dirty && !w.closed
		w.mu.Unlock()
		if flushed {
			v.mu.Lock()
			v.failed[w] = true
			v.mu.Unlock()
		}
	}
}

// retry makes one upload of a released write file whose upload failed,
// with pol, and ends it when that worked. The error is nil when it is
// done.
func (w *writeFile) retry(ctx context.Context, pol retry.Policy) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	v := w.v
	v.mu.Lock()
	queued, p := v.failed[w], w.n.entry.Path
	v.mu.Unlock()
	if !queued || w.closed {
		return nil
	}
	if err := w.uploadLocked(ctx, pol); err != nil {
		return v.perr("upload", p, err)
	}
	v.log.Info("vfs: upload finished in the background", "path", p, "size", w.size)
	w.finishLocked()
	return nil
}

// dropLocked forgets what w has not uploaded: the file it is for was
// removed or replaced, so the upload must never happen, also not after
// a crash. The caller holds w.mu.
func (w *writeFile) dropLocked() {
	w.dirty = false
	w.unjournal()
	w.finishLocked()
}

// closeFailed closes the write files kept for a retry; their records and
// data stay for the next VFS.
func (v *VFS) closeFailed() {
	v.mu.Lock()
	ws := make([]*writeFile, 0, len(v.failed))
	for w := range v.failed {
		ws = append(ws, w)
	}
	v.mu.Unlock()
	for _, w := range ws {
		w.mu.Lock()
		if !w.closed {
			w.closed = true
			w.f.Close()
		}
		w.mu.Unlock()
	}
}

// writing reports whether a node at backend path p has a write file.
func (v *VFS) writing(p string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, n := range v.byKey {
		if n.w != nil && n.entry.Path == p && !n.gone {
			return true
		}
	}
	return false
}

// journal writes w's record atomically (see writeRecord) after syncing
// the data, so a crash leaves either the previous record or this one,
// each with its data on disk. The caller holds w.mu.
func (w *writeFile) journal(p, replaces string) error {
	v := w.v
	rel := strings.TrimPrefix(strings.TrimPrefix(p, v.rootPath), "/")
	rec := journalRecord{Version: journalVersion, Backend: v.b.String(), Root: v.rootPath, Path: rel, Size: w.size, ModTime: w.mtime, Replaces: replaces}
	if w.journalled && w.jgen == w.gen && w.jrec == rec {
		return nil // on disk already: nothing was written since (a write-back release after its flush)
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	if err := writeRecord(strings.TrimSuffix(w.f.Name(), ".data"), rec); err != nil {
		return err
	}
	w.journalled, w.jgen, w.jrec = true, w.gen, rec
	return nil
}

// writeRecord writes rec to base+".json" atomically: a temporary file,
// fsync, rename, fsync of the directory.
func writeRecord(base string, rec journalRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	tmp := base + ".json.tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, base+".json")
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(filepath.Dir(base)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// unjournal removes w's record. The caller holds w.mu.
func (w *writeFile) unjournal() {
	if !w.journalled {
		return
	}
	if err := os.Remove(strings.TrimSuffix(w.f.Name(), ".data") + ".json"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.v.log.Warn("vfs: removing a journal record", "err", err)
	}
	w.journalled = false
}

// closeArea removes the data of write files that were never flushed
// (they have no record) and, for a private area left with no record,
// the area itself; then it releases the locks.
func (v *VFS) closeArea() error {
	var err error
	if des, rerr := os.ReadDir(v.area.dir); rerr == nil {
		have := map[string]bool{}
		for _, de := range des {
			have[de.Name()] = true
		}
		records := 0
		for _, de := range des {
			fn := de.Name()
			switch {
			case strings.HasSuffix(fn, ".json"):
				records++
			case strings.HasSuffix(fn, ".data") && !have[strings.TrimSuffix(fn, ".data")+".json"], strings.HasSuffix(fn, ".json.tmp"):
				if rerr := os.Remove(filepath.Join(v.area.dir, fn)); rerr != nil && err == nil {
					err = rerr
				}
			}
		}
		if records > 0 {
			v.log.Warn("vfs: uploads left in the journal for the next mount", "count", records, "dir", v.area.dir)
		} else if !v.area.primary {
			err = os.RemoveAll(v.area.dir)
		}
	}
	for _, u := range v.area.unlock {
		u()
	}
	v.area.unlock = nil
	return err
}
