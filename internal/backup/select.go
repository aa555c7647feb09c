package backup

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"ferry/internal/backup/repo"
)

// ErrNoSnapshot is returned by SelectSnapshot when no snapshot matches.
var ErrNoSnapshot = errors.New("no such snapshot")

// SelectSnapshot picks one of snaps: the one whose ID starts with the hex
// prefix id (an error if several do), else, when at is not zero, the
// latest taken at or before at, else the latest.
func SelectSnapshot(snaps []repo.Snapshot, id string, at time.Time) (repo.Snapshot, error) {
	if len(snaps) == 0 {
		return repo.Snapshot{}, fmt.Errorf("%w: the repository has no snapshots", ErrNoSnapshot)
	}
	if id != "" {
		id = strings.ToLower(id)
		var found []repo.Snapshot
		for _, s := range snaps {
			if strings.HasPrefix(s.ID.String(), id) {
				found = append(found, s)
			}
		}
		switch len(found) {
		case 0:
			return repo.Snapshot{}, fmt.Errorf("%w: no snapshot ID starts with %q", ErrNoSnapshot, id)
		case 1:
			return found[0], nil
		}
		var ids []string
		for _, s := range found {
			ids = append(ids, s.ID.Short())
		}
		return repo.Snapshot{}, fmt.Errorf("snapshot %q is ambiguous: it starts %s", id, strings.Join(ids, ", "))
	}
	var best *repo.Snapshot
	for i := range snaps {
		s := &snaps[i]
		if !at.IsZero() && s.Time.After(at) {
			continue
		}
		if best == nil || !s.Time.Before(best.Time) {
			best = s
		}
	}
	if best == nil {
		return repo.Snapshot{}, fmt.Errorf("%w: none was taken at or before %s (the first is from %s)",
			ErrNoSnapshot, at.Format(time.RFC3339), oldest(snaps).Time.Format(time.RFC3339))
	}
	return *best, nil
}

func oldest(snaps []repo.Snapshot) repo.Snapshot {
	o := snaps[0]
	for _, s := range snaps[1:] {
		if s.Time.Before(o.Time) {
			o = s
		}
	}
	return o
}
