package backendtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"ferry/internal/backend"
)

// testConcurrentPuts stores files from many goroutines at once, half of
// them into one directory that does not exist yet (so parent creation
// races), then checks every file and that the shared directory exists once.
func testConcurrentPuts(t *testing.T, b backend.Backend, cfg *Config) {
	workers, perWorker := 16, 4
	if cfg.Quick {
		workers, perWorker = 8, 2
	}
	ctx := t.Context()
	type file struct {
		p    string
		data []byte
	}
	files := make([][]file, workers)
	for w := range workers {
		for i := range perWorker {
			p := fmt.Sprintf("shared/sub/w%02d-%d", w, i)
			if i%2 == 1 {
				p = fmt.Sprintf("own%02d/f%d", w, i)
			}
			files[w] = append(files[w], file{p, content(uint64(1000+w*perWorker+i), int64(1+(w*7919+i*104729)%65536))})
		}
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for _, f := range files[w] {
				if _, err := b.Put(ctx, f.p, newReader(f.data), int64(len(f.data)), mtime1); err != nil {
					t.Errorf("Put(%q): %v", f.p, err)
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	var want []string
	for w := range workers {
		for _, f := range files[w] {
			if backend.Dir(f.p) == "shared/sub" {
				want = append(want, f.p)
			}
		}
	}
	slices.Sort(want)
	if got := paths(list(t, b, "shared/sub")); !slices.Equal(got, want) {
		t.Errorf("List(shared/sub) =\n %q\nwant\n %q", got, want)
	}
	if got := paths(list(t, b, "shared")); !slices.Equal(got, []string{"shared/sub/"}) {
		t.Errorf("List(shared) = %q, want one [shared/sub/]", got)
	}
	if got := len(list(t, b, "")); got != 1+workers {
		t.Errorf("List(\"\") has %d entries, want %d", got, 1+workers)
	}
	for w := range workers {
		wg.Go(func() {
			for _, f := range files[w] {
				got, err := read(ctx, b, f.p, 0, -1)
				if err != nil {
					t.Errorf("Open(%q): %v", f.p, err)
				} else if !slices.Equal(got, f.data) {
					t.Errorf("content of %q: %s", f.p, diffBytes(got, f.data))
				}
			}
		})
	}
	wg.Wait()
}

// cancelReader yields data up to cancelAt and then, at its next Read,
// lets cancelMidway act: either the reader cancels the Put's context
// itself and keeps yielding data (so only a backend that watches ctx
// notices), or it stalls like a network stream until the context is
// cancelled from outside and then fails with the context's error.
type cancelReader struct {
	data     []byte
	pos      int
	cancelAt int
	ctx      context.Context // the Put's context
	cancel   context.CancelFunc
	stall    bool
	reached  chan struct{} // closed when the reader reaches cancelAt
}

func (r *cancelReader) Read(p []byte) (int, error) {
	if r.pos >= r.cancelAt && r.reached != nil {
		close(r.reached)
		r.reached = nil
		if r.stall {
			select {
			case <-r.ctx.Done():
				return 0, r.ctx.Err()
			case <-time.After(10 * time.Second):
				return 0, errors.New("cancelReader: the context was not cancelled")
			}
		}
		r.cancel()
	}
	if r.pos >= len(r.data) {
		return 0, io.EOF
	}
	end := len(r.data)
	if r.reached != nil {
		end = r.cancelAt
	}
	n := copy(p, r.data[r.pos:end])
	r.pos += n
	return n, nil
}

// testCancelPutLeavesNothing cancels Puts midway, both with a reader that
// keeps going and with one that stalls, and checks that the Put fails with
// context.Canceled, leaves nothing at a new path, and leaves an existing
// file unchanged.
func testCancelPutLeavesNothing(t *testing.T, b backend.Backend, _ *Config) {
	const size = 1<<20 + 12345
	old := content(60, 5000)
	for _, stall := range []bool{false, true} {
		for _, p := range []string{fmt.Sprintf("new-%v", stall), fmt.Sprintf("old-%v/file", stall)} {
			existing := p != fmt.Sprintf("new-%v", stall)
			if existing {
				put(t, b, p, old, mtime1)
			}
			ctx, cancel := context.WithCancel(t.Context())
			r := &cancelReader{data: content(61, size), cancelAt: size / 2, ctx: ctx, cancel: cancel, stall: stall, reached: make(chan struct{})}
			var wg sync.WaitGroup
			if stall {
				reached := r.reached
				wg.Go(func() {
					select {
					case <-reached:
						cancel()
					case <-ctx.Done():
					}
				})
			}
			e, err := b.Put(ctx, p, r, size, mtime2)
			cancel()
			wg.Wait()
			what := fmt.Sprintf("Put(%q) cancelled midway (stalling reader: %v)", p, stall)
			if err == nil {
				t.Errorf("%s succeeded: %+v", what, e)
			} else if !errors.Is(err, context.Canceled) {
				t.Errorf("%s: error %v, want one matching context.Canceled", what, err)
			}
			if existing {
				wantEntry(t, b, what+": Stat", stat(t, b, p), p, false, int64(len(old)), mtime1)
				wantFile(t, b, p, old)
				if got := paths(list(t, b, backend.Dir(p))); !slices.Equal(got, []string{p}) {
					t.Errorf("%s: List(%q) = %q, want [%q]", what, backend.Dir(p), got, p)
				}
			} else {
				wantNotExist(t, b, p)
			}
		}
	}
	want := []string{"old-false/", "old-true/"}
	if got := paths(list(t, b, "")); !slices.Equal(got, want) {
		t.Errorf("List(\"\") = %q, want %q", got, want)
	}
}

// testCancelledContextNoMutation calls every mutating method with a
// cancelled context and checks that each fails and changes nothing.
func testCancelledContextNoMutation(t *testing.T, b backend.Backend, _ *Config) {
	put(t, b, "dir/file", []byte("x"), mtime1)
	mkdir(t, b, "empty")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	mutations := []struct {
		name string
		do   func() error
	}{
		{"Put(new/f)", func() error {
			_, err := b.Put(ctx, "new/f", newReader([]byte("y")), 1, mtime1)
			return err
		}},
		{"Put(dir/file)", func() error {
			_, err := b.Put(ctx, "dir/file", newReader([]byte("yy")), 2, mtime2)
			return err
		}},
		{"Mkdir(newdir)", func() error { return b.Mkdir(ctx, "newdir") }},
		{"Rmdir(empty)", func() error { return b.Rmdir(ctx, "empty") }},
		{"Remove(dir/file)", func() error { return b.Remove(ctx, "dir/file") }},
	}
	if m, ok := b.(backend.Mover); ok {
		mutations = append(mutations, struct {
			name string
			do   func() error
		}{"Move(dir/file, moved)", func() error { _, err := m.Move(ctx, "dir/file", "moved"); return err }})
	}
	if pu, ok := b.(backend.Purger); ok {
		mutations = append(mutations, struct {
			name string
			do   func() error
		}{"Purge(dir)", func() error { return pu.Purge(ctx, "dir") }})
	}
	if ms, ok := b.(backend.ModTimeSetter); ok {
		mutations = append(mutations, struct {
			name string
			do   func() error
		}{"SetModTime(dir/file)", func() error { return ms.SetModTime(ctx, "dir/file", mtime3) }})
	}
	for _, m := range mutations {
		if err := m.do(); err == nil {
			t.Errorf("%s with a cancelled context succeeded", m.name)
		} else if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: error %v, want one matching context.Canceled", m.name, err)
		}
	}

	if got := paths(list(t, b, "")); !slices.Equal(got, []string{"dir/", "empty/"}) {
		t.Errorf("List(\"\") = %q, want [dir/ empty/]", got)
	}
	wantEntry(t, b, "Stat(dir/file)", stat(t, b, "dir/file"), "dir/file", false, 1, mtime1)
	wantFile(t, b, "dir/file", []byte("x"))
}

// testShortReaderPutFails puts from readers that end early or fail, and
// checks that Put fails and leaves nothing new and nothing changed.
func testShortReaderPutFails(t *testing.T, b backend.Backend, _ *Config) {
	old := content(70, 3000)
	put(t, b, "dir/existing", old, mtime1)
	const size = 300_000
	data := content(71, size)
	readers := map[string]func() io.Reader{
		"short by 10 bytes": func() io.Reader { return newReader(data[:size-10]) },
		"empty":             func() io.Reader { return newReader(nil) },
		"failing midway": func() io.Reader {
			return io.MultiReader(newReader(data[:size/2]), iotest.ErrReader(errors.New("disk on fire")))
		},
	}
	for name, r := range readers {
		for _, p := range []string{"dir/new", "dir/existing"} {
			if e, err := b.Put(t.Context(), p, r(), size, mtime2); err == nil {
				t.Errorf("Put(%q) from a reader %s succeeded: %+v", p, name, e)
			}
		}
		wantNotExist(t, b, "dir/new")
		wantEntry(t, b, "Stat(dir/existing)", stat(t, b, "dir/existing"), "dir/existing", false, int64(len(old)), mtime1)
		wantFile(t, b, "dir/existing", old)
		if got := paths(list(t, b, "dir")); !slices.Equal(got, []string{"dir/existing"}) {
			t.Errorf("List(dir) after failed Puts from a reader %s = %q, want [dir/existing]", name, got)
		}
	}
}

// opErr is the error an operation on a path returned.
type opErr struct {
	op, path string
	err      error
}

// testErrorsArePathErrors checks that errors are *backend.PathError values
// naming the backend, the operation and the path.
func testErrorsArePathErrors(t *testing.T, b backend.Backend, _ *Config) {
	ctx := t.Context()
	put(t, b, "file", []byte("x"), mtime1)
	mkdir(t, b, "full/sub")
	cases := []opErr{
		{"list", "missing", func() error { _, err := b.List(ctx, "missing"); return err }()},
		{"stat", "missing", func() error { _, err := b.Stat(ctx, "missing"); return err }()},
		{"open", "missing", func() error {
			rc, err := b.Open(ctx, "missing", 0, -1)
			if err == nil {
				rc.Close()
			}
			return err
		}()},
		{"remove", "missing", b.Remove(ctx, "missing")},
		{"rmdir", "missing", b.Rmdir(ctx, "missing")},
		{"rmdir", "full", b.Rmdir(ctx, "full")},
		{"mkdir", "file", b.Mkdir(ctx, "file")},
		{"put", "new", func() error { _, err := b.Put(ctx, "new", newReader(nil), 10, mtime1); return err }()},
	}
	if m, ok := b.(backend.Mover); ok {
		_, err := m.Move(ctx, "missing", "elsewhere")
		cases = append(cases, opErr{"move", "missing", err})
	}
	if pu, ok := b.(backend.Purger); ok {
		cases = append(cases, opErr{"purge", "missing", pu.Purge(ctx, "missing")})
	}
	if ms, ok := b.(backend.ModTimeSetter); ok {
		cases = append(cases, opErr{"setmodtime", "missing", ms.SetModTime(ctx, "missing", mtime1)})
	}
	for _, c := range cases {
		what := fmt.Sprintf("%s(%q)", c.op, c.path)
		var pe *backend.PathError
		switch {
		case c.err == nil:
			t.Errorf("%s succeeded, want an error", what)
		case !errors.As(c.err, &pe):
			t.Errorf("%s: error %v (%T) is not a *backend.PathError", what, c.err, c.err)
		default:
			if pe.Op != c.op || pe.Path != c.path || pe.Backend != b.String() {
				t.Errorf("%s: PathError{Op: %q, Backend: %q, Path: %q}, want {%q, %q, %q}",
					what, pe.Op, pe.Backend, pe.Path, c.op, b.String(), c.path)
			}
		}
	}
	var pe *backend.PathError
	_, err := b.List(ctx, "missing")
	if errors.As(err, &pe) && !errors.Is(pe, fs.ErrNotExist) {
		t.Errorf("List(missing): PathError %v does not match fs.ErrNotExist", pe)
	}
}
