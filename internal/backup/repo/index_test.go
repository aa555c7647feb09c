package repo

import (
	"encoding/binary"
	"runtime"
	"testing"
)

// TestIndexMemory bounds what the in-memory index costs per blob: it
// holds one entry per blob of the repository, a million for a terabyte.
func TestIndexMemory(t *testing.T) {
	const packs, perPack = 200, 1000
	var entries []packEntry
	for p := range packs {
		e := packEntry{Type: DataBlob, Size: perPack * 1 << 20}
		binary.LittleEndian.PutUint32(e.ID[:], uint32(p))
		for b := range perPack {
			var id ID
			binary.LittleEndian.PutUint32(id[:], uint32(p*perPack+b))
			id[31] = 1
			e.Blobs = append(e.Blobs, blobEntry{ID: id, Offset: int64(b) << 20, Length: 1 << 20, RawLength: 1<<20 - overhead})
		}
		entries = append(entries, e)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	x := newIndex()
	for _, e := range entries {
		x.addPack(e)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perBlob := float64(after.HeapAlloc-before.HeapAlloc) / (packs * perPack)
	t.Logf("%.0f bytes per blob", perBlob)
	if perBlob > 100 {
		t.Errorf("the index takes %.0f bytes per blob, want at most 100", perBlob)
	}
	runtime.KeepAlive(x)
	runtime.KeepAlive(entries)
	pb, live, ok := x.lookup(blobKey{DataBlob, entries[7].Blobs[9].ID}, nil)
	if !ok || !live || pb.Pack != entries[7].ID || pb.Offset != 9<<20 || pb.RawLength != 1<<20-overhead {
		t.Errorf("lookup: %+v %v %v", pb, live, ok)
	}
}
