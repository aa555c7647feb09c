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
)

func spoolData(n int) []byte {
	rng := rand.New(rand.NewPCG(7, 8))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// A source larger than memSpool goes through the temporary file, whose
// writes overlap the hashing: the copy and the hash are the source's,
// whatever sizes its reads have.
func TestSpoolFile(t *testing.T) {
	for _, n := range []int{memSpool + 1, 3*spoolBlock + 12345, spoolBlocks * spoolBlock * 3} {
		data := spoolData(n)
		for name, r := range map[string]io.Reader{
			"whole": bytes.NewReader(data),
			"half":  iotest.HalfReader(bytes.NewReader(data)),
			"eof":   iotest.DataErrReader(bytes.NewReader(data)),
		} {
			ra, sum, cleanup, err := spool(t.Context(), r, int64(n))
			if err != nil {
				t.Fatalf("%d bytes, %s: %v", n, name, err)
			}
			got := make([]byte, n+1)
			k, err := ra.ReadAt(got, 0)
			if k != n || err != io.EOF || !bytes.Equal(got[:k], data) {
				t.Errorf("%d bytes, %s: the copy reads %d bytes (%v), equal %v", n, name, k, err, bytes.Equal(got[:k], data))
			}
			want := sha256.Sum256(data)
			if sum != hex.EncodeToString(want[:]) {
				t.Errorf("%d bytes, %s: hash %s", n, name, sum)
			}
			cleanup()
		}
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
		_, _, _, err := spool(t.Context(), tc.r, int64(n))
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
	s := &fileSpooler{f: f, h: sha256.New()}
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

// BenchmarkSpool is the copy aside of a 64 MiB Put (hash and temporary
// file):
//
//	go test -run '^$' -bench Spool ./internal/backend/mediafire/
func BenchmarkSpool(b *testing.B) {
	data := spoolData(64 << 20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		_, _, cleanup, err := spool(b.Context(), bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		cleanup()
	}
}
