package repo

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
)

// TestUnindexedPacks is a run killed before its Flush: its packs are on
// the backend but no index lists them. The next Open finds them from
// their headers, SaveBlob of the same data stores only what no uploaded
// pack holds, and Flush indexes everything.
func TestUnindexedPacks(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend.Backend) {
		ctx := t.Context()
		o := testOptions(t)
		o.PackSize = 64 << 10
		r := initRepo(t, be, o)
		blob := func(i int) (BlobType, []byte) {
			if i%4 == 0 {
				return TreeBlob, append(textBytes(9000), fmt.Sprint(i)...)
			}
			return DataBlob, randBytes(uint64(i), 20000)
		}
		const n = 40
		for i := range n {
			bt, b := blob(i)
			if _, _, _, err := r.SaveBlob(ctx, bt, b); err != nil {
				t.Fatal(err)
			}
		}
		r.uploads.wait() // the full packs are uploaded; the open ones are lost with the process
		if idx := objects(t, be, "index"); len(idx) != 0 {
			t.Fatalf("index objects without Flush: %v", idx)
		}
		uploaded := len(objects(t, be, "data")) + len(objects(t, be, "tree"))
		if uploaded < 3 {
			t.Fatalf("%d packs uploaded before the kill, want several", uploaded)
		}

		r2 := openRepo(t, be, testOptions(t))
		inPacks := 0
		for _, p := range r2.Packs() {
			inPacks += len(p.Blobs)
		}
		if inPacks == 0 || inPacks >= n {
			t.Fatalf("%d blobs found in unindexed packs, want some but not all %d", inPacks, n)
		}
		added := 0
		for i := range n {
			bt, b := blob(i)
			_, ok, _, err := r2.SaveBlob(ctx, bt, b)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				added++
			}
		}
		if added != n-inPacks {
			t.Errorf("rerun added %d blobs, want %d (%d were in the uploaded packs)", added, n-inPacks, inPacks)
		}
		if err := r2.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if idx := objects(t, be, "index"); len(idx) != 1 {
			t.Errorf("index objects after the rerun's Flush: %v, want 1", idx)
		}

		// Everything is indexed now: the next Open reads no pack header.
		cb := &countingBackend{Backend: be}
		r3 := openRepo(t, cb, testOptions(t))
		if got := cb.opens.Load(); got != 3 { // config, key, index
			t.Errorf("Open read %d objects, want 3 (no pack headers)", got)
		}
		for i := range n {
			bt, b := blob(i)
			got, err := r3.LoadBlob(ctx, bt, r3.BlobID(b), nil)
			if err != nil || !bytes.Equal(got, b) {
				t.Fatalf("LoadBlob %d: %v", i, err)
			}
		}
	})
}

// TestUnindexedDamagedPack checks that a pack whose header is damaged and
// that no index lists is skipped (logged), not fatal, and its blobs are
// saved again.
func TestUnindexedDamagedPack(t *testing.T) {
	ctx := t.Context()
	eachBackend(t, func(t *testing.T, be backend.Backend) {
		o := testOptions(t)
		r := initRepo(t, be, o)
		data := randBytes(7, 5000)
		if _, _, _, err := r.SaveBlob(ctx, DataBlob, data); err != nil {
			t.Fatal(err)
		}
		// Upload the pack without an index, as a killed run leaves it.
		r.packMu[DataBlob].Lock()
		p := r.packers[DataBlob]
		r.packers[DataBlob] = nil
		r.packMu[DataBlob].Unlock()
		if err := r.startUpload(ctx, p); err != nil {
			t.Fatal(err)
		}
		r.uploads.wait()
		packs := objects(t, be, "data")
		if len(packs) != 1 {
			t.Fatalf("packs %v", packs)
		}
		flipByte(t, be, packs[0], -10)
		r2 := openRepo(t, be, testOptions(t))
		_, ok, _, err := r2.SaveBlob(ctx, DataBlob, data)
		if err != nil || !ok {
			t.Errorf("SaveBlob of a blob only in a damaged unindexed pack: added %v, %v; want a fresh copy", ok, err)
		}
	})
}

// flipByte flips one byte of object p, at off (from the end if negative).
func flipByte(t *testing.T, be backend.Backend, p string, off int64) {
	t.Helper()
	ctx := t.Context()
	rc, err := be.Open(ctx, p, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	b := buf.Bytes()
	if off < 0 {
		off += int64(len(b))
	}
	b[off] ^= 0x10
	if _, err := be.Put(ctx, p, bytes.NewReader(b), int64(len(b)), time.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestTwoWriters runs two Repository values on one backend at once, as
// two backups of different machines into one repository would: both
// indexes and both snapshots are there and every blob loads.
func TestTwoWriters(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend.Backend) {
		ctx := t.Context()
		o := testOptions(t)
		o.PackSize = 64 << 10
		initRepo(t, be, o)
		blob := func(w, i int) []byte {
			if i%3 == 0 {
				return randBytes(uint64(i), 9000) // shared by both writers
			}
			return randBytes(uint64(1000*(w+1)+i), 9000)
		}
		const n = 60
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for w := range 2 {
			wg.Go(func() {
				o := testOptions(t)
				o.PackSize = 64 << 10
				r, err := Open(ctx, be, testPassword, o)
				if err != nil {
					errs <- err
					return
				}
				var ids []ID
				for i := range n {
					id, _, _, err := r.SaveBlob(ctx, DataBlob, blob(w, i))
					if err != nil {
						errs <- err
						return
					}
					ids = append(ids, id)
				}
				tree, _, _, err := r.SaveBlob(ctx, TreeBlob, fmt.Appendf(nil, "tree of writer %d", w))
				if err == nil {
					err = r.Flush(ctx)
				}
				if err == nil {
					_, err = r.SaveSnapshot(ctx, &Snapshot{Time: time.Now(), Tree: tree, Hostname: fmt.Sprint(w)})
				}
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if idx := objects(t, be, "index"); len(idx) != 2 {
			t.Errorf("index objects %v, want one per writer", idx)
		}
		r := openRepo(t, be, testOptions(t))
		snaps, err := r.Snapshots(ctx)
		if err != nil || len(snaps) != 2 {
			t.Fatalf("Snapshots: %d, %v", len(snaps), err)
		}
		for _, s := range snaps {
			if _, err := r.LoadBlob(ctx, TreeBlob, s.Tree, nil); err != nil {
				t.Errorf("snapshot %s's tree: %v", s.Hostname, err)
			}
		}
		for w := range 2 {
			for i := range n {
				b := blob(w, i)
				got, err := r.LoadBlob(ctx, DataBlob, r.BlobID(b), nil)
				if err != nil || !bytes.Equal(got, b) {
					t.Fatalf("writer %d blob %d: %v", w, i, err)
				}
			}
		}
	})
}

// TestFlushWhileSaving flushes over and over while other goroutines save:
// every blob ends up indexed and loads.
func TestFlushWhileSaving(t *testing.T) {
	ctx := t.Context()
	be := memory.New()
	o := testOptions(t)
	o.PackSize = 8 << 10
	r := initRepo(t, be, o)
	const workers, each = 4, 50
	var wg sync.WaitGroup
	stop := make(chan struct{})
	flushErr := make(chan error, 1)
	go func() {
		defer close(flushErr)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := r.Flush(ctx); err != nil {
				flushErr <- err
				return
			}
		}
	}()
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if _, _, _, err := r.SaveBlob(ctx, DataBlob, randBytes(uint64(w*each+i), 3000)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	if err := <-flushErr; err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r2 := openRepo(t, be, testOptions(t))
	for i := range workers * each {
		b := randBytes(uint64(i), 3000)
		if got, err := r2.LoadBlob(ctx, DataBlob, r2.BlobID(b), nil); err != nil || !bytes.Equal(got, b) {
			t.Fatalf("blob %d: %v", i, err)
		}
	}
}

// TestPackScan checks when Open lists the packs: on the first Open with a
// cache, after a run of this cache that did not finish, and with
// ScanPacks; not after a clean run.
func TestPackScan(t *testing.T) {
	ctx := t.Context()
	be := memory.New()
	cb := &countingBackend{Backend: be}
	o := testOptions(t)
	o.PackSize = 16 << 10
	r := initRepo(t, cb, o)
	saveFlush(t, r, DataBlob, randBytes(1, 20000), randBytes(2, 20000))
	scans := func(o Options) (int64, *Repository) {
		t.Helper()
		cb.packLists.Store(0)
		r := openRepo(t, cb, o)
		return cb.packLists.Load(), r
	}
	if n, _ := scans(o); n == 0 {
		t.Errorf("first Open with this cache listed no pack directory")
	}
	if n, _ := scans(o); n != 0 {
		t.Errorf("Open after a clean run listed %d pack directories, want 0", n)
	}
	forced := o
	forced.ScanPacks = true
	if n, _ := scans(forced); n == 0 {
		t.Errorf("Open with ScanPacks listed no pack directory")
	}

	// A run of this cache killed before its Flush: the next Open scans
	// and reuses its packs.
	_, killed := scans(o)
	big := randBytes(3, 40000)
	if _, _, _, err := killed.SaveBlob(ctx, DataBlob, big); err != nil {
		t.Fatal(err)
	}
	killed.uploads.wait()
	n, rerun := scans(o)
	if n == 0 {
		t.Fatalf("Open after an unfinished run listed no pack directory")
	}
	if _, added, _, err := rerun.SaveBlob(ctx, DataBlob, big); err != nil || added {
		t.Errorf("rerun SaveBlob of the killed run's blob: added %v, %v; want it reused", added, err)
	}
	if err := rerun.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := scans(o); n != 0 {
		t.Errorf("Open after the rerun's Flush listed %d pack directories, want 0", n)
	}
}
