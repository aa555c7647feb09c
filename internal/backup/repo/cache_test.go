package repo

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
)

// fillRepo saves tree and data blobs over several packs and two
// snapshots, and returns the tree blob IDs.
func fillRepo(t *testing.T, r *Repository) []ID {
	t.Helper()
	ctx := t.Context()
	var trees []ID
	for i := range 40 {
		id, _, _, err := r.SaveBlob(ctx, TreeBlob, append(textBytes(20000), byte(i)))
		if err != nil {
			t.Fatal(err)
		}
		trees = append(trees, id)
		if _, _, _, err := r.SaveBlob(ctx, DataBlob, randBytes(uint64(i), 50000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := r.SaveSnapshot(ctx, &Snapshot{Time: time.Now().Add(time.Duration(i)), Tree: trees[i]}); err != nil {
			t.Fatal(err)
		}
	}
	return trees
}

// walk does what a no-change backup does with the repository: Open,
// Snapshots, and LoadBlob of every tree blob.
func walk(t *testing.T, be backend.Backend, o Options, trees []ID) *Repository {
	t.Helper()
	r := openRepo(t, be, o)
	snaps, err := r.Snapshots(t.Context())
	if err != nil || len(snaps) != 2 {
		t.Fatalf("Snapshots: %d, %v", len(snaps), err)
	}
	for _, id := range trees {
		if _, err := r.LoadBlob(t.Context(), TreeBlob, id, nil); err != nil {
			t.Fatalf("LoadBlob: %v", err)
		}
	}
	return r
}

// TestCacheNoDownloads checks that a second Open, Snapshots and a load of
// every tree blob read no object from the backend when the local cache
// has them: not the config, the keys, the indexes, the snapshots or the
// tree packs.
func TestCacheNoDownloads(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend.Backend) {
		cb := &countingBackend{Backend: be}
		o := testOptions(t)
		trees := fillRepo(t, initRepo(t, cb, o))

		// The writer's cache: tree packs went in at upload.
		cb.opens.Store(0)
		r := walk(t, cb, o, trees)
		if n := cb.opens.Load(); n != 0 {
			t.Errorf("second Open and tree walk with the writer's cache: %d objects read, want 0", n)
		}
		if st := r.Stats(); st.ObjectsRead != 0 || st.BytesDownloaded != 0 || st.CacheHits == 0 {
			t.Errorf("stats %+v: want nothing read and cache hits", st)
		}

		// A fresh cache fills on the first walk, and serves the second.
		o2 := testOptions(t)
		walk(t, cb, o2, trees)
		if n := cb.opens.Load(); n == 0 {
			t.Fatalf("a walk with an empty cache read nothing: the counter is broken")
		}
		cb.opens.Store(0)
		walk(t, cb, o2, trees)
		if n := cb.opens.Load(); n != 0 {
			t.Errorf("walk with a filled cache: %d objects read, want 0", n)
		}
	})
}

// TestCacheDamaged flips a byte in every cached object: Open and the
// walk still work, fetching each damaged object once and repairing the
// cache.
func TestCacheDamaged(t *testing.T) {
	be := memory.New()
	cb := &countingBackend{Backend: be}
	o := testOptions(t)
	r := initRepo(t, cb, o)
	trees := fillRepo(t, r)
	dir := filepath.Join(o.CacheDir, "backup", r.ID().String())
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 5 {
		t.Fatalf("cache holds %v, want config, key, index, snapshots and tree packs", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0x40
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cb.opens.Store(0)
	walk(t, cb, o, trees)
	if n := cb.opens.Load(); n == 0 {
		t.Errorf("a walk over a damaged cache read nothing from the backend")
	}
	cb.opens.Store(0)
	walk(t, cb, o, trees)
	if n := cb.opens.Load(); n != 0 {
		t.Errorf("the damaged cache was not repaired: %d objects read on the next walk", n)
	}
}

// TestCachePrune removes a snapshot through another Repository: the next
// Snapshots of the first drops its cache entry.
func TestCachePrune(t *testing.T) {
	ctx := t.Context()
	be := memory.New()
	o := testOptions(t)
	r := initRepo(t, be, o)
	fillRepo(t, r)
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cached := filepath.Join(o.CacheDir, "backup", r.ID().String(), "snapshots", snaps[0].ID.String())
	if _, err := os.Stat(cached); err != nil {
		t.Fatalf("snapshot not cached: %v", err)
	}
	other := openRepo(t, be, testOptions(t))
	if err := other.RemoveSnapshot(ctx, snaps[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cached); err != nil {
		t.Fatalf("the other Repository's removal touched this cache: %v", err)
	}
	snaps2, err := r.Snapshots(ctx)
	if err != nil || len(snaps2) != 1 {
		t.Fatalf("Snapshots: %d %v", len(snaps2), err)
	}
	if _, err := os.Stat(cached); err == nil {
		t.Errorf("cache entry of a removed snapshot kept")
	}
}

// TestCachePrunesTreePacks deletes a tree pack through another
// Repository: the next Open drops it from this cache.
func TestCachePrunesTreePacks(t *testing.T) {
	ctx := t.Context()
	be := memory.New()
	o := testOptions(t)
	r := initRepo(t, be, o)
	ids := saveFlush(t, r, TreeBlob, []byte("tree one"))
	p := packOf(t, r, TreeBlob, ids[0])
	cached := filepath.Join(o.CacheDir, "backup", r.ID().String(), filepath.FromSlash(packPath(TreeBlob, p)))
	if _, err := os.Stat(cached); err != nil {
		t.Fatalf("tree pack not cached at upload: %v", err)
	}
	if err := openRepo(t, be, testOptions(t)).DeletePacks(ctx, []ID{p}); err != nil {
		t.Fatal(err)
	}
	openRepo(t, be, o)
	if _, err := os.Stat(cached); err == nil {
		t.Errorf("cached tree pack kept after the pack was deleted")
	}
}

// TestCacheOneDownloadPerPack loads every blob of an uncached tree pack
// at once: the pack is downloaded once.
func TestCacheOneDownloadPerPack(t *testing.T) {
	be := memory.New()
	r := initRepo(t, be, testOptions(t))
	var blobs [][]byte
	for i := range 16 {
		blobs = append(blobs, append(textBytes(3000), byte(i)))
	}
	ids := saveFlush(t, r, TreeBlob, blobs...)
	if n := len(objects(t, be, "tree")); n != 1 {
		t.Fatalf("%d tree packs, want 1", n)
	}
	cb := &countingBackend{Backend: be}
	r2 := openRepo(t, cb, testOptions(t))
	cb.opens.Store(0)
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			if _, err := r2.LoadBlob(t.Context(), TreeBlob, id, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := cb.opens.Load(); n != 1 {
		t.Errorf("%d downloads of one tree pack for %d concurrent loads, want 1", n, len(ids))
	}
}
