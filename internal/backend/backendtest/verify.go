package backendtest

import (
	"errors"
	"io"
	"io/fs"
	"slices"
	"testing"
	"testing/iotest"

	"ferry/internal/backend"
)

// errAtEnd is what a verifying source reports on its final Read.
var errAtEnd = errors.New("source refused its own content (bad MAC)")

// endErrReader yields data, then fails its next Read with err instead of
// returning io.EOF: the shape of a verifying reader whose check fails.
type endErrReader struct {
	r   io.Reader
	err error
}

func (e endErrReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

// testPutSourceEnd checks that Put reads its source to the end before it
// commits: a source that fails on the Read after its last byte (where
// MEGA's reader reports a bad MAC and local's a changed file), or that has
// a byte to spare, fails the Put and leaves nothing behind.
func testPutSourceEnd(t *testing.T, b backend.Backend, _ *Config) {
	old := content(80, 2000)
	put(t, b, "dir/existing", old, mtime1)
	const size = 200_000
	data := content(81, size)
	readers := map[string]func() io.Reader{
		"that fails after its last byte": func() io.Reader { return endErrReader{newReader(data), errAtEnd} },
		"that fails with its last byte": func() io.Reader {
			return io.MultiReader(newReader(data[:size-1]), iotest.DataErrReader(endErrReader{newReader(data[size-1:]), errAtEnd}))
		},
		"one byte longer": func() io.Reader { return newReader(append(slices.Clone(data), 'x')) },
	}
	for name, r := range readers {
		for _, p := range []string{"dir/new", "dir/existing"} {
			if e, err := b.Put(t.Context(), p, r(), size, mtime2); err == nil {
				t.Errorf("Put(%q) from a source %s succeeded: %+v", p, name, e)
			}
		}
		wantNotExist(t, b, "dir/new")
		wantFile(t, b, "dir/existing", old)
		if got := paths(list(t, b, "dir")); !slices.Equal(got, []string{"dir/existing"}) {
			t.Errorf("List(dir) after failed Puts from a source %s = %q, want [dir/existing]", name, got)
		}
	}
}

// exactReads are the ways consumers read a file whose size they know from
// its listing: none of them makes the Read after the last byte.
var exactReads = []struct {
	name string
	read func(r io.Reader, size int64) error
}{
	{"ReadFull", func(r io.Reader, size int64) error {
		_, err := io.ReadFull(r, make([]byte, size))
		return err
	}},
	{"CopyN", func(r io.Reader, size int64) error {
		_, err := io.CopyN(io.Discard, r, size)
		return err
	}},
	{"LimitReader", func(r io.Reader, size int64) error {
		n, err := io.Copy(io.Discard, io.LimitReader(r, size))
		if err == nil && n != size {
			err = io.ErrUnexpectedEOF
		}
		return err
	}},
	{"ReadAll", func(r io.Reader, _ int64) error {
		_, err := io.ReadAll(r)
		return err
	}},
}

// testCorruptReads corrupts a stored file behind the backend's back
// (Config.Corrupt) and reads it whole the ways consumers do, including
// exactly Size bytes with no final Read and through OpenEntry: every read
// must fail, and Close must not report success for content that failed.
// A Put into another path from the corrupt reader must fail too. Only for
// backends that verify whole reads.
func testCorruptReads(t *testing.T, b backend.Backend, cfg *Config) {
	if cfg.Corrupt == nil {
		t.Skip("Config.Corrupt not set: the backend does not verify content")
	}
	const size = 3<<20 + 4321 // several pieces; a size no other check uses
	data := content(90, size)
	e := put(t, b, "victim", data, mtime1)
	cfg.Corrupt(t, b, "victim")

	open := func(t *testing.T) io.ReadCloser {
		t.Helper()
		rc, err := backend.OpenEntry(t.Context(), b, e, 0, -1)
		if err != nil {
			t.Fatalf("OpenEntry(victim): %v", err)
		}
		return rc
	}
	for _, how := range exactReads {
		t.Run(how.name, func(t *testing.T) {
			rc := open(t)
			err := how.read(rc, size)
			cerr := rc.Close()
			if err == nil {
				t.Errorf("%s of %d corrupt bytes succeeded (Close: %v)", how.name, size, cerr)
			}
		})
	}
	t.Run("Open", func(t *testing.T) {
		rc, err := b.Open(t.Context(), "victim", 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if _, err := io.ReadFull(rc, make([]byte, size)); err == nil {
			t.Error("Open + ReadFull of the corrupt file succeeded")
		}
	})
	t.Run("PutFromCorrupt", func(t *testing.T) {
		rc := open(t)
		defer rc.Close()
		if _, err := b.Put(t.Context(), "copy", rc, size, mtime1); err == nil {
			t.Error("Put from the corrupt reader succeeded")
		}
		wantNotExist(t, b, "copy")
	})
}

// testOpenEntry opens each of two objects sharing a name by its entry:
// each read gives that object's own bytes and exactly its listed size.
func testOpenEntry(t *testing.T, b backend.Backend, cfg *Config) {
	if _, ok := b.(backend.DuplicateNamer); !ok || cfg.MakeDuplicate == nil {
		t.Skip("no backend.DuplicateNamer or Config.MakeDuplicate")
	}
	first := content(95, 1000)
	put(t, b, "dups/same.txt", first, mtime1)
	cfg.MakeDuplicate(t, b, "dups/same.txt")
	es := list(t, b, "dups")
	if len(es) != 2 {
		t.Fatalf("List(dups) has %d entries, want 2", len(es))
	}
	for _, e := range es {
		rc, err := backend.OpenEntry(t.Context(), b, e, 0, -1)
		if err != nil {
			t.Fatalf("OpenEntry(%s): %v", e.ID, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", e.ID, err)
		}
		if int64(len(got)) != e.Size {
			t.Errorf("OpenEntry(%s) gave %d bytes, listed size %d", e.ID, len(got), e.Size)
		}
		if e.Size == int64(len(first)) && !slices.Equal(got, first) {
			t.Errorf("OpenEntry(%s) of the original gave other bytes", e.ID)
		}
		// A range of one entry comes from that entry too.
		rc, err = backend.OpenEntry(t.Context(), b, e, 10, 20)
		if err != nil {
			t.Fatalf("OpenEntry(%s, 10, 20): %v", e.ID, err)
		}
		part, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !slices.Equal(part, got[10:30]) {
			t.Errorf("OpenEntry(%s, 10, 20) = %q, %v; want %q", e.ID, part, err, got[10:30])
		}
	}
	gone := es[0]
	if err := b.(backend.DuplicateNamer).RemoveEntry(t.Context(), gone); err != nil {
		t.Fatal(err)
	}
	if rc, err := backend.OpenEntry(t.Context(), b, gone, 0, -1); err == nil {
		rc.Close()
		t.Errorf("OpenEntry of a removed entry succeeded")
	} else if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenEntry of a removed entry = %v, want fs.ErrNotExist", err)
	}
}
