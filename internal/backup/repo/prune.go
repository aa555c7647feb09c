package repo

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
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
	for k, pb := range r.idx.blobs {
		add(pb)
		for _, m := range r.idx.more[k] {
			add(m)
		}
	}
	out := make([]PackInfo, 0, len(byID))
	for _, p := range byID {
		slices.SortFunc(p.Blobs, func(a, b PackedBlob) int { return cmp.Compare(a.Offset, b.Offset) })
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b PackInfo) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return out
}
