package mediafire

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"testing"
	"time"

	"ferry/mediafireserver/mediafireservertest"
)

// twoFaced reads as one content and, at offsets, as another: a source
// that changed between Put's reading pass and the upload.
type twoFaced struct {
	*bytes.Reader             // Read and Seek
	later         io.ReaderAt // ReadAt
}

func (s twoFaced) ReadAt(p []byte, off int64) (int, error) { return s.later.ReadAt(p, off) }

// A re-readable source is sent from its ReaderAt without a copy; if its
// bytes there are not those its reading pass hashed, the server refuses
// them (unit hashes, the file hash) and the Put fails, leaving nothing,
// for simple and resumable uploads alike.
func TestPutRereadableChanged(t *testing.T) {
	ts := mediafireservertest.Start(t)
	b := newTestBackend(t, ts)
	for _, size := range []int{2 << 20, 5<<20 + 7} {
		first := spoolData(size)
		later := bytes.Clone(first)
		later[size-10] ^= 1
		src := twoFaced{Reader: bytes.NewReader(first), later: bytes.NewReader(later)}
		name := "changed-" + time.Now().Format("150405.000000")
		if _, err := b.Put(t.Context(), name, src, int64(size), time.Time{}); err == nil {
			t.Errorf("%d bytes: the put of a source that changed succeeded", size)
		}
		if _, err := b.Stat(t.Context(), name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%d bytes: after the failed put, Stat: %v", size, err)
		}
		// The same kind of source, unchanged, goes up as it is.
		e, err := b.Put(t.Context(), name, bytes.NewReader(first), int64(size), time.Time{})
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		rc, err := b.Open(t.Context(), e.Path, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, first) {
			t.Errorf("%d bytes: read back %d bytes (%v), equal %v", size, len(got), err, bytes.Equal(got, first))
		}
	}
}
