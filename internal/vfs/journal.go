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
	"strings"
	"time"

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
func (v *VFS) openArea() ([]replayJob, error) {
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

// replayJob is one journal record to replay.
type replayJob struct {
	dir, name string // NAME.json and NAME.data in dir
	rec       journalRecord
}

// scan reads the journal records of dir and removes what a crash left
// that is no journal: data without a record (a file never flushed) and
// half-written records.
func (v *VFS) scan(dir string) []replayJob {
	des, err := os.ReadDir(dir)
	if err != nil {
		v.log.Error("vfs: reading the journal", "dir", dir, "err", err)
		return nil
	}
	have := map[string]bool{}
	for _, de := range des {
		have[de.Name()] = true
	}
	var jobs []replayJob
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
			jobs = append(jobs, replayJob{dir: dir, name: name, rec: rec})
		}
	}
	return jobs
}

// replay finishes the journalled uploads, then drops private areas it
// emptied. It runs in the background from New.
func (v *VFS) replay(ctx context.Context, jobs []replayJob) {
	defer v.wg.Done()
	defer close(v.replayed)
	for _, j := range jobs {
		if ctx.Err() != nil {
			return
		}
		v.replayOne(ctx, j)
	}
	if ctx.Err() != nil {
		return
	}
	dirs := map[string]bool{}
	for _, j := range jobs {
		dirs[j.dir] = true
	}
	for d := range dirs {
		if d == v.area.dir {
			continue
		}
		if left, _ := filepath.Glob(filepath.Join(d, "*.json")); len(left) == 0 {
			os.RemoveAll(d)
		}
	}
}

// replayOne uploads one journalled file unless what is at its path now
// is newer (the rule in doc.go).
func (v *VFS) replayOne(ctx context.Context, j replayJob) {
	rec := j.rec
	p, err := backend.Clean(backend.Join(rec.Root, rec.Path))
	if err != nil {
		v.log.Error("vfs: journal record with a bad path kept, not replayed", "file", filepath.Join(j.dir, j.name+".json"), "err", err)
		return
	}
	f, err := os.Open(filepath.Join(j.dir, j.name+".data"))
	if err != nil {
		v.log.Error("vfs: journal record without its data; nothing to upload", "path", p, "err", err)
		os.Remove(filepath.Join(j.dir, j.name+".json"))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		v.log.Error("vfs: journalled data unreadable; kept", "path", p, "err", err)
		return
	}
	size := st.Size()
	if size != rec.Size {
		v.log.Warn("vfs: journalled file was written after its last flush; uploading what the cache holds", "path", p, "size", size, "journalled", rec.Size)
	}
	if v.writing(p) {
		v.log.Info("vfs: journalled upload skipped: the file is being written again through this mount", "path", p)
		v.dropJournal(j)
		return
	}
	prec := backend.Precision(v.b)
	var skip string
	pol := v.opts.UploadRetry
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
		return // the VFS is closing: replayed on the next mount
	case err != nil:
		v.log.Error("vfs: journalled upload failed; kept for the next mount", "path", p, "file", f.Name(), "err", err)
		return
	case skip != "":
		v.log.Warn("vfs: journalled upload not replayed: "+skip, "path", p, "mtime", rec.ModTime)
	default:
		v.log.Info("vfs: journalled upload finished", "path", p, "size", size)
	}
	v.dropJournal(j)
	v.changed([]string{backend.Dir(p)})
}

// dropJournal removes j's record, then its data.
func (v *VFS) dropJournal(j replayJob) {
	os.Remove(filepath.Join(j.dir, j.name+".json"))
	os.Remove(filepath.Join(j.dir, j.name+".data"))
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

// journal writes w's record atomically (temporary file, fsync, rename,
// fsync of the directory) after syncing the data, so a crash leaves
// either the previous record or this one, each with its data on disk.
// The caller holds w.mu.
func (w *writeFile) journal(p, replaces string) error {
	v := w.v
	rel := strings.TrimPrefix(strings.TrimPrefix(p, v.rootPath), "/")
	rec := journalRecord{Version: journalVersion, Backend: v.b.String(), Root: v.rootPath, Path: rel, Size: w.size, ModTime: w.mtime, Replaces: replaces}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	base := strings.TrimSuffix(w.f.Name(), ".data")
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
	w.journalled = true
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
