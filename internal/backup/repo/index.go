package repo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"golang.org/x/sync/errgroup"
)

// blobKey identifies a blob within the repository: the same plaintext
// saved as data and as tree is two blobs.
type blobKey struct {
	t  BlobType
	id ID
}

// PackedBlob is where one blob is stored: bytes [Offset, Offset+Length)
// of pack Pack hold nonce || AES-256-GCM(zstd?(plain)) || tag, and the
// plaintext is RawLength bytes.
type PackedBlob struct {
	Type       BlobType
	ID         ID
	Pack       ID
	Offset     int64
	Length     int64
	RawLength  int64
	Compressed bool
}

// packEntry is one pack as an index object and a pack header list it.
type packEntry struct {
	ID    ID          `json:"id"`
	Type  BlobType    `json:"type"`
	Size  int64       `json:"size"`
	Blobs []blobEntry `json:"blobs"`
}

// blobEntry is one blob of a pack, as an index lists it.
type blobEntry struct {
	ID         ID    `json:"id"`
	Offset     int64 `json:"offset"`
	Length     int64 `json:"length"`
	RawLength  int64 `json:"raw_length"`
	Compressed bool  `json:"compressed,omitempty"`
}

// indexContent is the plaintext of an index object.
type indexContent struct {
	Packs []packEntry `json:"packs"`
}

// packMeta is what the in-memory index keeps of each pack.
type packMeta struct {
	Type  BlobType
	Size  int64
	Blobs int
}

// indexEntry is one location of a blob, kept small: the in-memory index
// holds one per blob of the repository (about 85 bytes with its key and
// the map's share, so a million blobs, a terabyte of data, take ~85 MB;
// TestIndexMemory checks it).
type indexEntry struct {
	pack          uint32 // index into index.packIDs
	off, len, raw uint32
	compressed    bool
}

// index is the in-memory index: every index object merged, plus the packs
// found without one. It is guarded by Repository.mu.
type index struct {
	blobs   map[blobKey]indexEntry   // the first location of each blob
	more    map[blobKey][]indexEntry // further locations (a blob stored twice)
	packs   map[ID]packMeta
	packNum map[ID]uint32 // pack ID -> index into packIDs
	packIDs []ID          // removed packs keep their slot
}

func newIndex() *index {
	return &index{blobs: map[blobKey]indexEntry{}, more: map[blobKey][]indexEntry{},
		packs: map[ID]packMeta{}, packNum: map[ID]uint32{}}
}

// maxPackSize bounds a pack, so offsets and lengths fit in 32 bits.
const maxPackSize = 1<<32 - 1

// addPack records a pack and its blobs; a pack already known is skipped.
// The caller has checked that the pack is at most maxPackSize bytes.
func (x *index) addPack(p packEntry) {
	if _, ok := x.packs[p.ID]; ok {
		return
	}
	x.packs[p.ID] = packMeta{Type: p.Type, Size: p.Size, Blobs: len(p.Blobs)}
	n, ok := x.packNum[p.ID]
	if !ok {
		n = uint32(len(x.packIDs))
		x.packIDs = append(x.packIDs, p.ID)
		x.packNum[p.ID] = n
	}
	for _, b := range p.Blobs {
		e := indexEntry{pack: n, off: uint32(b.Offset), len: uint32(b.Length), raw: uint32(b.RawLength), compressed: b.Compressed}
		k := blobKey{p.Type, b.ID}
		if _, ok := x.blobs[k]; ok {
			x.more[k] = append(x.more[k], e)
		} else {
			x.blobs[k] = e
		}
	}
}

func (x *index) packed(k blobKey, e indexEntry) PackedBlob {
	return PackedBlob{Type: k.t, ID: k.id, Pack: x.packIDs[e.pack], Offset: int64(e.off), Length: int64(e.len),
		RawLength: int64(e.raw), Compressed: e.compressed}
}

// locations returns every known location of a blob.
func (x *index) locations(k blobKey) []PackedBlob {
	e, ok := x.blobs[k]
	if !ok {
		return nil
	}
	out := []PackedBlob{x.packed(k, e)}
	for _, m := range x.more[k] {
		out = append(out, x.packed(k, m))
	}
	return out
}

// each calls f with every location of every blob.
func (x *index) each(f func(PackedBlob)) {
	for k, e := range x.blobs {
		f(x.packed(k, e))
		for _, m := range x.more[k] {
			f(x.packed(k, m))
		}
	}
}

// lookup returns a location of the blob, preferring one in a pack that
// no prune mark names; live reports whether any location is in an
// unmarked pack.
func (x *index) lookup(k blobKey, marked map[ID]bool) (pb PackedBlob, live bool, found bool) {
	e, found := x.blobs[k]
	if !found {
		return pb, false, false
	}
	if !marked[x.packIDs[e.pack]] {
		return x.packed(k, e), true, true
	}
	for _, m := range x.more[k] {
		if !marked[x.packIDs[m.pack]] {
			return x.packed(k, m), true, true
		}
	}
	return x.packed(k, e), false, true
}

// removePacks drops packs and their blobs.
func (x *index) removePacks(gone map[ID]bool) {
	nums := map[uint32]bool{}
	for id := range gone {
		if n, ok := x.packNum[id]; ok {
			nums[n] = true
		}
		delete(x.packs, id)
	}
	for k, e := range x.blobs {
		rest := slices.DeleteFunc(x.more[k], func(m indexEntry) bool { return nums[m.pack] })
		if nums[e.pack] {
			if len(rest) == 0 {
				delete(x.blobs, k)
				delete(x.more, k)
				continue
			}
			x.blobs[k], rest = rest[0], rest[1:]
		}
		if len(rest) == 0 {
			delete(x.more, k)
		} else {
			x.more[k] = rest
		}
	}
}

// loadIndexes reads every index object (through the local cache) and
// merges them into r.idx.
func (r *Repository) loadIndexes(ctx context.Context) error {
	ids, err := r.listIDs(ctx, "index")
	if err != nil {
		return err
	}
	r.cache.prune("index", ids)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(loadConcurrency)
	for id := range ids {
		g.Go(func() error {
			c, err := r.readIndex(gctx, id)
			if err != nil {
				return err
			}
			r.mu.Lock()
			r.indexes[id] = packIDs(c)
			for _, p := range c.Packs {
				r.idx.addPack(p)
			}
			r.mu.Unlock()
			return nil
		})
	}
	return g.Wait()
}

// loadConcurrency bounds the small objects read at once at Open.
const loadConcurrency = 8

func packIDs(c indexContent) []ID {
	out := make([]ID, len(c.Packs))
	for i, p := range c.Packs {
		out[i] = p.ID
	}
	return out
}

// readIndex reads and checks one index object.
func (r *Repository) readIndex(ctx context.Context, id ID) (indexContent, error) {
	var c indexContent
	name := "index/" + id.String()
	if err := r.loadObject(ctx, name, id, &c); err != nil {
		return c, err
	}
	for _, p := range c.Packs {
		if !p.Type.valid() {
			return c, fmt.Errorf("repo: %s: pack %s: %w: bad blob type", name, p.ID, ErrCorrupt)
		}
		if p.Size < 0 || p.Size > maxPackSize {
			return c, fmt.Errorf("repo: %s: pack %s: %w: size %d out of range", name, p.ID, ErrCorrupt, p.Size)
		}
		for _, b := range p.Blobs {
			if b.Offset < 0 || b.Length < overhead || b.Offset+b.Length > p.Size || b.RawLength < 0 || b.RawLength > maxBlobSize {
				return c, fmt.Errorf("repo: %s: pack %s: blob %s: %w: range %d+%d, raw %d out of range", name, p.ID, b.ID.Short(), ErrCorrupt, b.Offset, b.Length, b.RawLength)
			}
		}
	}
	return c, nil
}

// loadObject reads an encrypted JSON object through the local cache and
// decodes it into v. A cached copy that fails its checks is dropped and
// the object is read from the backend again.
func (r *Repository) loadObject(ctx context.Context, name string, id ID, v any) error {
	if b, ok := r.cache.get(name); ok {
		if err := r.decodeObject(name, id, b, v); err == nil {
			r.st.cacheHits.Add(1)
			return nil
		}
		r.log.Warn("local cache: damaged entry dropped", "name", name)
		r.cache.remove(name)
	}
	b, err := r.getObject(ctx, name)
	if err != nil {
		return err
	}
	if err := r.decodeObject(name, id, b, v); err != nil {
		return err
	}
	r.cache.put(name, b)
	return nil
}

// decodeObject checks that sealed is named by its SHA-256, decrypts it and
// parses the JSON into v.
func (r *Repository) decodeObject(name string, id ID, sealed []byte, v any) error {
	if hashID(sealed) != id {
		return fmt.Errorf("repo: %s: %w: content does not match its name", name, ErrCorrupt)
	}
	b, err := r.c.open(nil, sealed)
	if err != nil {
		return fmt.Errorf("repo: %s: %w: %w", name, ErrCorrupt, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("repo: %s: %w: %w", name, ErrCorrupt, err)
	}
	return nil
}

// saveObject encrypts the JSON of v and stores it as dir/<SHA-256 of the
// stored bytes>, returning that ID. Objects the local cache keeps are
// written to it too.
func (r *Repository) saveObject(ctx context.Context, dir string, v any) (ID, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return ID{}, err
	}
	sealed, err := r.c.seal(nil, b)
	if err != nil {
		return ID{}, err
	}
	id := hashID(sealed)
	name := dir + "/" + id.String()
	if err := r.putObject(ctx, name, sealed); err != nil {
		return ID{}, err
	}
	r.cache.put(name, sealed)
	return id, nil
}

// writeIndex stores an index object listing packs.
func (r *Repository) writeIndex(ctx context.Context, packs []packEntry) (ID, error) {
	c := indexContent{Packs: packs}
	id, err := r.saveObject(ctx, "index", c)
	if err != nil {
		return ID{}, err
	}
	r.mu.Lock()
	r.indexes[id] = packIDs(c)
	r.mu.Unlock()
	return id, nil
}
