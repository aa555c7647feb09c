package repo

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
)

// opLog records the mutations made through it, in order.
type opLog struct {
	backend.Backend
	mu  sync.Mutex
	ops []string
}

func (l *opLog) Put(ctx context.Context, p string, r io.Reader, size int64, mt time.Time) (backend.Entry, error) {
	e, err := l.Backend.Put(ctx, p, r, size, mt)
	l.log("put " + p)
	return e, err
}

func (l *opLog) Remove(ctx context.Context, p string) error {
	err := l.Backend.Remove(ctx, p)
	l.log("remove " + p)
	return err
}

func (l *opLog) log(s string) {
	l.mu.Lock()
	l.ops = append(l.ops, s)
	l.mu.Unlock()
}

// saveFlush saves blobs and flushes them into packs of their own.
func saveFlush(t *testing.T, r *Repository, bt BlobType, blobs ...[]byte) []ID {
	t.Helper()
	var ids []ID
	for _, b := range blobs {
		id, _, _, err := r.SaveBlob(t.Context(), bt, b)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	return ids
}

// packOf returns the pack holding a blob.
func packOf(t *testing.T, r *Repository, bt BlobType, id ID) ID {
	t.Helper()
	pb, ok := r.Lookup(bt, id)
	if !ok {
		t.Fatalf("blob %s not indexed", id.Short())
	}
	return pb.Pack
}

// TestDedupRule checks that SaveBlob stores a fresh copy of a blob whose
// only copies are in marked packs, in this Repository and in one opened
// after the mark, and dedups as usual once an unmarked copy exists.
func TestDedupRule(t *testing.T) {
	ctx := t.Context()
	be := memory.New()
	r := initRepo(t, be, testOptions(t))
	a, b := randBytes(1, 3000), randBytes(2, 3000)
	ids := saveFlush(t, r, DataBlob, a, b)
	p := packOf(t, r, DataBlob, ids[0])
	other := openRepo(t, be, testOptions(t)) // opened before the mark
	if err := r.MarkDeleted(ctx, []ID{p}); err != nil {
		t.Fatal(err)
	}
	marks, err := r.Marked(ctx)
	if err != nil || len(marks) != 1 || !slices.Equal(marks[0].Packs, []ID{p}) || marks[0].Time.IsZero() {
		t.Fatalf("Marked: %+v, %v", marks, err)
	}
	if r.HasBlob(DataBlob, ids[0]) {
		t.Errorf("HasBlob true for a blob only in a marked pack")
	}
	later := openRepo(t, be, testOptions(t))
	for name, rr := range map[string]*Repository{"marking": r, "opened later": later} {
		_, added, _, err := rr.SaveBlob(ctx, DataBlob, a)
		if err != nil || !added {
			t.Errorf("%s: SaveBlob of a blob only in a marked pack: added %v, %v; want a fresh copy", name, added, err)
		}
		if err := rr.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if got := packOf(t, rr, DataBlob, ids[0]); got == p {
			t.Errorf("%s: Lookup prefers the marked pack", name)
		}
		_, added, _, _ = rr.SaveBlob(ctx, DataBlob, a)
		if added {
			t.Errorf("%s: SaveBlob stored a third copy although an unmarked one exists", name)
		}
	}
	// The documented limit: a Repository opened before the mark does not
	// see it (a backup running across the whole grace period).
	if _, added, _, _ := other.SaveBlob(ctx, DataBlob, a); added {
		t.Logf("a Repository opened before the mark stored a fresh copy too")
	}
	infos := r.Packs()
	marked := 0
	for _, pi := range infos {
		if pi.Marked {
			marked++
			if pi.ID != p {
				t.Errorf("pack %s marked, want only %s", pi.ID.Short(), p.Short())
			}
		}
	}
	if marked != 1 {
		t.Errorf("%d packs reported marked, want 1", marked)
	}
}

// TestDeletePacks deletes a marked pack whose blob was stored again: the
// new index is written before the old index objects and the pack go,
// every other blob still loads, the mark is gone, and Check is clean.
func TestDeletePacks(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend.Backend) {
		ctx := t.Context()
		lb := &opLog{Backend: be}
		r := initRepo(t, lb, testOptions(t))
		a, b, c := randBytes(1, 3000), randBytes(2, 3000), randBytes(3, 3000)
		tree, _, _, err := r.SaveBlob(ctx, TreeBlob, []byte("a tree"))
		if err != nil {
			t.Fatal(err)
		}
		first := saveFlush(t, r, DataBlob, a, b) // a data and a tree pack, one index
		second := saveFlush(t, r, DataBlob, c)   // another pack, another index
		dead := packOf(t, r, DataBlob, first[0])
		oldIndexes := objects(t, be, "index")
		if len(oldIndexes) != 2 {
			t.Fatalf("index objects %v", oldIndexes)
		}
		// b is still live: keep it by repacking, then delete the pack.
		pb, _ := r.Lookup(DataBlob, first[1])
		if err := r.Repack(ctx, []PackedBlob{pb}); err != nil {
			t.Fatal(err)
		}
		if err := r.MarkDeleted(ctx, []ID{dead}); err != nil {
			t.Fatal(err)
		}
		lb.mu.Lock()
		lb.ops = nil
		lb.mu.Unlock()
		if err := r.DeletePacks(ctx, []ID{dead}); err != nil {
			t.Fatal(err)
		}
		// Order: the new index first, then the old index, then the pack.
		var newIdx, oldIdx, pack = -1, -1, -1
		for i, op := range lb.ops {
			switch {
			case strings.HasPrefix(op, "put index/"):
				newIdx = i
			case strings.HasPrefix(op, "remove index/"):
				oldIdx = i
			case op == "remove "+packPath(DataBlob, dead):
				pack = i
			}
		}
		if newIdx < 0 || oldIdx < newIdx || pack < oldIdx {
			t.Errorf("operations %q: want the new index written, then the old one removed, then the pack", lb.ops)
		}
		if got := objects(t, be, "deleted"); len(got) != 0 {
			t.Errorf("marks left after their pack was deleted: %v", got)
		}
		if slices.Contains(objects(t, be, "data"), packPath(DataBlob, dead)) {
			t.Errorf("pack %s still stored", dead.Short())
		}
		for _, rr := range []*Repository{r, openRepo(t, be, testOptions(t))} {
			if _, err := rr.LoadBlob(ctx, DataBlob, first[0], nil); err == nil {
				t.Errorf("the deleted pack's dead blob still loads")
			}
			if _, err := rr.LoadBlob(ctx, TreeBlob, tree, nil); err != nil {
				t.Errorf("the tree blob indexed beside the deleted pack: %v", err)
			}
			for i, id := range []ID{first[1], second[0]} {
				got, err := rr.LoadBlob(ctx, DataBlob, id, nil)
				if err != nil || !bytes.Equal(got, [][]byte{b, c}[i]) {
					t.Errorf("live blob %d after DeletePacks: %v", i, err)
				}
			}
			res, err := rr.Check(ctx, CheckOptions{ReadData: 1})
			if err != nil || !res.OK() {
				t.Errorf("Check after DeletePacks: %v %v", res.Problems, err)
			}
			for _, p := range rr.Packs() {
				if p.ID == dead {
					t.Errorf("Packs still lists the deleted pack")
				}
			}
		}
	})
}

// TestDeletePacksOthersIndex deletes a pack listed by an index another
// Repository wrote after this one was opened.
func TestDeletePacksOthersIndex(t *testing.T) {
	ctx := t.Context()
	be := memory.New()
	r := initRepo(t, be, testOptions(t))
	other := openRepo(t, be, testOptions(t))
	ids := saveFlush(t, other, DataBlob, randBytes(1, 100), randBytes(2, 100))
	p := packOf(t, other, DataBlob, ids[0])
	if err := r.DeletePacks(ctx, []ID{p}); err != nil {
		t.Fatal(err)
	}
	if got := objects(t, be, "index"); len(got) != 0 {
		t.Errorf("index objects %v left listing only the deleted pack", got)
	}
	if got := objects(t, be, "data"); len(got) != 0 {
		t.Errorf("packs left: %v", got)
	}
}
