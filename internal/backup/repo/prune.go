package repo

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"time"
)

// Mark is a deleted/ object: prune's phase 1 names packs it found with no
// live blob. SaveBlob does not dedup against blobs whose only copies are
// in marked packs, so a backup running meanwhile stores fresh copies, and
// phase 2 deletes a marked pack only if it is still dead then.
type Mark struct {
	ID    ID        `json:"-"`
	Time  time.Time `json:"time"`
	Packs []ID      `json:"packs"`
}

// loadMarks reads the deleted/ marks, so SaveBlob honours them.
func (r *Repository) loadMarks(ctx context.Context) error {
	marks, err := r.Marked(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range marks {
		for _, p := range m.Packs {
			r.marked[p] = true
		}
	}
	return nil
}

// Marked reads every deleted/ mark, oldest first.
func (r *Repository) Marked(ctx context.Context) ([]Mark, error) {
	ids, err := r.listIDs(ctx, "deleted")
	if err != nil {
		return nil, err
	}
	r.cache.prune("deleted", ids)
	var out []Mark
	for id := range ids {
		name := "deleted/" + id.String()
		var m Mark
		if err := r.loadObject(ctx, name, id, &m); err != nil {
			return nil, err
		}
		m.ID = id
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Mark) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// MarkDeleted writes a deleted/ mark naming packs (prune's phase 1); from
// then on this Repository, and every one opened later, stores fresh
// copies of blobs found only in them.
func (r *Repository) MarkDeleted(ctx context.Context, packs []ID) error {
	if len(packs) == 0 {
		return nil
	}
	m := Mark{Time: time.Now().UTC(), Packs: packs}
	if _, err := r.saveObject(ctx, "deleted", m); err != nil {
		return fmt.Errorf("repo: mark packs deleted: %w", err)
	}
	r.mu.Lock()
	for _, p := range packs {
		r.marked[p] = true
	}
	r.mu.Unlock()
	return nil
}

// PackInfo describes one pack and the blobs the index lists in it.
type PackInfo struct {
	ID     ID
	Type   BlobType
	Size   int64
	Marked bool // a deleted/ mark names it
	Blobs  []PackedBlob
}

// Packs lists every pack the index knows (indexed, or found at Open), with
// its blobs in pack order, sorted by ID.
func (r *Repository) Packs() []PackInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	byID := make(map[ID]*PackInfo, len(r.idx.packs))
	for id, m := range r.idx.packs {
		byID[id] = &PackInfo{ID: id, Type: m.Type, Size: m.Size, Marked: r.marked[id], Blobs: make([]PackedBlob, 0, m.Blobs)}
	}
	add := func(pb PackedBlob) {
		if p := byID[pb.Pack]; p != nil {
			p.Blobs = append(p.Blobs, pb)
		}
	}
	r.idx.each(add)
	out := make([]PackInfo, 0, len(byID))
	for _, p := range byID {
		slices.SortFunc(p.Blobs, func(a, b PackedBlob) int { return cmp.Compare(a.Offset, b.Offset) })
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b PackInfo) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return out
}

// RemoveMark deletes a deleted/ mark: prune's phase 2 drops the marks it
// has dealt with, and those of packs it found live again.
func (r *Repository) RemoveMark(ctx context.Context, id ID) error {
	name := "deleted/" + id.String()
	if err := r.be.Remove(ctx, name); err != nil {
		return fmt.Errorf("repo: remove mark %s: %w", id.Short(), err)
	}
	r.cache.remove(name)
	return r.loadMarksFresh(ctx)
}

// loadMarksFresh replaces the in-memory marks with those stored now.
func (r *Repository) loadMarksFresh(ctx context.Context) error {
	marks, err := r.Marked(ctx)
	if err != nil {
		return err
	}
	m := map[ID]bool{}
	for _, mk := range marks {
		for _, p := range mk.Packs {
			m[p] = true
		}
	}
	r.mu.Lock()
	r.marked = m
	r.mu.Unlock()
	return nil
}

// Repack stores a fresh copy of each blob (read from where the index
// says it is) in new packs and flushes them into a new index, so the
// packs holding the old copies can be marked and deleted. Blobs are read
// and written one at a time.
func (r *Repository) Repack(ctx context.Context, blobs []PackedBlob) error {
	var buf []byte
	for _, pb := range blobs {
		rc, err := r.OpenPackRange(ctx, pb.Pack, pb.Type, pb.Offset, pb.Length)
		if err != nil {
			return err
		}
		stored, err := io.ReadAll(io.LimitReader(rc, pb.Length+1))
		rc.Close()
		if err != nil {
			return fmt.Errorf("repo: repack: read %s: %w", packPath(pb.Type, pb.Pack), err)
		}
		plain, err := r.DecodeBlob(pb, stored, buf)
		if err != nil {
			return fmt.Errorf("repo: repack: %w", err)
		}
		buf = plain
		if _, _, _, err := r.saveBlob(ctx, pb.Type, plain, true); err != nil {
			return err
		}
	}
	return r.Flush(ctx)
}

// DeletePacks deletes packs (prune's phase 2, for packs the caller found
// still dead) and rewrites the index objects that list them: first it
// writes one new index with every other pack those objects list, then it
// deletes the old index objects, then the packs, then the marks all of
// whose packs are gone. A crash in between leaves indexes that list
// packs twice (harmless) or packs no index lists (found by the next
// Open, or deleted by the next prune), never an index that lists only a
// deleted pack's copy of a live blob the caller kept.
func (r *Repository) DeletePacks(ctx context.Context, packs []ID) error {
	if len(packs) == 0 {
		return nil
	}
	gone := map[ID]bool{}
	for _, p := range packs {
		gone[p] = true
	}
	// Every index object now on the backend, including those written by
	// others since Open.
	ids, err := r.listIDs(ctx, "index")
	if err != nil {
		return err
	}
	var affected []ID
	var keep []packEntry
	for _, id := range sortedIDs(ids) {
		r.mu.Lock()
		listed, ok := r.indexes[id]
		r.mu.Unlock()
		if ok && !slices.ContainsFunc(listed, func(p ID) bool { return gone[p] }) {
			continue
		}
		c, err := r.readIndex(ctx, id) // from the local cache, usually
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(c.Packs, func(p packEntry) bool { return gone[p.ID] }) {
			continue
		}
		affected = append(affected, id)
		for _, p := range c.Packs {
			if !gone[p.ID] {
				keep = append(keep, p)
			}
		}
	}
	if len(keep) > 0 {
		if _, err := r.writeIndex(ctx, keep); err != nil {
			return err
		}
	}
	for _, id := range affected {
		if err := r.removeObject(ctx, "index/"+id.String()); err != nil {
			return err
		}
		r.cache.remove("index/" + id.String())
		r.mu.Lock()
		delete(r.indexes, id)
		r.mu.Unlock()
	}
	r.mu.Lock()
	types := map[ID]BlobType{}
	for _, p := range packs {
		if m, ok := r.idx.packs[p]; ok {
			types[p] = m.Type
		}
	}
	r.mu.Unlock()
	for _, p := range packs {
		t, ok := types[p]
		if !ok {
			// Not in the index (an unindexed pack): find it by trying both
			// directories.
			for _, bt := range []BlobType{DataBlob, TreeBlob} {
				if _, err := r.be.Stat(ctx, packPath(bt, p)); err == nil {
					t, ok = bt, true
				}
			}
			if !ok {
				continue
			}
		}
		if err := r.removeObject(ctx, packPath(t, p)); err != nil {
			return err
		}
		r.cache.remove(packPath(t, p))
	}
	r.mu.Lock()
	r.idx.removePacks(gone)
	r.mu.Unlock()

	marks, err := r.Marked(ctx)
	if err != nil {
		return err
	}
	for _, m := range marks {
		if !slices.ContainsFunc(m.Packs, func(p ID) bool { return !gone[p] }) {
			if err := r.removeObject(ctx, "deleted/"+m.ID.String()); err != nil {
				return err
			}
			r.cache.remove("deleted/" + m.ID.String())
		}
	}
	return r.loadMarksFresh(ctx)
}
