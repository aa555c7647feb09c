package backup

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"ferry/internal/backup/repo"
)

// PruneOptions are Prune's settings.
type PruneOptions struct {
	// Grace is how long a pack stays marked before phase 2 may delete it
	// (default 24h). A backup that runs longer than Grace may lose blobs
	// it deduplicated against a marked pack: the documented limit.
	// Negative is no grace at all.
	Grace time.Duration
	// MaxUnused is the fraction of a pack's bytes that may be unused
	// before its live blobs are repacked (default 0.05; negative never
	// repacks).
	MaxUnused float64
	// DryRun computes what would happen and changes nothing.
	DryRun bool
	// Now is the current time (default time.Now), for tests.
	Now    time.Time
	Logger *slog.Logger
}

// PruneStats says what Prune did, or with DryRun would do.
type PruneStats struct {
	Snapshots    int   // snapshots whose trees were walked
	LiveBlobs    int   // blobs reachable from them
	Packs        int   // packs in the index
	PacksMarked  int   // packs marked in this run (phase 1)
	BytesMarked  int64 // their sizes
	PacksRepack  int   // of those, packs whose live blobs were saved again
	BlobsRepack  int
	BytesRepack  int64 // plaintext bytes saved again
	PacksWaiting int   // marked packs still inside the grace period
	PacksDeleted int   // packs deleted (phase 2)
	BytesDeleted int64
	PacksRevived int // marked packs past the grace period that hold a blob with no other copy; kept
}

// PruneRepository is what Prune needs of a repository.
type PruneRepository interface {
	BlobLoader
	Snapshots(ctx context.Context) ([]repo.Snapshot, error)
	Packs() []repo.PackInfo
	Marked(ctx context.Context) ([]repo.Mark, error)
	MarkDeleted(ctx context.Context, packs []repo.ID) error
	DeletePacks(ctx context.Context, packs []repo.ID) error
	Repack(ctx context.Context, blobs []repo.PackedBlob) error
}

var _ PruneRepository = (*repo.Repository)(nil)

// blobRef names a blob of either type.
type blobRef struct {
	t  repo.BlobType
	id repo.ID
}

// LiveBlobs returns every blob reachable from the trees of snaps: the
// trees themselves and the files' data blobs. A tree shared by several
// snapshots is read once.
func LiveBlobs(ctx context.Context, r BlobLoader, snaps []repo.Snapshot) (map[blobRef]struct{}, error) {
	live := make(map[blobRef]struct{})
	var walk func(id repo.ID) error
	walk = func(id repo.ID) error {
		k := blobRef{repo.TreeBlob, id}
		if _, ok := live[k]; ok {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		t, err := loadTreeBlob(ctx, r, id)
		if err != nil {
			return err
		}
		live[k] = struct{}{}
		for _, n := range t.Nodes {
			for _, c := range n.Content {
				live[blobRef{repo.DataBlob, c}] = struct{}{}
			}
			if n.Type == "dir" {
				if err := walk(n.Subtree); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, s := range snaps {
		if err := walk(s.Tree); err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", s.ID.Short(), err)
		}
	}
	return live, nil
}

// Prune frees the space of blobs no snapshot references, in two phases
// that need no lock:
//
// Phase 2 (first, so one run of prune a day both marks and sweeps):
// every pack marked at least o.Grace ago is deleted if it is still dead:
// each blob in it that a snapshot now references has another copy in a
// pack that is not marked. A marked pack that fails this is kept (a
// backup reused its blob in the grace period); backups store fresh
// copies of blobs found only in marked packs, so it dies later.
//
// Phase 1: every unmarked pack without a live blob is marked; a pack
// whose unused bytes exceed o.MaxUnused of its size is marked too, after
// its live blobs (those with no copy in another pack that stays) are
// saved again into new packs.
func Prune(ctx context.Context, r PruneRepository, o PruneOptions) (PruneStats, error) {
	switch {
	case o.Grace == 0:
		o.Grace = 24 * time.Hour
	case o.Grace < 0:
		o.Grace = 0
	}
	if o.MaxUnused == 0 {
		o.MaxUnused = 0.05
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	var st PruneStats
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return st, fmt.Errorf("prune: %w", err)
	}
	st.Snapshots = len(snaps)
	live, err := LiveBlobs(ctx, r, snaps)
	if err != nil {
		return st, fmt.Errorf("prune: %w", err)
	}
	st.LiveBlobs = len(live)
	marks, err := r.Marked(ctx)
	if err != nil {
		return st, fmt.Errorf("prune: %w", err)
	}
	markedAt := make(map[repo.ID]time.Time)
	for _, m := range marks {
		for _, p := range m.Packs {
			if t, ok := markedAt[p]; !ok || m.Time.Before(t) {
				markedAt[p] = m.Time
			}
		}
	}
	packs := r.Packs()
	st.Packs = len(packs)

	// copies counts, per live blob, the unmarked packs that hold it.
	copies := make(map[blobRef]int)
	for _, p := range packs {
		if _, marked := markedAt[p.ID]; marked {
			continue
		}
		for _, b := range p.Blobs {
			k := blobRef{b.Type, b.ID}
			if _, ok := live[k]; ok {
				copies[k]++
			}
		}
	}

	// Phase 2.
	var del []repo.ID
	for _, p := range packs {
		t, marked := markedAt[p.ID]
		if !marked {
			continue
		}
		if o.Now.Sub(t) < o.Grace {
			st.PacksWaiting++
			continue
		}
		dead := true
		for _, b := range p.Blobs {
			k := blobRef{b.Type, b.ID}
			if _, ok := live[k]; ok && copies[k] == 0 {
				dead = false
				break
			}
		}
		if !dead {
			st.PacksRevived++
			o.Logger.Info("prune: a marked pack holds a live blob with no other copy; keeping it", "pack", p.ID.Short())
			continue
		}
		del = append(del, p.ID)
		st.PacksDeleted++
		st.BytesDeleted += p.Size
	}
	if len(del) > 0 && !o.DryRun {
		if err := r.DeletePacks(ctx, del); err != nil {
			return st, fmt.Errorf("prune: %w", err)
		}
	}

	// Phase 1.
	var mark []repo.ID
	var repack []repo.PackedBlob
	for _, p := range packs {
		if _, marked := markedAt[p.ID]; marked {
			continue
		}
		// unused counts the bytes of dead blobs; the header is overhead
		// every pack has.
		var unused int64
		var liveBlobs []repo.PackedBlob
		for _, b := range p.Blobs {
			if _, ok := live[blobRef{b.Type, b.ID}]; ok {
				liveBlobs = append(liveBlobs, b)
			} else {
				unused += b.Length
			}
		}
		switch {
		case len(liveBlobs) == 0:
		case o.MaxUnused >= 0 && float64(unused) > o.MaxUnused*float64(p.Size):
			st.PacksRepack++
			for _, b := range liveBlobs {
				// A blob with a copy in another unmarked pack needs no new one.
				k := blobRef{b.Type, b.ID}
				if copies[k] > 1 {
					copies[k]--
					continue
				}
				repack = append(repack, b)
				st.BlobsRepack++
				st.BytesRepack += b.RawLength
			}
		default:
			continue
		}
		mark = append(mark, p.ID)
		st.PacksMarked++
		st.BytesMarked += p.Size
	}
	if o.DryRun || len(mark) == 0 {
		return st, nil
	}
	// New copies first, then the mark: a crash in between leaves two
	// copies of some blobs, never a live blob only in a marked pack.
	if len(repack) > 0 {
		if err := r.Repack(ctx, repack); err != nil {
			return st, fmt.Errorf("prune: repack: %w", err)
		}
	}
	if err := r.MarkDeleted(ctx, mark); err != nil {
		return st, fmt.Errorf("prune: %w", err)
	}
	return st, nil
}
