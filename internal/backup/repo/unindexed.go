package repo

import (
	"context"
	"errors"
	"fmt"
)

// findUnindexed lists the packs and reads the header of every pack no
// index lists (left by a run killed before its Flush), so their blobs are
// reused and the next Flush indexes them. A pack whose header cannot be
// read is logged and skipped: a later prune removes it.
func (r *Repository) findUnindexed(ctx context.Context) error {
	for _, t := range []BlobType{DataBlob, TreeBlob} {
		packs, err := r.listPacks(ctx, t)
		if err != nil {
			return err
		}
		if t == TreeBlob {
			r.cache.prune("tree", packs) // tree packs a prune deleted elsewhere
		}
		for id, size := range packs {
			r.mu.Lock()
			_, known := r.idx.packs[id]
			marked := r.marked[id]
			r.mu.Unlock()
			if known || marked {
				// A marked pack a killed run left is prune's to delete:
				// indexing it now would list a pack about to go.
				continue
			}
			e, err := r.readPackHeader(ctx, t, id, size)
			if err != nil {
				if errors.Is(err, ErrCorrupt) {
					r.log.Warn("unreadable pack not in any index", "pack", packPath(t, id), "err", err)
					continue
				}
				return err
			}
			r.log.Info("found a pack no index lists", "pack", packPath(t, id), "blobs", len(e.Blobs))
			r.mu.Lock()
			r.idx.addPack(e)
			r.fresh = append(r.fresh, e)
			r.mu.Unlock()
			r.setUnfinished()
		}
	}
	return nil
}

// listPacks lists every pack of type t with its size.
func (r *Repository) listPacks(ctx context.Context, t BlobType) (map[ID]int64, error) {
	dirs, err := r.listDirs(ctx, t.String())
	if err != nil {
		return nil, err
	}
	out := map[ID]int64{}
	for _, d := range dirs {
		ids, err := r.listIDs(ctx, t.String()+"/"+d)
		if err != nil {
			return nil, err
		}
		for id, size := range ids {
			if s := id.String(); s[:2] != d {
				r.log.Warn("ignoring a pack in the wrong directory", "path", t.String()+"/"+d+"/"+s)
				continue
			}
			out[id] = size
		}
	}
	return out, nil
}

// listDirs returns the names of the directories in dir (none if missing).
func (r *Repository) listDirs(ctx context.Context, dir string) ([]string, error) {
	es, err := r.be.List(ctx, dir)
	if err != nil {
		if isNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("repo: list %s: %w", dir, err)
	}
	var out []string
	for _, e := range es {
		if e.IsDir {
			out = append(out, e.Name())
		}
	}
	return out, nil
}
