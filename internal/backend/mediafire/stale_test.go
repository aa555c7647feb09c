package mediafire

import (
	"bytes"
	"testing"
	"time"

	"ferry/mediafireserver/mediafireservertest"
)

// A folder another client removed and made again (a new key) is found
// again by name: the cached key's 112 drops the cache and the operation
// is tried once more.
func TestStaleFolderKey(t *testing.T) {
	ts := mediafireservertest.Start(t)
	a := newBackendAt(t, ts, "stale")
	other := newBackendAt(t, ts, "stale")
	ctx := t.Context()
	put := func(b *Backend, p, data string) {
		t.Helper()
		if _, err := b.Put(ctx, p, bytes.NewReader([]byte(data)), int64(len(data)), time.Unix(1700000000, 0)); err != nil {
			t.Fatalf("Put(%s): %v", p, err)
		}
	}
	put(a, "d/x", "one")
	if err := other.Purge(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	put(other, "d/x", "two")
	if e, err := a.Stat(ctx, "d/x"); err != nil || e.Size != 3 {
		t.Fatalf("Stat after the folder was made again: %+v, %v", e, err)
	}
	put(a, "d/y", "three")
	es, err := a.List(ctx, "d")
	if err != nil || len(es) != 2 {
		t.Fatalf("List: %v, %v", es, err)
	}
	if err := other.Purge(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if err := other.Mkdir(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	put(a, "d/z", "four") // Put straight into the stale key
	if e, err := other.Stat(ctx, "d/z"); err != nil || e.Size != 4 {
		t.Errorf("the other client does not see d/z: %+v, %v", e, err)
	}
}
