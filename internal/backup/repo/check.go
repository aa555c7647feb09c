package repo

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strings"
)

// CheckOptions configure Check.
type CheckOptions struct {
	// ReadData is the fraction (0..1) of the packs that Check downloads
	// whole: it then checks each pack's SHA-256 against its name and
	// decrypts and verifies every blob in it. 0 reads only pack headers;
	// 1 reads everything. At least one pack is read when ReadData > 0.
	ReadData float64
}

// Problem is one thing Check found wrong, naming the object.
type Problem struct {
	Object string // the object's path in the repository, e.g. "index/<id>"
	Err    error
}

func (p Problem) Error() string { return p.Object + ": " + p.Err.Error() }

func (p Problem) Unwrap() error { return p.Err }

// CheckResult is what Check did and found.
type CheckResult struct {
	Problems  []Problem
	Objects   int   // config, keys, indexes, snapshots and marks checked
	Packs     int   // packs whose header was checked
	PacksRead int   // packs downloaded whole (ReadData)
	BlobsRead int   // blobs decrypted and verified
	BytesRead int64 // bytes downloaded
	Unindexed int   // packs no index lists (left by a killed run; a prune removes or a backup indexes them)
}

// OK reports whether Check found no problem.
func (c *CheckResult) OK() bool { return len(c.Problems) == 0 }

func (c *CheckResult) problem(object string, err error) {
	// The readers' errors name the object already; Problem names it once.
	msg := strings.TrimPrefix(err.Error(), "repo: ")
	if m, ok := strings.CutPrefix(msg, object+": "); ok {
		err = &trimmedError{msg: m, err: err}
	}
	c.Problems = append(c.Problems, Problem{Object: object, Err: err})
}

// trimmedError is err with a shorter message.
type trimmedError struct {
	msg string
	err error
}

func (e *trimmedError) Error() string { return e.msg }
func (e *trimmedError) Unwrap() error { return e.err }

// Check reads the repository from the backend (never from the local
// cache) and reports what is damaged: every config, key, index, snapshot
// and mark object must decrypt (keys: parse and match their name) and
// parse; every pack an index lists must exist with the listed size, and
// its header must list exactly the blobs the index says; every snapshot's
// tree must be indexed. With ReadData, that fraction of the packs is
// downloaded whole: the SHA-256 must match the name and every blob must
// decrypt and match its ID. Problems go in the result; the error is for
// failures that stop the check (I/O, a cancelled ctx).
func (r *Repository) Check(ctx context.Context, o CheckOptions) (CheckResult, error) {
	var res CheckResult
	if o.ReadData < 0 || o.ReadData > 1 || math.IsNaN(o.ReadData) {
		return res, fmt.Errorf("repo: check: read-data fraction %v is not in 0..1", o.ReadData)
	}
	before := r.st.bytesDownloaded.Load()
	defer func() { res.BytesRead = r.st.bytesDownloaded.Load() - before }()

	// config
	res.Objects++
	if b, err := r.getObject(ctx, "config"); err != nil {
		return res, err
	} else if err := r.checkConfigObject(b); err != nil {
		res.problem("config", err)
	}
	// keys
	names, err := r.listNames(ctx, "keys")
	if err != nil {
		return res, err
	}
	for _, name := range names {
		res.Objects++
		b, err := r.getObject(ctx, "keys/"+name)
		if err != nil {
			return res, err
		}
		if err := checkKeyObject(name, b); err != nil {
			res.problem("keys/"+name, err)
		}
	}
	// indexes: what they list, by pack
	listed := map[ID]packEntry{}
	listedIn := map[ID]string{}
	ids, err := r.listIDs(ctx, "index")
	if err != nil {
		return res, err
	}
	for _, id := range sortedIDs(ids) {
		res.Objects++
		name := "index/" + id.String()
		var c indexContent
		if err := r.fetchObject(ctx, name, id, &c); err != nil {
			if errors.Is(err, ErrCorrupt) {
				res.problem(name, err)
				continue
			}
			return res, err
		}
		for _, p := range c.Packs {
			if !p.Type.valid() {
				res.problem(name, fmt.Errorf("pack %s: bad blob type", p.ID))
				continue
			}
			listed[p.ID] = p
			listedIn[p.ID] = name
		}
	}
	// snapshots and marks
	for _, dir := range []string{"snapshots", "deleted"} {
		ids, err := r.listIDs(ctx, dir)
		if err != nil {
			return res, err
		}
		for _, id := range sortedIDs(ids) {
			res.Objects++
			name := dir + "/" + id.String()
			var s Snapshot
			var m Mark
			v := any(&s)
			if dir == "deleted" {
				v = &m
			}
			if err := r.fetchObject(ctx, name, id, v); err != nil {
				if errors.Is(err, ErrCorrupt) {
					res.problem(name, err)
					continue
				}
				return res, err
			}
			if dir == "snapshots" && !s.Tree.IsZero() && !r.indexed(listed, TreeBlob, s.Tree) {
				res.problem(name, fmt.Errorf("root tree %s is in no indexed pack", s.Tree.Short()))
			}
		}
	}
	// packs
	type onDisk struct {
		t    BlobType
		size int64
	}
	stored := map[ID]onDisk{}
	for _, t := range []BlobType{DataBlob, TreeBlob} {
		packs, err := r.listPacks(ctx, t)
		if err != nil {
			return res, err
		}
		for id, size := range packs {
			stored[id] = onDisk{t, size}
		}
	}
	for _, id := range sortedIDs(listed) {
		p := listed[id]
		if s, ok := stored[id]; !ok || s.t != p.Type {
			res.problem(packPath(p.Type, id), fmt.Errorf("listed by %s but missing", listedIn[id]))
		}
	}
	var all []ID
	for id := range stored {
		all = append(all, id)
	}
	slices.SortFunc(all, func(a, b ID) int { return slices.Compare(a[:], b[:]) })
	read := map[ID]bool{}
	if o.ReadData > 0 && len(all) > 0 {
		n := int(math.Ceil(o.ReadData * float64(len(all))))
		var seed [32]byte
		rand.Read(seed[:])
		perm := mrand.New(mrand.NewChaCha8(seed)).Perm(len(all))
		for _, i := range perm[:n] {
			read[all[i]] = true
		}
	}
	for _, id := range all {
		s := stored[id]
		name := packPath(s.t, id)
		res.Packs++
		hdr, err := r.readPackHeader(ctx, s.t, id, s.size)
		if err != nil {
			if errors.Is(err, ErrCorrupt) {
				res.problem(name, err)
				continue
			}
			return res, err
		}
		if p, ok := listed[id]; ok {
			if err := sameBlobs(p, hdr); err != nil {
				res.problem(name, fmt.Errorf("header and %s disagree: %w", listedIn[id], err))
			}
		} else {
			res.Unindexed++
		}
		if read[id] {
			res.PacksRead++
			n, err := r.readPack(ctx, hdr)
			res.BlobsRead += n
			if err != nil {
				if errors.Is(err, ErrCorrupt) {
					res.problem(name, err)
					continue
				}
				return res, err
			}
		}
	}
	return res, nil
}

// indexed reports whether a blob is in a pack the index objects list.
func (r *Repository) indexed(listed map[ID]packEntry, t BlobType, id ID) bool {
	r.mu.Lock()
	locs := r.idx.locations(blobKey{t, id})
	r.mu.Unlock()
	for _, l := range locs {
		if _, ok := listed[l.Pack]; ok {
			return true
		}
	}
	return false
}

// sameBlobs compares what an index says of a pack with its header.
func sameBlobs(idx, hdr packEntry) error {
	if idx.Size != hdr.Size {
		return fmt.Errorf("size %d listed, %d stored", idx.Size, hdr.Size)
	}
	if len(idx.Blobs) != len(hdr.Blobs) {
		return fmt.Errorf("%d blobs listed, %d in the header", len(idx.Blobs), len(hdr.Blobs))
	}
	a, b := slices.Clone(idx.Blobs), hdr.Blobs
	slices.SortFunc(a, func(x, y blobEntry) int { return int(x.Offset - y.Offset) })
	for i := range a {
		if a[i] != b[i] {
			return fmt.Errorf("blob %d: listed %+v, header %+v", i, a[i], b[i])
		}
	}
	return nil
}

// readPack downloads a whole pack, checking its SHA-256 against its name
// and every blob against its ID, one blob in memory at a time. It returns
// the number of blobs verified.
func (r *Repository) readPack(ctx context.Context, p packEntry) (int, error) {
	name := packPath(p.Type, p.ID)
	rc, err := r.be.Open(ctx, name, 0, -1)
	if err != nil {
		return 0, fmt.Errorf("repo: read %s: %w", name, err)
	}
	defer rc.Close()
	r.st.objectsRead.Add(1)
	h := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(&countingReader{rc: rc, n: &r.st.bytesDownloaded}, h), 1<<20)
	var stored, plain []byte
	var errs []error
	n := 0
	for _, b := range p.Blobs {
		stored = slices.Grow(stored[:0], int(b.Length))[:b.Length]
		if _, err := io.ReadFull(br, stored); err != nil {
			return n, fmt.Errorf("repo: read %s: %w", name, err)
		}
		pb := PackedBlob{Type: p.Type, ID: b.ID, Pack: p.ID, Offset: b.Offset, Length: b.Length, RawLength: b.RawLength, Compressed: b.Compressed}
		out, err := r.DecodeBlob(pb, stored, plain)
		if err != nil {
			errs = append(errs, fmt.Errorf("blob %d at %d: %w", n, b.Offset, err))
		} else {
			plain = out
		}
		n++
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return n, fmt.Errorf("repo: read %s: %w", name, err)
	}
	var sum ID
	h.Sum(sum[:0])
	if sum != p.ID {
		errs = append(errs, errors.New("content does not match its name (SHA-256)"))
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("%w: %w", ErrCorrupt, errors.Join(errs...))
	}
	return n, nil
}

// fetchObject reads an encrypted object from the backend (not the cache)
// and decodes it.
func (r *Repository) fetchObject(ctx context.Context, name string, id ID, v any) error {
	b, err := r.getObject(ctx, name)
	if err != nil {
		return err
	}
	return r.decodeObject(name, id, b, v)
}

// checkConfigObject checks that a config object decrypts under this
// repository's keys, parses, and is this repository's.
func (r *Repository) checkConfigObject(sealed []byte) error {
	b, err := r.c.open(nil, sealed)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	var c config
	if err := json.Unmarshal(b, &c); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := checkConfig(&c); err != nil {
		return err
	}
	if c.ID != r.cfg.ID {
		return fmt.Errorf("%w: repository ID %s, opened %s", ErrCorrupt, c.ID.Short(), r.cfg.ID.Short())
	}
	return nil
}

// checkKeyObject checks a key object without its password: it parses,
// its parameters are sane, and, named as ferry names keys, its name is
// its SHA-256.
func checkKeyObject(name string, b []byte) error {
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return fmt.Errorf("%w: not a key object: %w", ErrCorrupt, err)
	}
	if kf.KDF != "argon2id" {
		return fmt.Errorf("%w: unknown kdf %q", ErrCorrupt, kf.KDF)
	}
	if err := (KDF{kf.Time, kf.MemoryKiB, kf.Threads}).check(); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if len(kf.Salt) < 16 || len(kf.Data) < overhead {
		return fmt.Errorf("%w: salt or data too short", ErrCorrupt)
	}
	if _, err := ParseID(name); err == nil && !namedByHash(name, b) {
		return fmt.Errorf("%w: content does not match its name (SHA-256)", ErrCorrupt)
	}
	return nil
}

func sortedIDs[V any](m map[ID]V) []ID {
	out := make([]ID, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	slices.SortFunc(out, func(a, b ID) int { return slices.Compare(a[:], b[:]) })
	return out
}
