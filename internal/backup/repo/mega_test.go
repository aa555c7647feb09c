package repo

import (
	"bytes"
	"testing"
	"time"
)

// TestMegaFaults runs a backup's round trip on the MEGA backend while the
// loopback server fails requests at random: the client's retries hide the
// faults, and the repository comes out whole.
func TestMegaFaults(t *testing.T) {
	ctx := t.Context()
	be := newMegaBackendFaults(t, "eagain=0.05,http500=0.02,drop=0.01")
	o := testOptions(t)
	o.PackSize = 64 << 10
	r := initRepo(t, be, o)
	var blobs [][]byte
	for i := range 30 {
		b := randBytes(uint64(i), 20000)
		if i%3 == 0 {
			b = append(textBytes(20000), byte(i))
		}
		blobs = append(blobs, b)
		if _, _, _, err := r.SaveBlob(ctx, DataBlob, b); err != nil {
			t.Fatal(err)
		}
	}
	tree, _, _, err := r.SaveBlob(ctx, TreeBlob, []byte("root"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SaveSnapshot(ctx, &Snapshot{Time: time.Now(), Tree: tree}); err != nil {
		t.Fatal(err)
	}
	r2 := openRepo(t, be, testOptions(t))
	for i, b := range blobs {
		got, err := r2.LoadBlob(ctx, DataBlob, r2.BlobID(b), nil)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("blob %d: %v", i, err)
		}
	}
	res, err := r2.Check(ctx, CheckOptions{ReadData: 1})
	if err != nil || !res.OK() {
		t.Fatalf("Check: %v %v", res.Problems, err)
	}
}
