package repo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// cache is the local cache: CacheDir/backup/<repo id>/ holds encrypted
// objects of index/, snapshots/ and tree/ exactly as stored, under their
// names. Objects are named by the SHA-256 of their content and never
// change, so an entry is valid as long as the object exists; entries
// whose object left the listing are removed. A nil *cache caches nothing.
type cache struct {
	dir string
	log *slog.Logger
}

func (r *Repository) openCache() error {
	if r.opts.CacheDir == "" {
		return nil
	}
	dir := filepath.Join(r.opts.CacheDir, "backup", r.cfg.ID.String())
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("repo: local cache: %w", err)
	}
	r.cache = &cache{dir: dir, log: r.log}
	return nil
}

// Cache marks (files in the repository's cache directory, not objects):
// markScanned says an Open listed the packs once; markUnfinished says a
// Repository of this cache uploaded packs (or found unindexed ones) and
// has not indexed them yet. While it is there, Open lists the packs to
// find what a killed run left.
const (
	markScanned    = "packs-scanned"
	markUnfinished = "run-unfinished"
)

// setUnfinished records, once, that packs wait for an index.
func (r *Repository) setUnfinished() {
	if r.cache == nil {
		return
	}
	r.mu.Lock()
	set := !r.dirty
	r.dirty = true
	r.mu.Unlock()
	if set {
		r.cache.put(markUnfinished, nil)
	}
}

// clearUnfinished drops the mark once everything uploaded is indexed.
func (r *Repository) clearUnfinished() {
	if r.cache == nil {
		return
	}
	r.mu.Lock()
	clear := r.dirty && len(r.fresh) == 0 && r.uploads.idle()
	if clear {
		r.dirty = false
	}
	r.mu.Unlock()
	if clear {
		r.cache.remove(markUnfinished)
	}
}

// pruneTreeCache drops cached tree packs the index does not know (a prune
// elsewhere deleted them), when Open did not list the packs.
func (r *Repository) pruneTreeCache() {
	r.mu.Lock()
	live := map[ID]int64{}
	for id, m := range r.idx.packs {
		if m.Type == TreeBlob {
			live[id] = m.Size
		}
	}
	r.mu.Unlock()
	r.cache.prune("tree", live)
}

func (c *cache) path(name string) string { return filepath.Join(c.dir, filepath.FromSlash(name)) }

// hintPath is the file naming the repository last opened at r's
// backend: CacheDir/backup/locations/<SHA-256 of the backend's name>.
func (r *Repository) hintPath() string {
	h := sha256.Sum256([]byte(r.be.String()))
	return filepath.Join(r.opts.CacheDir, "backup", "locations", hex.EncodeToString(h[:]))
}

// cacheHint returns the cache of the repository last opened at r's
// backend, or nil. It is only a hint: what Open takes from it must pass
// the same checks as a download (a key opens with the password, the
// config decrypts under the keys).
func (r *Repository) cacheHint() *cache {
	if r.opts.CacheDir == "" {
		return nil
	}
	b, err := os.ReadFile(r.hintPath())
	if err != nil {
		return nil
	}
	id, err := ParseID(strings.TrimSpace(string(b)))
	if err != nil {
		return nil
	}
	return &cache{dir: filepath.Join(r.opts.CacheDir, "backup", id.String()), log: r.log}
}

// saveCacheHint records that r's backend holds repository r.ID().
func (r *Repository) saveCacheHint() {
	if r.cache == nil {
		return
	}
	p := r.hintPath()
	if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) == r.cfg.ID.String() {
		return
	}
	hc := &cache{dir: filepath.Dir(p), log: r.log}
	if err := hc.write(filepath.Base(p), func(f *os.File) error {
		_, err := f.WriteString(r.cfg.ID.String() + "\n")
		return err
	}); err != nil {
		r.log.Warn("local cache: cannot record the repository's location", "err", err)
	}
}

// get returns the cached object name, or false.
func (c *cache) get(name string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	b, err := os.ReadFile(c.path(name))
	if err != nil {
		return nil, false
	}
	return b, true
}

// put stores an object (best effort: a cache that cannot be written only
// costs downloads).
func (c *cache) put(name string, b []byte) {
	if c == nil {
		return
	}
	if err := c.write(name, func(f *os.File) error { _, err := f.Write(b); return err }); err != nil {
		c.log.Warn("local cache: cannot store object", "name", name, "err", err)
	}
}

// write creates the entry name atomically from what fill writes.
func (c *cache) write(name string, fill func(*os.File) error) error {
	p := c.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	err = fill(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// has reports whether the cache holds name.
func (c *cache) has(name string) bool {
	if c == nil {
		return false
	}
	_, err := os.Stat(c.path(name))
	return err == nil
}

// openFile opens a cached object for ranged reads.
func (c *cache) openFile(name string) (*os.File, bool) {
	if c == nil {
		return nil, false
	}
	f, err := os.Open(c.path(name))
	if err != nil {
		return nil, false
	}
	return f, true
}

// remove drops one entry.
func (c *cache) remove(name string) {
	if c == nil {
		return
	}
	if err := os.Remove(c.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.log.Warn("local cache: cannot remove object", "name", name, "err", err)
	}
}

// prune removes the entries under dir (index, snapshots, or tree with its
// two-digit subdirectories) whose IDs are not in live.
func (c *cache) prune(dir string, live map[ID]int64) {
	if c == nil {
		return
	}
	root := c.path(dir)
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".tmp-") {
			os.Remove(p)
			return nil
		}
		id, err := ParseID(d.Name())
		if err != nil || !hasID(live, id) {
			os.Remove(p)
		}
		return nil
	})
}

func hasID(m map[ID]int64, id ID) bool { _, ok := m[id]; return ok }

// cachePack downloads a whole pack into the cache, checking that its
// content matches its name (SHA-256), and returns it opened.
func (r *Repository) cachePack(ctx context.Context, t BlobType, pack ID) (*os.File, error) {
	name := packPath(t, pack)
	rc, err := r.be.Open(ctx, name, 0, -1)
	if err != nil {
		return nil, fmt.Errorf("repo: read %s: %w", name, err)
	}
	defer rc.Close()
	var n int64
	err = r.cache.write(name, func(f *os.File) error {
		h := newHashWriter(f)
		var err error
		if n, err = io.Copy(h, rc); err != nil {
			return err
		}
		if err := rc.Close(); err != nil {
			return err
		}
		if h.sum() != pack {
			return fmt.Errorf("%w: content does not match its name", ErrCorrupt)
		}
		return nil
	})
	r.st.objectsRead.Add(1)
	r.st.bytesDownloaded.Add(n)
	if err != nil {
		return nil, fmt.Errorf("repo: cache %s: %w", name, err)
	}
	f, ok := r.cache.openFile(name)
	if !ok {
		return nil, fmt.Errorf("repo: cache %s: vanished", name)
	}
	return f, nil
}
