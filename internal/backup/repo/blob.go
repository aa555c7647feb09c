package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
)

// bufPool holds buffers for sealed blobs.
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

// BlobID returns the ID a blob with this plaintext has: HMAC-SHA256 under
// the repository's ID key.
func (r *Repository) BlobID(plain []byte) ID { return r.c.blobID(plain) }

// HasBlob reports whether SaveBlob of a blob with this ID would store
// nothing: it is in an uploaded pack that no prune mark names, or in a
// pack being assembled.
func (r *Repository) HasBlob(t BlobType, id ID) bool {
	k := blobKey{t, id}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending[k] {
		return true
	}
	_, live, _ := r.idx.lookup(k, r.marked)
	return live
}

// SaveBlob stores plain (the caller keeps ownership of the slice only until
// return) unless a blob with that ID is known; it returns the ID, whether
// it was new, and the stored (encrypted) size. A blob whose only copies
// are in packs a prune mark names is stored again. SaveBlob is safe for
// concurrent use; packs are filled in temporary files and uploaded in the
// background, at most Options.Uploads at once (SaveBlob waits for a slot
// when a pack fills). A pack's upload outlives the call that filled it:
// it keeps that ctx's values but not its cancellation, and Flush's ctx or
// Close stops it. An upload error is returned by a later SaveBlob and by
// Flush.
func (r *Repository) SaveBlob(ctx context.Context, t BlobType, plain []byte) (id ID, added bool, stored int, err error) {
	return r.saveBlob(ctx, t, plain, false)
}

// saveBlob is SaveBlob; with force it stores a fresh copy even of a blob
// an uploaded pack holds (Repack), unless one is being stored already.
func (r *Repository) saveBlob(ctx context.Context, t BlobType, plain []byte, force bool) (id ID, added bool, stored int, err error) {
	if !t.valid() {
		return ID{}, false, 0, fmt.Errorf("repo: save blob: invalid type %d", t)
	}
	if len(plain) > maxBlobSize {
		return ID{}, false, 0, fmt.Errorf("repo: save blob: %d bytes, more than the %d a blob may hold", len(plain), maxBlobSize)
	}
	if err := ctx.Err(); err != nil {
		return ID{}, false, 0, err
	}
	id = r.c.blobID(plain)
	k := blobKey{t, id}
	r.mu.Lock()
	if err := r.failed; err != nil {
		r.mu.Unlock()
		return id, false, 0, err
	}
	_, live, _ := r.idx.lookup(k, r.marked)
	if (live && !force) || r.pending[k] {
		r.mu.Unlock()
		r.st.blobsKnown.Add(1)
		return id, false, 0, nil
	}
	r.pending[k] = true
	r.mu.Unlock()

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	sealed, compressed, err := r.encodeBlob((*bp)[:0], plain)
	if err != nil {
		r.unpend(k)
		return id, false, 0, err
	}
	*bp = sealed
	if err := r.addToPack(ctx, t, id, sealed, len(plain), compressed); err != nil {
		r.unpend(k)
		return id, false, 0, err
	}
	r.st.blobsNew.Add(1)
	r.st.bytesNew.Add(int64(len(plain)))
	r.st.bytesStored.Add(int64(len(sealed)))
	return id, true, len(sealed), nil
}

func (r *Repository) unpend(k blobKey) {
	r.mu.Lock()
	delete(r.pending, k)
	r.mu.Unlock()
}

// encodeBlob compresses plain where that helps and seals it, appending
// to dst.
func (r *Repository) encodeBlob(dst, plain []byte) ([]byte, bool, error) {
	zp := bufPool.Get().(*[]byte)
	defer bufPool.Put(zp)
	body, compressed := plain, false
	if z := compress(r.cfg.Compression, (*zp)[:0], plain); z != nil {
		*zp = z
		body, compressed = z, true
	}
	sealed, err := r.c.seal(dst, body)
	return sealed, compressed, err
}

// addToPack appends a sealed blob to the open pack of its type, and
// starts the upload of the pack once it is full.
func (r *Repository) addToPack(ctx context.Context, t BlobType, id ID, sealed []byte, rawLen int, compressed bool) error {
	r.packMu[t].Lock()
	p := r.packers[t]
	if p == nil {
		dir, err := r.tempDir()
		if err == nil {
			p, err = newPacker(dir, t)
		}
		if err != nil {
			r.packMu[t].Unlock()
			return err
		}
		r.packers[t] = p
	}
	if err := p.add(id, sealed, rawLen, compressed); err != nil {
		r.packers[t] = nil
		r.packMu[t].Unlock()
		p.discard()
		r.fail(err)
		return err
	}
	if !p.full(r.cfg.PackSize) {
		r.packMu[t].Unlock()
		return nil
	}
	r.packers[t] = nil
	r.packMu[t].Unlock()
	return r.startUpload(ctx, p)
}

// startUpload finishes p and uploads it in the background once an upload
// slot is free.
func (r *Repository) startUpload(ctx context.Context, p *packer) error {
	if err := ctx.Err(); err != nil {
		p.discard()
		r.fail(err)
		return err
	}
	e, err := p.finish(r.c)
	if err != nil {
		p.discard()
		r.fail(err)
		return err
	}
	select {
	case r.uploadSem <- struct{}{}:
	case <-ctx.Done():
		p.discard()
		r.fail(ctx.Err())
		return ctx.Err()
	}
	// The upload outlives the call that filled the pack (an archiver's
	// per-file or errgroup ctx ends before its Flush): it keeps ctx's
	// values, not its cancellation. Flush's ctx and Close stop it.
	r.setUnfinished()
	uctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	n := r.uploads.add(cancel)
	go func() {
		defer r.uploads.done(n)
		defer func() { <-r.uploadSem }()
		if err := r.upload(uctx, p, e); err != nil {
			r.fail(err)
		}
	}()
	return nil
}

// waitUploads waits for the uploads in flight; if ctx ends first, it
// cancels them and returns ctx's error once they have stopped.
func (r *Repository) waitUploads(ctx context.Context) error {
	stop := context.AfterFunc(ctx, r.uploads.cancelAll)
	r.uploads.wait()
	if !stop() {
		return ctx.Err()
	}
	return nil
}

// fail records the first background error; SaveBlob and Flush return it
// from then on.
func (r *Repository) fail(err error) {
	r.mu.Lock()
	if r.failed == nil {
		r.failed = err
		r.log.Error("repository write failed", "repo", r.be.String(), "err", err)
	}
	r.mu.Unlock()
}

// Flush finishes the open packs, waits for every upload, and writes one
// index object listing the packs uploaded (or found unindexed at Open)
// since the last Flush. With nothing new it writes nothing.
func (r *Repository) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, t := range []BlobType{DataBlob, TreeBlob} {
		r.packMu[t].Lock()
		p := r.packers[t]
		r.packers[t] = nil
		r.packMu[t].Unlock()
		if p != nil {
			if err := r.startUpload(ctx, p); err != nil {
				r.waitUploads(ctx)
				return err
			}
		}
	}
	if err := r.waitUploads(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	if err := r.failed; err != nil {
		r.mu.Unlock()
		return err
	}
	fresh := r.fresh
	r.fresh = nil
	r.mu.Unlock()
	if len(fresh) > 0 {
		if err := r.confirmCreated(ctx); err != nil {
			r.mu.Lock()
			r.fresh = append(fresh, r.fresh...)
			r.mu.Unlock()
			return err
		}
		if _, err := r.writeIndex(ctx, fresh); err != nil {
			r.mu.Lock()
			r.fresh = append(fresh, r.fresh...)
			r.mu.Unlock()
			return err
		}
	}
	r.clearUnfinished()
	return nil
}

// Lookup returns where a blob is stored (preferring a pack no prune mark
// names), for readers that fetch pack ranges themselves.
func (r *Repository) Lookup(t BlobType, id ID) (PackedBlob, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pb, _, ok := r.idx.lookup(blobKey{t, id}, r.marked)
	return pb, ok
}

// OpenPackRange reads length bytes at off of a pack of blob type t. Tree
// packs are read from the local cache, which fetches whole tree packs.
func (r *Repository) OpenPackRange(ctx context.Context, pack ID, t BlobType, off, length int64) (io.ReadCloser, error) {
	if !t.valid() {
		return nil, fmt.Errorf("repo: open pack %s: invalid blob type %d", pack, t)
	}
	name := packPath(t, pack)
	if t == TreeBlob && r.cache != nil {
		f, err := r.openCachedPack(ctx, t, pack)
		if err != nil {
			return nil, err
		}
		return &sectionCloser{io.NewSectionReader(f, off, length), f}, nil
	}
	rc, err := r.be.Open(ctx, name, off, length)
	if err != nil {
		return nil, fmt.Errorf("repo: read %s: %w", name, err)
	}
	r.st.objectsRead.Add(1)
	return &countingReader{rc: rc, n: &r.st.bytesDownloaded}, nil
}

// openCachedPack opens a tree pack from the local cache, downloading it
// first if the cache lacks it. Concurrent loads of one pack download it
// once: the others wait for the first.
func (r *Repository) openCachedPack(ctx context.Context, t BlobType, pack ID) (*os.File, error) {
	name := packPath(t, pack)
	if f, ok := r.cache.openFile(name); ok {
		r.st.cacheHits.Add(1)
		return f, nil
	}
	for {
		r.mu.Lock()
		wait, busy := r.fetching[pack]
		if !busy {
			if r.fetching == nil {
				r.fetching = map[ID]chan struct{}{}
			}
			r.fetching[pack] = make(chan struct{})
		}
		r.mu.Unlock()
		if !busy {
			break
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if f, ok := r.cache.openFile(name); ok {
			r.st.cacheHits.Add(1)
			return f, nil
		}
	}
	defer func() {
		r.mu.Lock()
		close(r.fetching[pack])
		delete(r.fetching, pack)
		r.mu.Unlock()
	}()
	if f, ok := r.cache.openFile(name); ok { // cached while we took the slot
		r.st.cacheHits.Add(1)
		return f, nil
	}
	return r.cachePack(ctx, t, pack)
}

type sectionCloser struct {
	*io.SectionReader
	f *os.File
}

func (s *sectionCloser) Close() error { return s.f.Close() }

type countingReader struct {
	rc io.ReadCloser
	n  interface{ Add(int64) int64 }
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingReader) Close() error { return c.rc.Close() }

// DecodeBlob decrypts and decompresses the stored bytes of the blob pb
// describes into buf (grown as needed) and checks the plaintext against
// its ID. Damaged bytes are an error wrapping ErrCorrupt.
func (r *Repository) DecodeBlob(pb PackedBlob, stored []byte, buf []byte) ([]byte, error) {
	if int64(len(stored)) != pb.Length {
		return nil, fmt.Errorf("repo: blob %s in pack %s: %w: %d stored bytes, index says %d", pb.ID.Short(), pb.Pack.Short(), ErrCorrupt, len(stored), pb.Length)
	}
	var plain []byte
	var err error
	if pb.Compressed {
		zp := bufPool.Get().(*[]byte)
		defer bufPool.Put(zp)
		z, err := r.c.open((*zp)[:0], stored)
		if err != nil {
			return nil, fmt.Errorf("repo: blob %s in pack %s: %w: %w", pb.ID.Short(), pb.Pack.Short(), ErrCorrupt, err)
		}
		*zp = z
		if plain, err = decompress(buf[:0], z, pb.RawLength); err != nil {
			return nil, fmt.Errorf("repo: blob %s in pack %s: %w: zstd: %w", pb.ID.Short(), pb.Pack.Short(), ErrCorrupt, err)
		}
	} else if plain, err = r.c.open(buf[:0], stored); err != nil {
		return nil, fmt.Errorf("repo: blob %s in pack %s: %w: %w", pb.ID.Short(), pb.Pack.Short(), ErrCorrupt, err)
	}
	if int64(len(plain)) != pb.RawLength {
		return nil, fmt.Errorf("repo: blob %s in pack %s: %w: %d plaintext bytes, index says %d", pb.ID.Short(), pb.Pack.Short(), ErrCorrupt, len(plain), pb.RawLength)
	}
	if r.c.blobID(plain) != pb.ID {
		return nil, fmt.Errorf("repo: blob %s in pack %s: %w: plaintext does not match the ID", pb.ID.Short(), pb.Pack.Short(), ErrCorrupt)
	}
	return plain, nil
}

// LoadBlob returns the plaintext of one blob in buf (grown as needed),
// verified by its GCM tag and keyed ID. Tree blobs come from the local
// cache when possible. A blob no index lists is ErrBlobNotFound.
func (r *Repository) LoadBlob(ctx context.Context, t BlobType, id ID, buf []byte) ([]byte, error) {
	pb, ok := r.Lookup(t, id)
	if !ok {
		return nil, fmt.Errorf("repo: %s blob %s: %w", t, id.Short(), ErrBlobNotFound)
	}
	plain, err := r.loadBlob(ctx, pb, buf)
	if err != nil && errors.Is(err, ErrCorrupt) && t == TreeBlob && r.cache.has(packPath(t, pb.Pack)) {
		// The cached copy was damaged: drop it and fetch the pack again.
		r.log.Warn("local cache: damaged tree pack dropped", "pack", packPath(t, pb.Pack))
		r.cache.remove(packPath(t, pb.Pack))
		plain, err = r.loadBlob(ctx, pb, buf)
	}
	return plain, err
}

func (r *Repository) loadBlob(ctx context.Context, pb PackedBlob, buf []byte) ([]byte, error) {
	t, id := pb.Type, pb.ID
	rc, err := r.OpenPackRange(ctx, pb.Pack, t, pb.Offset, pb.Length)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	sp := bufPool.Get().(*[]byte)
	defer bufPool.Put(sp)
	stored := slices.Grow((*sp)[:0], int(pb.Length))[:pb.Length]
	*sp = stored
	if _, err := io.ReadFull(rc, stored); err != nil {
		return nil, fmt.Errorf("repo: read blob %s from %s: %w", id.Short(), packPath(t, pb.Pack), err)
	}
	return r.DecodeBlob(pb, stored, buf)
}

// Close stops the uploads in flight and discards the packs still being
// filled (without uploading them: call Flush first to keep them). It
// returns an upload error that happened before.
// The Repository must not be used afterwards.
func (r *Repository) Close() error {
	for _, t := range []BlobType{DataBlob, TreeBlob} {
		r.packMu[t].Lock()
		p := r.packers[t]
		r.packers[t] = nil
		r.packMu[t].Unlock()
		if p != nil {
			p.discard()
		}
	}
	r.uploads.cancelAll()
	r.uploads.wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	if errors.Is(r.failed, context.Canceled) {
		return nil // the uploads Close itself stopped
	}
	return r.failed
}

// inflight tracks background uploads and their cancel functions. Unlike
// a sync.WaitGroup, an upload may start while another goroutine waits
// (SaveBlob beside Flush): wait returns once none is in flight.
type inflight struct {
	mu      sync.Mutex
	next    int
	cancels map[int]context.CancelFunc
	cond    *sync.Cond
}

func (f *inflight) add(cancel context.CancelFunc) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cancels == nil {
		f.cancels = map[int]context.CancelFunc{}
	}
	f.next++
	f.cancels[f.next] = cancel
	return f.next
}

func (f *inflight) done(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancels[n]()
	delete(f.cancels, n)
	if len(f.cancels) == 0 && f.cond != nil {
		f.cond.Broadcast()
	}
}

// idle reports whether no upload is in flight.
func (f *inflight) idle() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.cancels) == 0
}

func (f *inflight) cancelAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.cancels {
		c()
	}
}

func (f *inflight) wait() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cond == nil {
		f.cond = sync.NewCond(&f.mu)
	}
	for len(f.cancels) > 0 {
		f.cond.Wait()
	}
}
