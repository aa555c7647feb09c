package backup

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"ferry/internal/backup/repo"
)

// TestPrunePhases walks the two phases: a dry run changes nothing, phase
// 1 marks, phase 2 waits for the grace period, a marked pack that a
// snapshot references again (a backup reused its blobs meanwhile) is
// kept, and once it is dead again it is deleted.
func TestPrunePhases(t *testing.T) {
	ctx := t.Context()
	r, _ := newRestoreRepo(t)
	rng := rand.New(rand.NewPCG(31, 32))
	mt := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	srcA, srcB := t.TempDir(), t.TempDir()
	for i := range 8 {
		rtWriteFile(t, filepath.Join(srcA, "a", string(rune('a'+i))), rtRandBytes(rng, 200<<10), 0o644, mt)
		rtWriteFile(t, filepath.Join(srcB, "b", string(rune('a'+i))), rtRandBytes(rng, 200<<10), 0o644, mt)
	}
	rootA, rootB := saveDir(t, r, srcA), saveDir(t, r, srcB)
	flush(t, r)
	save := func(root repo.ID) repo.ID {
		t.Helper()
		id, err := r.SaveSnapshot(ctx, &repo.Snapshot{Time: time.Now(), Tree: root, Paths: []string{"/x"}})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	idA := save(rootA)
	save(rootB)
	if err := r.RemoveSnapshot(ctx, idA); err != nil {
		t.Fatal(err)
	}
	marks := func() int {
		t.Helper()
		ms, err := r.Marked(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(ms)
	}

	st, err := Prune(ctx, r, PruneOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.PacksMarked == 0 || marks() != 0 {
		t.Fatalf("dry run: %+v and %d marks, want packs to mark and no mark written", st, marks())
	}
	st, err = Prune(ctx, r, PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	marked := st.PacksMarked
	if marked == 0 || marks() != 1 || st.PacksDeleted != 0 {
		t.Fatalf("phase 1: %+v, %d marks", st, marks())
	}
	st, err = Prune(ctx, r, PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.PacksWaiting != marked || st.PacksDeleted != 0 || st.PacksMarked != 0 {
		t.Fatalf("inside the grace period: %+v, want %d waiting and nothing deleted or marked", st, marked)
	}

	// A snapshot references tree A again before the grace period ends.
	idA2 := save(rootA)
	later := time.Now().Add(25 * time.Hour)
	st, err = Prune(ctx, r, PruneOptions{Now: later})
	if err != nil {
		t.Fatal(err)
	}
	if st.PacksDeleted != 0 || st.PacksRevived == 0 {
		t.Fatalf("revived packs: %+v, want them kept", st)
	}
	dest := t.TempDir()
	if _, err := Restore(ctx, r, rootA, dest, RestoreOptions{}); err != nil {
		t.Fatalf("restore of the revived snapshot: %v", err)
	}
	sameTree(t, srcA, dest)

	// Dead again: now they go, and B still restores.
	if err := r.RemoveSnapshot(ctx, idA2); err != nil {
		t.Fatal(err)
	}
	st, err = Prune(ctx, r, PruneOptions{Now: later})
	if err != nil {
		t.Fatal(err)
	}
	if st.PacksDeleted < marked-st.PacksRevived || st.PacksDeleted == 0 {
		t.Fatalf("after the grace period: %+v, want the marked packs deleted", st)
	}
	dest = t.TempDir()
	if _, err := Restore(ctx, r, rootB, dest, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, srcB, dest)
	if _, err := Restore(ctx, r, rootA, t.TempDir(), RestoreOptions{}); err == nil {
		t.Error("tree A still restores after its packs were deleted")
	}
}
