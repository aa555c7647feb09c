package vfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"golang.org/x/sync/errgroup"

	"ferry/internal/backend"
)

// DefaultCacheMaxSize is the block cache's bound when Options leaves
// CacheMaxSize zero.
const DefaultCacheMaxSize = 1 << 30

// Block cache tuning.
const (
	// fetchAlign rounds the ranges a random read fetches: a 4 KiB read
	// fetches one or two 4 KiB blocks, never a whole chunk.
	fetchAlign = 4 << 10
	// plainChunk is the chunk layout of backends without ChunkVerifier:
	// it only aligns read-ahead pieces.
	plainChunk = 1 << 20
	// hotMax bounds the verified chunks a file keeps in memory, so a
	// sequential reader does not read back and MAC again what the
	// read-ahead just fetched and MACed: twice the read-ahead in flight.
	// A chunk read whole leaves it; one a sequential read fetched (kept
	// only in memory) is then gone.
	hotMax = 2 * maxAhead
)

// Read-ahead: prefetchPiece is what one read-ahead request fetches (whole
// chunks: eight of MEGA's 1 MiB chunks, MACed at once in the eight lanes of
// megacrypto.MultiMAC, twice the rate of four), and prefetchMax how many
// are in flight per file, as many as the MEGA client's own download has.
// maxAhead, the most a sequential reader's read-ahead window grows to,
// keeps all of them busy: with 16 MiB (two pieces), a reader faster than
// the network waited for a piece every 8 MiB.
const (
	prefetchPiece = 8 << 20
	prefetchMax   = 4
	maxAhead      = prefetchMax * prefetchPiece
)

// blockCache is the VFS's cache of file content on disk: one sparse data
// file per object, named by the object's identity (ID or path, size and
// mtime), with the byte ranges present and, for a backend.ChunkVerifier,
// the MAC of every whole chunk present (see doc.go, "Reads").
type blockCache struct {
	b      backend.Backend
	dir    string
	max    int64
	unlock func()

	mu   sync.Mutex           // guards the fields below and every cacheObj's opens, tick and size
	objs map[string]*cacheObj // +checklocks:mu
	used int64                // +checklocks:mu; bytes present in all objects
	tick uint64               // +checklocks:mu; the LRU clock
}

// openBlockCache makes v's block cache: a private blocks-* directory in
// the backend's cache dir, locked while v runs. Directories left by
// VFSs that are gone (their lock is free) are removed: the cache does
// not survive the VFS.
func openBlockCache(b backend.Backend, bdir string, max int64) (*blockCache, error) {
	others, _ := filepath.Glob(filepath.Join(bdir, "blocks-*"))
	for _, d := range others {
		if u, ok, err := tryLock(filepath.Join(d, "lock")); err == nil && ok {
			os.RemoveAll(d)
			u()
		}
	}
	dir, err := os.MkdirTemp(bdir, "blocks-")
	if err != nil {
		return nil, fmt.Errorf("vfs cache dir: %w", err)
	}
	unlock, _, err := tryLock(filepath.Join(dir, "lock"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("vfs cache dir: %w", err)
	}
	return &blockCache{b: b, dir: dir, max: max, unlock: unlock, objs: map[string]*cacheObj{}}, nil
}

// close removes the cache's files.
func (c *blockCache) close() {
	c.mu.Lock()
	for _, o := range c.objs {
		o.f.Close()
	}
	c.objs = map[string]*cacheObj{}
	c.mu.Unlock()
	os.RemoveAll(c.dir)
	c.unlock()
}

// objKey is the cache identity of e: a changed object (other size or
// mtime, or another ID) never reuses old bytes.
func objKey(e backend.Entry) string {
	id := key(e)
	sum := sha256.Sum256([]byte(id + "\x00" + strconv.FormatInt(e.Size, 10) + "\x00" + e.ModTime.UTC().Format("2006-01-02T15:04:05.999999999Z")))
	return hex.EncodeToString(sum[:16])
}

// get returns e's object, counting one more open of it.
func (c *blockCache) get(ctx context.Context, e backend.Entry) (*cacheObj, error) {
	k := objKey(e)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick++
	if o := c.objs[k]; o != nil {
		o.opens++
		o.tick = c.tick
		o.mu.Lock()
		o.cur = e // the same object, perhaps renamed since
		o.mu.Unlock()
		if o.opens == 1 {
			o.start()
		}
		return o, nil
	}
	o := &cacheObj{c: c, key: k, e: e, cur: e, opens: 1, tick: c.tick}
	o.cond = sync.NewCond(&o.mu)
	if cv, ok := c.b.(backend.ChunkVerifier); ok {
		cc, err := cv.ChunkChecker(ctx, e)
		if err != nil {
			return nil, err
		}
		o.cc, o.chunks = cc, cc.Chunks()
		o.macs = make([][]byte, len(o.chunks))
		o.macing = make([]bool, len(o.chunks))
		o.memOnly = make([]bool, len(o.chunks))
	} else {
		for off := int64(0); off < e.Size; off += plainChunk {
			o.chunks = append(o.chunks, backend.Chunk{Offset: off, Size: min(plainChunk, e.Size-off)})
		}
	}
	f, err := os.OpenFile(filepath.Join(c.dir, k), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("vfs cache: %w", err)
	}
	o.f = f
	o.hot = map[int][]byte{}
	o.hotRead = map[int]int64{}
	o.start()
	c.objs[k] = o
	return o, nil
}

// put counts one open less. The last one stops o's read-ahead and drops
// its chunks in memory; an object that failed verification goes.
func (c *blockCache) put(o *cacheObj) {
	c.mu.Lock()
	o.opens--
	last := o.opens == 0
	var cancel context.CancelFunc
	if last {
		// Taken now: an open right after this may start a new context.
		o.mu.Lock()
		cancel = o.cancel
		o.mu.Unlock()
	}
	c.mu.Unlock()
	if !last {
		return
	}
	cancel()
	o.wg.Wait()
	o.mu.Lock()
	failed := o.err != nil
	o.clearHot()
	o.mu.Unlock()
	c.mu.Lock()
	if failed && o.opens == 0 && c.objs[o.key] == o {
		c.remove(o)
	}
	c.mu.Unlock()
	c.evict()
}

// remove drops o and its file. The caller holds c.mu.
func (c *blockCache) remove(o *cacheObj) {
	delete(c.objs, o.key)
	c.used -= o.size
	o.size = 0
	o.f.Close()
	os.Remove(o.f.Name())
}

// grow counts n more bytes present in o (negative: fewer) and evicts
// down to the bound.
func (c *blockCache) grow(o *cacheObj, n int64) {
	c.mu.Lock()
	o.size += n
	c.used += n
	c.mu.Unlock()
	if n > 0 {
		c.evict()
	}
}

// evict removes least recently used objects until the cache is within
// its bound, never an object open now.
func (c *blockCache) evict() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.used > c.max {
		var victim *cacheObj
		for _, o := range c.objs {
			if o.opens == 0 && (victim == nil || o.tick < victim.tick) {
				victim = o
			}
		}
		if victim == nil {
			return // everything is open: over the bound until something closes
		}
		c.remove(victim)
	}
}

// cacheObj is one object's cached content.
type cacheObj struct {
	c      *blockCache
	key    string
	e      backend.Entry
	f      *os.File
	chunks []backend.Chunk
	cc     backend.ChunkChecker // nil: the backend's reads are trusted

	opens int    // guarded by c.mu: open readers
	tick  uint64 // guarded by c.mu: last open
	size  int64  // guarded by c.mu: bytes present, as counted in c.used

	wg sync.WaitGroup // read-ahead fetches

	mu          sync.Mutex
	cond        *sync.Cond         // signalled when a chunk's MAC is done
	cur         backend.Entry      // +checklocks:mu; e as last opened: fetches use its path, which follows renames
	ctx         context.Context    // +checklocks:mu; of read-ahead fetches, cancelled by the last put
	cancel      context.CancelFunc // +checklocks:mu
	have        spans              // +checklocks:mu; bytes present in f
	fetching    []*fetch           // +checklocks:mu; in flight
	prefetching int                // +checklocks:mu; read-ahead fetches in flight
	macs        [][]byte           // +checklocks:mu; MAC per whole chunk present, nil if unknown
	macing      []bool             // +checklocks:mu; the chunk's MAC is being computed
	nmacs       int                // +checklocks:mu; non-nil macs
	hot         map[int][]byte     // +checklocks:mu; verified chunks in memory
	hotRead     map[int]int64      // +checklocks:mu; bytes read of each hot chunk
	hotOrder    []int              // +checklocks:mu; hot's keys, oldest first
	hotBytes    int64              // +checklocks:mu
	memOnly     []bool             // +checklocks:mu; the chunk is present in hot only, not in f
	err         error              // +checklocks:mu; the content failed verification
}

// start makes the context of o's read-ahead. The caller holds c.mu.
func (o *cacheObj) start() {
	o.mu.Lock()
	o.ctx, o.cancel = context.WithCancel(context.Background()) // read-ahead outlives each read; cancelled by the last put
	o.mu.Unlock()
}

// fetch is a range of the object being fetched.
type fetch struct {
	off, end int64
	// stream marks a fetch of a sequential read or of read-ahead: when it
	// holds whole chunks of a ChunkVerifier backend, they stay in memory
	// only, until read (see run).
	stream bool
	done   chan struct{}
	err    error // set before done is closed
}

// chunkAt returns the index of the chunk holding off.
func (o *cacheObj) chunkAt(off int64) int {
	i, found := slices.BinarySearchFunc(o.chunks, off, func(c backend.Chunk, off int64) int {
		switch {
		case off < c.Offset:
			return 1
		case off >= c.Offset+c.Size:
			return -1
		}
		return 0
	})
	if !found {
		return len(o.chunks) - 1
	}
	return i
}

// ensure makes [off, end) present, fetching what is missing and waiting
// for fetches in flight that hold the rest. A sequential read fetches
// whole chunks, from the start of its first to the end of its last, so
// chunks fill whole (and, as a stream fetch, may stay in memory only).
func (o *cacheObj) ensure(ctx context.Context, off, end int64, sequential bool) error {
	for attempt := 0; ; attempt++ {
		o.mu.Lock()
		if o.err != nil {
			err := o.err
			o.mu.Unlock()
			return err
		}
		var waits []*fetch
		missing := o.have.gaps(off, end)
		for _, f := range o.fetching {
			if f.off < end && f.end > off {
				waits = append(waits, f)
				missing = subtract(missing, f.off, f.end)
			}
		}
		if len(missing) == 0 && len(waits) == 0 {
			o.mu.Unlock()
			return nil
		}
		// Fetch the missing parts rounded out to fetchAlign (to whole
		// chunks for a sequential read), without what is present or in
		// flight.
		var want spans
		for _, g := range missing {
			s, e := g.off&^(fetchAlign-1), min((g.end+fetchAlign-1)&^(fetchAlign-1), o.e.Size)
			if sequential {
				s = o.chunks[o.chunkAt(s)].Offset
				c := o.chunks[o.chunkAt(e-1)]
				e = c.Offset + c.Size
			}
			want.add(s, e)
		}
		var fetchSpans spans
		for _, g := range want {
			fetchSpans = append(fetchSpans, o.have.gaps(g.off, g.end)...)
		}
		for _, f := range o.fetching {
			fetchSpans = subtract(fetchSpans, f.off, f.end)
			// A fetch in flight that fills part of a chunk this read
			// completes may be the one that checks the file: wait for its
			// verdict too.
			if !slices.Contains(waits, f) && overlaps(want, f.off, f.end) {
				waits = append(waits, f)
			}
		}
		var mine []*fetch
		for _, g := range fetchSpans {
			f := &fetch{off: g.off, end: g.end, stream: sequential, done: make(chan struct{})}
			o.fetching = append(o.fetching, f)
			mine = append(mine, f)
		}
		o.mu.Unlock()
		g, gctx := errgroup.WithContext(ctx)
		for _, f := range mine {
			g.Go(func() error { return o.run(gctx, f) })
		}
		err := g.Wait()
		for _, f := range waits {
			select {
			case <-f.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if f.err != nil && err == nil && attempt >= 2 {
				err = f.err // a read-ahead failed as often: give up with its error
			}
		}
		if err != nil {
			return err
		}
	}
}

// prefetch starts read-ahead fetches of what [off, end) lacks, in pieces
// of whole chunks, up to prefetchMax in flight. Once the span is a piece
// or longer, a piece is never shorter than prefetchPiece unless it ends
// the file: a window that slides on by one read would otherwise fetch
// (and MAC) one chunk at a time.
func (o *cacheObj) prefetch(off, end int64) {
	end = min(end, o.e.Size)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil || o.ctx.Err() != nil {
		return
	}
	missing := o.have.gaps(off, end)
	for _, f := range o.fetching {
		missing = subtract(missing, f.off, f.end)
	}
	for _, g := range missing {
		for s := g.off; s < g.end && o.prefetching < prefetchMax; {
			e := s
			for e < g.end && e-s < prefetchPiece {
				c := o.chunks[o.chunkAt(e)]
				e = c.Offset + c.Size
			}
			if e-s < prefetchPiece && e < o.e.Size && end-off >= prefetchPiece {
				// A short piece at the front of a sliding window: wait
				// until the window has moved a whole piece on, so every
				// fetch MACs a whole piece's chunks at once.
				break
			}
			f := &fetch{off: s, end: e, stream: true, done: make(chan struct{})}
			o.fetching = append(o.fetching, f)
			o.prefetching++
			ctx := o.ctx
			o.wg.Go(func() {
				o.run(ctx, f)
				o.mu.Lock()
				o.prefetching--
				o.mu.Unlock()
			})
			s = e
		}
	}
}

// run fetches f into the cache: it writes the bytes to the data file,
// marks them present and MACs the chunks they complete. The fetch that
// completes the file's last MAC checks the whole file's; on a mismatch
// the object's data is dropped and every read of it fails with that
// fatal error until it is closed.
//
// A stream fetch of whole chunks of a ChunkVerifier backend skips the
// data file: its chunks are MACed (again, if they had a MAC) and kept in
// memory only, each until it is read whole or pushed out by hotMax, and
// then no longer present. A sequential reader so costs no write of the
// file to disk, and every byte it gets is checked.
func (o *cacheObj) run(ctx context.Context, f *fetch) (err error) {
	defer func() {
		o.mu.Lock()
		o.fetching = slices.DeleteFunc(o.fetching, func(g *fetch) bool { return g == f })
		o.mu.Unlock()
		f.err = err
		close(f.done)
	}()
	buf := make([]byte, f.end-f.off)
	o.mu.Lock()
	e := o.cur
	o.mu.Unlock()
	rc, err := backend.OpenEntry(ctx, o.c.b, e, f.off, f.end-f.off)
	if err != nil {
		return err
	}
	n, err := io.ReadFull(rc, buf)
	rc.Close()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return errors.Join(fmt.Errorf("the file is shorter than listed (%d bytes at %d)", n, f.off), backend.ErrSizeMismatch)
		}
		return err
	}
	mem := o.memOnlyFetch(f)
	if !mem {
		if _, err := o.f.WriteAt(buf, f.off); err != nil {
			return fmt.Errorf("vfs cache: %w", err)
		}
	}
	o.mu.Lock()
	if o.err != nil {
		err := o.err
		o.mu.Unlock()
		return err
	}
	added := o.have.add(f.off, f.end)
	var todo []int // chunks this fetch completed, to MAC
	if o.cc != nil {
		for i := o.chunkAt(f.off); i < len(o.chunks) && o.chunks[i].Offset < f.end; i++ {
			c := o.chunks[i]
			if (mem || o.macs[i] == nil) && !o.macing[i] && o.have.contains(c.Offset, c.Offset+c.Size) {
				o.macing[i] = true
				todo = append(todo, i)
			}
		}
	}
	o.mu.Unlock()
	if !mem {
		o.c.grow(o, added)
	}
	if len(todo) == 0 {
		return nil
	}
	return o.mac(f, buf, todo, mem)
}

// memOnlyFetch reports whether f's bytes stay in memory only: f is a
// stream fetch of whole chunks, none of them present or being MACed.
func (o *cacheObj) memOnlyFetch(f *fetch) bool {
	if !f.stream || o.cc == nil {
		return false
	}
	first, last := o.chunkAt(f.off), o.chunkAt(f.end-1)
	if o.chunks[first].Offset != f.off || o.chunks[last].Offset+o.chunks[last].Size != f.end {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if g := o.have.gaps(f.off, f.end); len(g) != 1 || g[0] != (span{f.off, f.end}) {
		return false
	}
	for i := first; i <= last; i++ {
		if o.macing[i] {
			return false
		}
	}
	return true
}

// mac computes the MACs of chunks todo (in order, all present), taking
// their plaintext from buf (the bytes at f.off) where it holds them and
// from the data file otherwise. With mem, buf holds them all, they are
// not in the data file, and a MAC they had is replaced.
func (o *cacheObj) mac(f *fetch, buf []byte, todo []int, mem bool) error {
	ps := make([][]byte, len(todo))
	inBuf := make([]bool, len(todo))
	var rerr error
	for k, i := range todo {
		c := o.chunks[i]
		if c.Offset >= f.off && c.Offset+c.Size <= f.end {
			ps[k], inBuf[k] = buf[c.Offset-f.off:c.Offset-f.off+c.Size], true
			continue
		}
		p := make([]byte, c.Size)
		if _, err := o.f.ReadAt(p, c.Offset); err != nil && rerr == nil {
			rerr = fmt.Errorf("vfs cache: %w", err)
		}
		ps[k] = p
	}
	var macs [][]byte
	if rerr == nil {
		// Consecutive chunks together (MEGA MACs several at once).
		for k := 0; k < len(todo); {
			j := k + 1
			for j < len(todo) && todo[j] == todo[j-1]+1 {
				j++
			}
			macs = append(macs, o.cc.MACs(todo[k], ps[k:j])...)
			k = j
		}
	}
	var dropped int64
	o.mu.Lock()
	defer func() {
		o.cond.Broadcast()
		o.mu.Unlock()
		if dropped > 0 {
			o.c.grow(o, -dropped)
		}
	}()
	for k, i := range todo {
		o.macing[i] = false
		if rerr != nil || o.err != nil {
			continue
		}
		if o.macs[i] == nil {
			o.nmacs++
		}
		o.macs[i] = macs[k]
		if inBuf[k] {
			o.memOnly[i] = mem
			o.addHot(i, ps[k])
		}
	}
	if rerr != nil {
		return rerr
	}
	if o.err != nil {
		return o.err
	}
	if o.nmacs == len(o.chunks) {
		if err := o.cc.Verify(o.macs); err != nil {
			o.err = err
			dropped = o.dropLocked()
			return o.err
		}
	}
	return nil
}

// dropLocked forgets every byte of o and returns how many there were,
// for the caller to take from the cache's count after it released o.mu
// (c.mu is taken before o.mu, never after). The caller holds o.mu.
func (o *cacheObj) dropLocked() int64 {
	o.clearHot()
	n := o.have.bytes()
	o.have = nil
	clear(o.macs)
	o.nmacs = 0
	o.f.Truncate(0)
	return n
}

// clearHot forgets every chunk in memory; those only there are no
// longer present. The caller holds o.mu.
func (o *cacheObj) clearHot() {
	for i := range o.hot {
		o.forgetMem(i)
	}
	clear(o.hot)
	clear(o.hotRead)
	o.hotOrder, o.hotBytes = nil, 0
}

// forgetMem marks chunk i, leaving memory, no longer present if memory
// was its only place. Its MAC stays: the file's check still counts it.
// The caller holds o.mu.
func (o *cacheObj) forgetMem(i int) {
	if o.memOnly == nil || !o.memOnly[i] {
		return
	}
	o.memOnly[i] = false
	c := o.chunks[i]
	o.have.remove(c.Offset, c.Offset+c.Size)
}

// addHot keeps verified chunk i in memory. The caller holds o.mu.
func (o *cacheObj) addHot(i int, p []byte) {
	if _, ok := o.hot[i]; ok {
		return
	}
	o.hot[i] = p
	o.hotRead[i] = 0
	o.hotOrder = append(o.hotOrder, i)
	o.hotBytes += int64(len(p))
	for o.hotBytes > hotMax && len(o.hotOrder) > 0 {
		j := o.hotOrder[0]
		o.hotOrder = o.hotOrder[1:]
		o.hotBytes -= int64(len(o.hot[j]))
		o.forgetMem(j)
		delete(o.hot, j)
		delete(o.hotRead, j)
	}
}

// dropHot forgets chunk i's copy in memory. The caller holds o.mu.
func (o *cacheObj) dropHot(i int) {
	p, ok := o.hot[i]
	if !ok {
		return
	}
	o.forgetMem(i)
	delete(o.hot, i)
	delete(o.hotRead, i)
	o.hotBytes -= int64(len(p))
	o.hotOrder = slices.DeleteFunc(o.hotOrder, func(j int) bool { return j == i })
}

// errCorruptCache reports a whole chunk in the data file whose MAC is
// not the one computed when it was fetched.
var errCorruptCache = errors.New("vfs cache: a cached chunk does not match its MAC")

// errChunkGone reports bytes that left the cache (a chunk kept in memory
// only) between a read's fetch and its copy.
var errChunkGone = errors.New("vfs cache: a chunk left memory before it was read")

// read returns [off, off+len(p)) (present): whole chunks with a MAC
// from memory or read back and checked, other bytes from the data file.
// Bytes that lie in one piece of memory (chunks of one fetch, kept in
// memory) are returned as they are, not copied; the rest is copied into
// p. A chunk that fails its check is dropped, and errCorruptCache
// returned so the caller fetches it again; errChunkGone says bytes left
// memory before they were copied, to fetch again too.
func (o *cacheObj) read(p []byte, off int64) ([]byte, error) {
	n := 0
	var shared []byte // the bytes so far, while they are one piece of memory
	unshare := func() {
		if shared != nil {
			copy(p, shared)
			shared = nil
		}
	}
	for n < len(p) {
		cur := off + int64(n)
		i := o.chunkAt(cur)
		c := o.chunks[i]
		k := int(min(int64(len(p)-n), c.Offset+c.Size-cur))
		data, err := o.verified(i, cur, cur+int64(k))
		if err != nil {
			unshare()
			return p[:n], err
		}
		if data != nil {
			piece := data[cur-c.Offset : cur-c.Offset+int64(k)]
			switch {
			case n == 0:
				shared = piece
			case shared != nil && follows(shared, piece):
				shared = shared[:n+k]
			default:
				unshare()
				copy(p[n:n+k], piece)
			}
			n += k
			o.mu.Lock()
			if _, ok := o.hot[i]; ok {
				// Read whole (the kernel's reads come out of order): a
				// sequential reader is done with it.
				if o.hotRead[i] += int64(k); o.hotRead[i] >= c.Size {
					o.dropHot(i)
				}
			}
			o.mu.Unlock()
			continue
		}
		unshare()
		if _, err := o.f.ReadAt(p[n:n+k], cur); err != nil {
			return p[:n], fmt.Errorf("vfs cache: %w", err)
		}
		n += k
	}
	if shared != nil {
		return shared, nil
	}
	return p[:n], nil
}

// follows reports whether b starts right where a ends, in the same
// allocation (a's capacity reaches into b).
func follows(a, b []byte) bool {
	return len(b) > 0 && len(a) < cap(a) && &a[:len(a)+1][len(a)] == &b[0]
}

// verified returns chunk i's checked plaintext, or nil when the chunk has
// no MAC or is not whole in the cache (or the backend is trusted): then
// [cur, end) of it is in the data file, or errChunkGone says it is no
// longer present.
func (o *cacheObj) verified(i int, cur, end int64) ([]byte, error) {
	if o.cc == nil {
		return nil, nil
	}
	c := o.chunks[i]
	o.mu.Lock()
	for o.macing[i] {
		o.cond.Wait()
	}
	if o.err != nil {
		err := o.err
		o.mu.Unlock()
		return nil, err
	}
	mac, data := o.macs[i], o.hot[i]
	// Not in memory: what is present is in the data file (a chunk kept
	// only in memory is no longer present once it leaves).
	present, whole := o.have.contains(cur, end), o.have.contains(c.Offset, c.Offset+c.Size)
	o.mu.Unlock()
	if data != nil {
		return data, nil
	}
	if !present {
		return nil, errChunkGone
	}
	if mac == nil || !whole {
		return nil, nil
	}
	data = make([]byte, c.Size)
	if _, err := o.f.ReadAt(data, c.Offset); err != nil {
		return nil, fmt.Errorf("vfs cache: %w", err)
	}
	if got := o.cc.MACs(i, [][]byte{data})[0]; !slices.Equal(got, mac) {
		o.mu.Lock()
		if o.macs[i] != nil {
			o.macs[i] = nil
			o.nmacs--
		}
		removed := o.have.remove(c.Offset, c.Offset+c.Size)
		o.mu.Unlock()
		o.c.grow(o, -removed)
		return nil, errCorruptCache
	}
	o.mu.Lock()
	o.addHot(i, data)
	o.mu.Unlock()
	return data, nil
}

// span is the byte range [off, end).
type span struct{ off, end int64 }

// spans is a sorted set of disjoint, non-adjacent byte ranges.
type spans []span

// add adds [off, end) and returns how many bytes were new.
func (s *spans) add(off, end int64) int64 {
	before := s.bytes()
	out := make(spans, 0, len(*s)+1)
	placed := false
	for _, x := range *s {
		switch {
		case x.end < off:
			out = append(out, x)
		case x.off > end:
			if !placed {
				out = append(out, span{off, end})
				placed = true
			}
			out = append(out, x)
		default: // overlaps or touches
			off, end = min(off, x.off), max(end, x.end)
		}
	}
	if !placed {
		out = append(out, span{off, end})
	}
	*s = out
	return s.bytes() - before
}

// remove removes [off, end) and returns how many bytes went.
func (s *spans) remove(off, end int64) int64 {
	before := s.bytes()
	var out spans
	for _, x := range *s {
		if x.end <= off || x.off >= end {
			out = append(out, x)
			continue
		}
		if x.off < off {
			out = append(out, span{x.off, off})
		}
		if x.end > end {
			out = append(out, span{end, x.end})
		}
	}
	*s = out
	return before - s.bytes()
}

func (s spans) bytes() int64 {
	var n int64
	for _, x := range s {
		n += x.end - x.off
	}
	return n
}

// contains reports whether all of [off, end) is in s.
func (s spans) contains(off, end int64) bool {
	for _, x := range s {
		if x.off <= off && x.end >= end {
			return true
		}
	}
	return off >= end
}

// gaps returns the parts of [off, end) not in s.
func (s spans) gaps(off, end int64) spans {
	var out spans
	for _, x := range s {
		if x.end <= off {
			continue
		}
		if x.off >= end {
			break
		}
		if x.off > off {
			out = append(out, span{off, x.off})
		}
		off = max(off, x.end)
	}
	if off < end {
		out = append(out, span{off, end})
	}
	return out
}

// overlaps reports whether any of s meets [off, end).
func overlaps(s spans, off, end int64) bool {
	for _, x := range s {
		if x.off < end && x.end > off {
			return true
		}
	}
	return false
}

// subtract returns g without [off, end).
func subtract(g spans, off, end int64) spans {
	c := slices.Clone(g)
	c.remove(off, end)
	return c
}
