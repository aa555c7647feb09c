package backend_test

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
)

// TestReaderAt reads a file at offsets through both of ReaderAt's paths:
// the first Open's own io.ReaderAt (memory) and a ranged Open per read (a
// backend whose reader has no ReadAt), concurrently, with io.EOF exactly
// at the end.
func TestReaderAt(t *testing.T) {
	ctx := t.Context()
	data := bytes.Repeat([]byte("0123456789"), 10000)
	m := memory.New()
	e, err := m.Put(ctx, "f", bytes.NewReader(data), int64(len(data)), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]backend.Backend{"shared": m, "ranged": noReaderAt{m}} {
		t.Run(name, func(t *testing.T) {
			r := backend.NewReaderAt(b, e)
			defer r.Close()
			ra := r.WithContext(ctx)
			var wg sync.WaitGroup
			for _, off := range []int64{0, 1, 9999, 50000, int64(len(data)) - 10} {
				wg.Go(func() {
					p := make([]byte, 100)
					n, err := ra.ReadAt(p, off)
					want := data[off:min(off+100, int64(len(data)))]
					if n != len(want) || !bytes.Equal(p[:n], want) {
						t.Errorf("ReadAt(100 at %d) = %d bytes, want %d", off, n, len(want))
					}
					if len(want) < 100 && err != io.EOF {
						t.Errorf("ReadAt past the end at %d: err %v, want io.EOF", off, err)
					}
					if len(want) == 100 && err != nil {
						t.Errorf("ReadAt(100 at %d): %v", off, err)
					}
				})
			}
			wg.Wait()
			if n, err := ra.ReadAt(make([]byte, 10), int64(len(data))); n != 0 || err != io.EOF {
				t.Errorf("ReadAt at the end = %d, %v; want 0, io.EOF", n, err)
			}
		})
	}
}

// noReaderAt hides the io.ReaderAt of the readers it opens.
type noReaderAt struct{ backend.Backend }

func (n noReaderAt) Open(ctx context.Context, p string, off, length int64) (io.ReadCloser, error) {
	rc, err := n.Backend.Open(ctx, p, off, length)
	if err != nil {
		return nil, err
	}
	return struct{ io.ReadCloser }{rc}, nil
}
