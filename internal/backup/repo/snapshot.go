package repo

import (
	"sync"

	"context"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
)

// Snapshot is one backup run's record: the root tree and what the run
// saw. It is stored as snapshots/<id>, encrypted JSON, and its ID is the
// SHA-256 of the stored object.
type Snapshot struct {
	ID       ID        `json:"-"`
	Time     time.Time `json:"time"`
	Parent   *ID       `json:"parent,omitempty"`
	Tree     ID        `json:"tree"`
	Paths    []string  `json:"paths"`
	Hostname string    `json:"hostname,omitempty"`
	Username string    `json:"username,omitempty"`
	Tags     []string  `json:"tags,omitempty"`
	Summary  Summary   `json:"summary"`
}

// Summary counts what a backup run did.
type Summary struct {
	FilesNew        int64 `json:"files_new"`
	FilesChanged    int64 `json:"files_changed"`
	FilesUnmodified int64 `json:"files_unmodified"`
	FilesDeleted    int64 `json:"files_deleted"`
	DirsNew         int64 `json:"dirs_new"`
	DirsChanged     int64 `json:"dirs_changed"`
	DirsUnmodified  int64 `json:"dirs_unmodified"`
	DataBlobs       int64 `json:"data_blobs"`
	TreeBlobs       int64 `json:"tree_blobs"`
	DataAdded       int64 `json:"data_added"`        // plaintext bytes of new blobs
	DataAddedStored int64 `json:"data_added_stored"` // their stored bytes
	TotalFiles      int64 `json:"total_files"`
	TotalBytes      int64 `json:"total_bytes"`
	Errors          int64 `json:"errors"`
}

// SaveSnapshot stores s (its ID field is ignored) and returns its ID. Call
// Flush first, so every blob s refers to is indexed.
func (r *Repository) SaveSnapshot(ctx context.Context, s *Snapshot) (ID, error) {
	if s.Time.IsZero() {
		return ID{}, fmt.Errorf("repo: save snapshot: no time")
	}
	id, err := r.saveObject(ctx, "snapshots", s)
	if err != nil {
		return ID{}, err
	}
	s.ID = id
	return id, nil
}

// Snapshots reads every snapshot (through the local cache), sorted by
// time, oldest first.
func (r *Repository) Snapshots(ctx context.Context) ([]Snapshot, error) {
	ids, err := r.listIDs(ctx, "snapshots")
	if err != nil {
		return nil, err
	}
	r.cache.prune("snapshots", ids)
	out := make([]Snapshot, 0, len(ids))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(loadConcurrency)
	for id := range ids {
		g.Go(func() error {
			name := "snapshots/" + id.String()
			var s Snapshot
			if err := r.loadObject(gctx, name, id, &s); err != nil {
				return err
			}
			s.ID = id
			mu.Lock()
			out = append(out, s)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Snapshot) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return slices.Compare(a.ID[:], b.ID[:])
	})
	return out, nil
}

// RemoveSnapshot deletes snapshots/<id>. The blobs it used stay until a
// prune.
func (r *Repository) RemoveSnapshot(ctx context.Context, id ID) error {
	name := "snapshots/" + id.String()
	if err := r.be.Remove(ctx, name); err != nil {
		return fmt.Errorf("repo: remove snapshot %s: %w", id.Short(), err)
	}
	r.cache.remove(name)
	return nil
}
