package mediafire

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"ferry/internal/backend"
	mfclient "ferry/mediafire"
	"ferry/mediafire/mfapi"
)

func spoolData(n int) []byte {
	rng := rand.New(rand.NewPCG(7, 8))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// onlyReader hides every method of r but Read.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// A source larger than memSpool goes through the temporary file, whose
// writes overlap the hashing, unless it can be read again at offsets
// (then it is used as it is): the bytes, the hash and the unit hashes are
// the source's, whatever sizes its reads have.
func TestSpoolFile(t *testing.T) {
	for _, n := range []int{memSpool + 1, 3*spoolBlock + 12345, spoolBlocks * spoolBlock * 3, 17<<20 + 5} {
		data := spoolData(n)
		for name, r := range map[string]io.Reader{
			"whole":      onlyReader{bytes.NewReader(data)},
			"half":       iotest.HalfReader(bytes.NewReader(data)),
			"eof":        iotest.DataErrReader(bytes.NewReader(data)),
			"rereadable": bytes.NewReader(data),
		} {
			sp, err := spool(t.Context(), r, int64(n))
			if err != nil {
				t.Fatalf("%d bytes, %s: %v", n, name, err)
			}
			got := make([]byte, n+1)
			k, err := sp.src.ReadAt(got, 0)
			if k != n || err != io.EOF || !bytes.Equal(got[:k], data) {
				t.Errorf("%d bytes, %s: the copy reads %d bytes (%v), equal %v", n, name, k, err, bytes.Equal(got[:k], data))
			}
			if _, isFile := sp.src.(*os.File); isFile == (name == "rereadable") {
				t.Errorf("%d bytes, %s: copied to a file: %v", n, name, isFile)
			}
			want := sha256.Sum256(data)
			if sp.sum != hex.EncodeToString(want[:]) {
				t.Errorf("%d bytes, %s: hash %s", n, name, sp.sum)
			}
			checkUnits(t, data, sp.units)
			sp.cleanup()
		}
	}
}

// checkUnits checks that units are data's unit hashes, or nil for a file
// sent in one simple upload.
func checkUnits(t *testing.T, data []byte, units *mfclient.UnitHashes) {
	t.Helper()
	size := int64(len(data))
	if size <= mfapi.SimpleLimit {
		if units != nil {
			t.Errorf("%d bytes: unit hashes for a simple upload", size)
		}
		return
	}
	unit := mfapi.UnitSize(size)
	if units == nil || units.UnitSize != unit || len(units.Sums) != mfapi.Units(size, unit) {
		t.Fatalf("%d bytes: unit hashes %+v, want %d of %d bytes", size, units, mfapi.Units(size, unit), unit)
	}
	for i, got := range units.Sums {
		u := sha256.Sum256(data[int64(i)*unit : min(size, int64(i+1)*unit)])
		if got != hex.EncodeToString(u[:]) {
			t.Errorf("%d bytes: unit %d hash %s, want %x", size, i, got, u)
		}
	}
}

// A re-readable source that does not stand at its start is copied.
func TestSpoolNotAtStart(t *testing.T) {
	data := spoolData(memSpool + 10)
	r := bytes.NewReader(append([]byte("xx"), data...))
	r.Seek(2, io.SeekStart)
	sp, err := spool(t.Context(), r, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.cleanup()
	got := make([]byte, len(data))
	if _, err := sp.src.ReadAt(got, 0); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the source read from its start, not from where it stood (%v)", err)
	}
}

// failingReader returns data, then err instead of io.EOF.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		err = f.err
	}
	return n, err
}

// Short, long and failing sources are errors; an unexpected EOF of the
// source is not taken for its end.
func TestSpoolFileErrors(t *testing.T) {
	n := 2*spoolBlock + 99
	data := spoolData(n)
	boom := errors.New("boom")
	cases := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"short", bytes.NewReader(data[:n-1]), backend.ErrSizeMismatch},
		{"long", bytes.NewReader(append(append([]byte{}, data...), 1)), backend.ErrSizeMismatch},
		{"unexpected EOF at the end", &failingReader{bytes.NewReader(data), io.ErrUnexpectedEOF}, io.ErrUnexpectedEOF},
		{"unexpected EOF in a block", &failingReader{bytes.NewReader(data[:spoolBlock+5]), io.ErrUnexpectedEOF}, io.ErrUnexpectedEOF},
		{"error at the end", &failingReader{bytes.NewReader(data), boom}, boom},
	}
	for _, tc := range cases {
		_, err := spool(t.Context(), tc.r, int64(n))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// A write that fails stops the copy with the file's error.
func TestSpoolFileWriteError(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "x"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close() // every write now fails
	s := &blockSpooler{f: f, h: sha256.New()}
	r := &countingReader{r: bytes.NewReader(spoolData(64 * spoolBlock))}
	_, err = s.ReadFrom(r)
	if !errors.Is(err, os.ErrClosed) {
		t.Fatalf("ReadFrom: %v, want the write's error", err)
	}
	if r.n > int64(spoolBlocks+2)*spoolBlock {
		t.Errorf("read %d bytes after the first write failed", r.n)
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// BenchmarkSpool is the preparation of a 256 MiB Put: the hash, the unit
// hashes and, for a source read once ("copy"), the temporary file; a
// source that can be read again ("rereadable") is only hashed:
//
//	go test -run '^$' -bench Spool ./internal/backend/mediafire/
func BenchmarkSpool(b *testing.B) {
	data := spoolData(256 << 20)
	p := filepath.Join(b.TempDir(), "src")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for _, c := range []struct {
		name string
		src  func() io.Reader
	}{
		{"copy", func() io.Reader { return onlyReader{bytes.NewReader(data)} }},
		{"rereadable", func() io.Reader { return bytes.NewReader(data) }},
		{"file", func() io.Reader { f.Seek(0, io.SeekStart); return f }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				sp, err := spool(b.Context(), c.src(), int64(len(data)))
				if err != nil {
					b.Fatal(err)
				}
				sp.cleanup()
			}
		})
	}
}
