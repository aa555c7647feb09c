package repo

import (
	"errors"
	"strings"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
)

// checkRepo makes a repository with data and tree packs, an index, a
// snapshot and a prune mark, and returns it opened.
func checkRepo(t *testing.T, be backend.Backend) *Repository {
	t.Helper()
	ctx := t.Context()
	o := testOptions(t)
	o.PackSize = 32 << 10
	r := initRepo(t, be, o)
	var tree ID
	for i := range 6 {
		var err error
		if tree, _, _, err = r.SaveBlob(ctx, TreeBlob, append(textBytes(5000), byte(i))); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := r.SaveBlob(ctx, DataBlob, randBytes(uint64(i), 20000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SaveSnapshot(ctx, &Snapshot{Time: time.Now(), Tree: tree}); err != nil {
		t.Fatal(err)
	}
	if err := r.MarkDeleted(ctx, []ID{r.Packs()[0].ID}); err != nil {
		t.Fatal(err)
	}
	return openRepo(t, be, testOptions(t))
}

func TestCheckClean(t *testing.T) {
	eachBackend(t, func(t *testing.T, be backend.Backend) {
		r := checkRepo(t, be)
		res, err := r.Check(t.Context(), CheckOptions{ReadData: 1})
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK() {
			t.Fatalf("problems in a clean repository: %v", res.Problems)
		}
		packs := len(r.Packs())
		if res.Packs != packs || res.PacksRead != packs || res.BlobsRead != 12 || res.Objects != 5 || res.Unindexed != 0 {
			t.Errorf("result %+v, want %d packs all read, 12 blobs, 5 objects", res, packs)
		}
		res, err = r.Check(t.Context(), CheckOptions{ReadData: 0.01})
		if err != nil || res.PacksRead != 1 {
			t.Errorf("ReadData 0.01: %d packs read, %v; want 1", res.PacksRead, err)
		}
		if _, err := r.Check(t.Context(), CheckOptions{ReadData: 1.5}); err == nil {
			t.Errorf("ReadData 1.5 accepted")
		}
	})
}

// TestCheckFlippedByte flips one byte in an object of each kind: Check
// reports it, naming the object.
func TestCheckFlippedByte(t *testing.T) {
	for _, tc := range []struct {
		name     string
		dir      string // the object is the first under dir
		off      int64  // negative: from the end
		readData float64
	}{
		{"data pack blob", "data", 10, 1},
		{"data pack header", "data", -10, 0},
		{"data pack trailer", "data", -1, 0},
		{"tree pack blob", "tree", 40, 1},
		{"index", "index", 30, 0},
		{"snapshot", "snapshots", 30, 0},
		{"mark", "deleted", 30, 0},
		{"key", "keys", 60, 0},
		{"config", "config", 20, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := memory.New()
			r := checkRepo(t, be)
			obj := tc.dir
			if tc.dir != "config" {
				objs := objects(t, be, tc.dir)
				if len(objs) == 0 {
					t.Fatalf("no object under %s", tc.dir)
				}
				obj = objs[0]
			}
			flipByte(t, be, obj, tc.off)
			res, err := r.Check(t.Context(), CheckOptions{ReadData: tc.readData})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Problems) == 0 {
				t.Fatalf("flipped byte in %s not reported", obj)
			}
			for _, p := range res.Problems {
				t.Logf("problem: %v", p)
			}
			if res.Problems[0].Object != obj || !strings.HasPrefix(res.Problems[0].Error(), obj+": ") {
				t.Errorf("first problem %q names %q, want %q", res.Problems[0], res.Problems[0].Object, obj)
			}
		})
	}
}

// TestCheckMissingPack removes a pack an index lists.
func TestCheckMissingPack(t *testing.T) {
	be := memory.New()
	r := checkRepo(t, be)
	p := objects(t, be, "data")[0]
	if err := be.Remove(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	res, err := r.Check(t.Context(), CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 1 || res.Problems[0].Object != p || !strings.Contains(res.Problems[0].Error(), "missing") {
		t.Errorf("problems %v, want %s missing", res.Problems, p)
	}
}

// TestCheckProblemNamesOnce checks that a problem's message names its
// object once and still matches ErrCorrupt.
func TestCheckProblemNamesOnce(t *testing.T) {
	be := memory.New()
	r := checkRepo(t, be)
	obj := objects(t, be, "index")[0]
	flipByte(t, be, obj, 30)
	res, err := r.Check(t.Context(), CheckOptions{})
	if err != nil || len(res.Problems) == 0 {
		t.Fatalf("Check: %v %v", res.Problems, err)
	}
	p := res.Problems[0]
	if strings.Count(p.Error(), obj) != 1 || strings.Contains(p.Err.Error(), obj) {
		t.Errorf("problem %q (err %q) names %s other than once", p.Error(), p.Err, obj)
	}
	if !errors.Is(p, ErrCorrupt) {
		t.Errorf("problem %q does not match ErrCorrupt", p)
	}
}
