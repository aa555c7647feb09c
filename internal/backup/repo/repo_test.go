package repo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
)

func TestInitOpen(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend.Backend) {
		ctx := t.Context()
		o := testOptions(t)
		if _, err := Open(ctx, be, testPassword, o); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Open of an empty backend: %v, want ErrNotFound", err)
		}
		r := initRepo(t, be, o)
		if _, err := Init(ctx, be, testPassword, o); !errors.Is(err, ErrExists) {
			t.Fatalf("second Init: %v, want ErrExists", err)
		}
		r2 := openRepo(t, be, o)
		if r2.ID() != r.ID() || r2.ID().IsZero() {
			t.Errorf("opened ID %s, created %s", r2.ID(), r.ID())
		}
		if !bytes.Equal(r2.ChunkerKey(), r.ChunkerKey()) || len(r.ChunkerKey()) != 32 {
			t.Errorf("chunker key differs after Open or is not 32 bytes")
		}
		if got, want := r2.ChunkerParams(), r.ChunkerParams(); got != want || got.Avg != 1<<20 {
			t.Errorf("chunker params %+v after Open, %+v at Init", got, want)
		}
		if r2.BlobID([]byte("x")) != r.BlobID([]byte("x")) {
			t.Errorf("BlobID differs after Open")
		}
		if r.BlobID([]byte("x")) == hashID([]byte("x")) {
			t.Errorf("BlobID is the plain SHA-256: it must be keyed")
		}

		wrong := []byte("not the password")
		_, err := Open(ctx, be, wrong, o)
		if !errors.Is(err, ErrWrongPassword) {
			t.Fatalf("Open with a wrong password: %v, want ErrWrongPassword", err)
		}
		if strings.Contains(err.Error(), string(wrong)) || strings.Contains(err.Error(), string(testPassword)) {
			t.Errorf("error %q names a password", err)
		}
	})
}

func TestInitRejectsBadOptions(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"compression", Options{Compression: "lz4", KDF: testKDF}, `compression "lz4"`},
		{"pack size", Options{PackSize: 10, KDF: testKDF}, "pack size 10"},
		{"kdf", Options{KDF: KDF{Time: 1, MemoryKiB: 1, Threads: 1}}, "argon2id memory 1 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Init(ctx, memory.New(), testPassword, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Init: %v, want an error naming %q", err, tc.want)
			}
		})
	}
	if _, err := Init(ctx, memory.New(), nil, Options{KDF: testKDF}); err == nil {
		t.Errorf("Init with an empty password succeeded")
	}
}

// TestSaveLoad saves data and tree blobs of many sizes, checks dedup and
// the pack layout, and loads everything back through a second Open.
func TestSaveLoad(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend.Backend) {
		ctx := t.Context()
		o := testOptions(t)
		r := initRepo(t, be, o)
		sizes := []int{0, 1, 100, 4095, 64 << 10, 200 << 10, 1 << 20}
		type saved struct {
			t    BlobType
			id   ID
			data []byte
		}
		var all []saved
		for i, n := range sizes {
			for _, bt := range []BlobType{DataBlob, TreeBlob} {
				data := randBytes(uint64(i)*2+uint64(bt), n)
				id, added, stored, err := r.SaveBlob(ctx, bt, data)
				if err != nil {
					t.Fatalf("SaveBlob %s %d bytes: %v", bt, n, err)
				}
				if !added || stored != n+overhead {
					t.Errorf("SaveBlob %s %d bytes: added %v stored %d, want true, %d", bt, n, added, stored, n+overhead)
				}
				if id != r.BlobID(data) {
					t.Errorf("SaveBlob returned %s, BlobID says %s", id, r.BlobID(data))
				}
				if !r.HasBlob(bt, id) {
					t.Errorf("HasBlob false right after SaveBlob")
				}
				all = append(all, saved{bt, id, data})
			}
		}
		// The same plaintext again is known; as the other type it is new.
		id, added, stored, err := r.SaveBlob(ctx, DataBlob, all[4].data)
		if err != nil || added || stored != 0 || id != all[4].id {
			t.Errorf("SaveBlob again: %s %v %d %v, want known", id, added, stored, err)
		}
		if r.HasBlob(TreeBlob, all[len(all)-2].id) {
			t.Errorf("HasBlob(tree) true for a data blob")
		}
		if err := r.Flush(ctx); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		if idx := objects(t, be, "index"); len(idx) != 1 {
			t.Errorf("index objects after Flush: %v, want 1", idx)
		}
		if err := r.Flush(ctx); err != nil {
			t.Fatalf("second Flush: %v", err)
		}
		if idx := objects(t, be, "index"); len(idx) != 1 {
			t.Errorf("index objects after an empty Flush: %v, want still 1", idx)
		}
		data, tree := objects(t, be, "data"), objects(t, be, "tree")
		if len(data) < 2 || len(tree) < 2 {
			t.Errorf("data packs %v, tree packs %v: want at least 2 each with 256 KiB packs", data, tree)
		}
		for _, p := range append(data, tree...) {
			e, err := be.Stat(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if e.Size > o.PackSize+(1<<20)+4096 {
				t.Errorf("pack %s of %d bytes: more than a blob past the %d target", p, e.Size, o.PackSize)
			}
		}
		tmp, _ := filepath.Glob(filepath.Join(o.CacheDir, "ferry-pack-*"))
		if len(tmp) != 0 {
			t.Errorf("temporary packs left after Flush: %v", tmp)
		}

		o2 := testOptions(t) // a fresh cache: everything comes from the backend
		r2 := openRepo(t, be, o2)
		var buf []byte
		for _, s := range all {
			if !r2.HasBlob(s.t, s.id) {
				t.Errorf("HasBlob(%s, %s) false after Open", s.t, s.id.Short())
			}
			got, err := r2.LoadBlob(ctx, s.t, s.id, buf)
			if err != nil {
				t.Fatalf("LoadBlob %s %d bytes: %v", s.t, len(s.data), err)
			}
			if !bytes.Equal(got, s.data) {
				t.Fatalf("LoadBlob %s %d bytes: content differs", s.t, len(s.data))
			}
			buf = got
		}
		if _, err := r2.LoadBlob(ctx, DataBlob, r2.BlobID([]byte("never saved")), nil); !errors.Is(err, ErrBlobNotFound) {
			t.Errorf("LoadBlob of an unknown blob: %v, want ErrBlobNotFound", err)
		}
		_, added, _, err = r2.SaveBlob(ctx, DataBlob, all[0].data)
		if err != nil || added {
			t.Errorf("SaveBlob after Open of a known blob: added %v, %v", added, err)
		}
	})
}

// TestLookupDecode reads a blob the way the restorer does, and checks
// that a flipped byte in its stored range is ErrCorrupt.
func TestLookupDecode(t *testing.T) {
	ctx := t.Context()
	be := memory.New()
	r := initRepo(t, be, testOptions(t))
	data := bytes.Repeat([]byte("restore me "), 1000)
	id, _, _, err := r.SaveBlob(ctx, DataBlob, data)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Lookup(DataBlob, id); ok {
		t.Errorf("Lookup found a blob before its pack was uploaded")
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	pb, ok := r.Lookup(DataBlob, id)
	if !ok || pb.ID != id || pb.Type != DataBlob || pb.RawLength != int64(len(data)) {
		t.Fatalf("Lookup: %+v %v", pb, ok)
	}
	rc, err := r.OpenPackRange(ctx, pb.Pack, DataBlob, pb.Offset, pb.Length)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.DecodeBlob(pb, stored, nil)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("DecodeBlob: %v (equal %v)", err, bytes.Equal(got, data))
	}
	for _, i := range []int{0, nonceSize, len(stored) / 2, len(stored) - 1} {
		bad := bytes.Clone(stored)
		bad[i] ^= 1
		if _, err := r.DecodeBlob(pb, bad, nil); !errors.Is(err, ErrCorrupt) {
			t.Errorf("DecodeBlob with byte %d flipped: %v, want ErrCorrupt", i, err)
		}
	}
	if _, err := r.DecodeBlob(pb, stored[1:], nil); !errors.Is(err, ErrCorrupt) {
		t.Errorf("DecodeBlob of a short range: %v, want ErrCorrupt", err)
	}
	wrongID := pb
	wrongID.ID[0] ^= 1
	if _, err := r.DecodeBlob(wrongID, stored, nil); !errors.Is(err, ErrCorrupt) {
		t.Errorf("DecodeBlob under another ID: %v, want ErrCorrupt", err)
	}
}

// TestConcurrentSave saves overlapping blobs from many goroutines: each
// distinct blob is stored exactly once.
func TestConcurrentSave(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend.Backend) {
		ctx := t.Context()
		o := testOptions(t)
		o.PackSize = 64 << 10
		r := initRepo(t, be, o)
		const workers, distinct = 8, 200
		var added sync.Map
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Go(func() {
				for i := range distinct {
					j := (i + w*31) % distinct
					bt := DataBlob
					if j%5 == 0 {
						bt = TreeBlob
					}
					id, ok, _, err := r.SaveBlob(ctx, bt, randBytes(uint64(j), 1000+j*37))
					if err != nil {
						errs <- err
						return
					}
					if ok {
						if _, dup := added.LoadOrStore(id, true); dup {
							errs <- fmt.Errorf("blob %s added twice", id.Short())
							return
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		st := r.Stats()
		if st.BlobsNew != distinct || st.BlobsKnown != (workers-1)*distinct {
			t.Errorf("stats: %d new, %d known; want %d, %d", st.BlobsNew, st.BlobsKnown, distinct, (workers-1)*distinct)
		}
		r2 := openRepo(t, be, testOptions(t))
		n := 0
		for _, p := range r2.Packs() {
			n += len(p.Blobs)
		}
		if n != distinct {
			t.Errorf("%d blobs in the packs, want %d", n, distinct)
		}
		for j := range distinct {
			bt := DataBlob
			if j%5 == 0 {
				bt = TreeBlob
			}
			data := randBytes(uint64(j), 1000+j*37)
			got, err := r2.LoadBlob(ctx, bt, r2.BlobID(data), nil)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("LoadBlob %d: %v", j, err)
			}
		}
	})
}

func TestSnapshots(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend.Backend) {
		ctx := t.Context()
		r := initRepo(t, be, testOptions(t))
		base := time.Date(2026, 12, 2, 4, 0, 0, 123456789, time.UTC)
		var ids []ID
		for _, d := range []time.Duration{2 * time.Hour, 0, time.Hour} {
			s := &Snapshot{Time: base.Add(d), Tree: r.BlobID([]byte(d.String())), Paths: []string{"/src"},
				Hostname: "h", Tags: []string{"t"}, Summary: Summary{FilesNew: int64(d / time.Hour)}}
			id, err := r.SaveSnapshot(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			if s.ID != id {
				t.Errorf("SaveSnapshot did not set the ID")
			}
			ids = append(ids, id)
		}
		if _, err := r.SaveSnapshot(ctx, &Snapshot{}); err == nil {
			t.Errorf("SaveSnapshot without a time succeeded")
		}
		r2 := openRepo(t, be, testOptions(t))
		snaps, err := r2.Snapshots(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(snaps) != 3 {
			t.Fatalf("%d snapshots, want 3", len(snaps))
		}
		for i, want := range []int{1, 2, 0} {
			if snaps[i].ID != ids[want] {
				t.Errorf("snapshot %d is %s, want %s (sorted by time)", i, snaps[i].ID.Short(), ids[want].Short())
			}
		}
		if !snaps[0].Time.Equal(base) || snaps[2].Summary.FilesNew != 2 || snaps[1].Paths[0] != "/src" {
			t.Errorf("snapshot fields lost: %+v", snaps)
		}
		if err := r2.RemoveSnapshot(ctx, ids[1]); err != nil {
			t.Fatal(err)
		}
		snaps, err = r.Snapshots(ctx)
		if err != nil || len(snaps) != 2 || snaps[0].ID != ids[2] {
			t.Errorf("after RemoveSnapshot: %v %v", snaps, err)
		}
		if err := r2.RemoveSnapshot(ctx, ids[1]); err == nil {
			t.Errorf("RemoveSnapshot of a removed snapshot succeeded")
		}
	})
}

// TestStats checks the counters of a save, a flush and a load.
func TestStats(t *testing.T) {
	ctx := t.Context()
	be := memory.New()
	r := initRepo(t, be, testOptions(t))
	before := r.Stats()
	if before.ObjectsWritten != 2 { // keys/ and config
		t.Errorf("%d objects written by Init, want 2", before.ObjectsWritten)
	}
	data := randBytes(1, 10000)
	r.SaveBlob(ctx, DataBlob, data)
	r.SaveBlob(ctx, DataBlob, data)
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	if st.BlobsNew != 1 || st.BlobsKnown != 1 || st.BytesNew != 10000 || st.BytesStored != 10000+overhead {
		t.Errorf("stats %+v", st)
	}
	if got := st.ObjectsWritten - before.ObjectsWritten; got != 2 { // one pack, one index
		t.Errorf("%d objects written by a save and Flush, want 2", got)
	}
	if st.BytesUploaded <= before.BytesUploaded+10000 {
		t.Errorf("bytes uploaded %d, want more than the blob", st.BytesUploaded)
	}
}

// TestTempPacksInCacheDir checks that packs are assembled in the cache
// dir and that the files go away.
func TestTempPacksInCacheDir(t *testing.T) {
	ctx := t.Context()
	o := testOptions(t)
	r := initRepo(t, memory.New(), o)
	if _, _, _, err := r.SaveBlob(ctx, DataBlob, randBytes(2, 1000)); err != nil {
		t.Fatal(err)
	}
	tmp, _ := filepath.Glob(filepath.Join(o.CacheDir, "ferry-pack-*"))
	if len(tmp) != 1 {
		t.Errorf("temporary packs while one is open: %v, want 1", tmp)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	tmp, _ = filepath.Glob(filepath.Join(o.CacheDir, "ferry-pack-*"))
	if len(tmp) != 0 {
		t.Errorf("temporary packs left: %v", tmp)
	}
}
