package mega

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"ferry/megaserver/megaservertest"
)

// writeAged creates the file dir/name, last modified age ago.
func writeAged(t *testing.T, dir, name string, age time.Duration) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	mt := time.Now().Add(-age)
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
	return p
}

// names lists dir.
func names(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

// flockWorks reports whether lockTemp excludes another open file of
// path (false where flock is unavailable).
func flockWorks(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ok, err := tryLockTemp(f)
	if err != nil {
		t.Fatal(err)
	}
	return !ok
}

// TestRemoveStaleTemps removes a killed writer's old temporary file and
// keeps a live writer's (locked, however old), a fresh one and every
// other file.
func TestRemoveStaleTemps(t *testing.T) {
	dir := t.TempDir()
	stale := writeAged(t, dir, ".session-111.tmp", 2*time.Minute)
	live := writeAged(t, dir, ".session-222.tmp", 2*time.Minute)
	writeAged(t, dir, ".session-333.tmp", 0)
	writeAged(t, dir, "session.bin", time.Hour)
	writeAged(t, dir, "session.lock", time.Hour)
	writeAged(t, dir, "other.tmp", time.Hour)

	w, err := os.OpenFile(live, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := lockTemp(w); err != nil {
		t.Fatal(err)
	}
	locking := flockWorks(t, live)

	n, err := removeStaleTemps(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".session-222.tmp", ".session-333.tmp", "other.tmp", "session.bin", "session.lock"}
	wantN := 1
	if !locking {
		t.Log("no flock here: a writer's temporary file is protected by its age alone")
		want, wantN = slices.Delete(want, 0, 1), 2
	}
	if got := names(t, dir); n != wantN || !slices.Equal(got, want) {
		t.Errorf("removed %d, left %q; want %d, %q", n, got, wantN, want)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale file: %v", err)
	}

	// Once its writer is gone (the lock goes with it), the file is stale.
	w.Close()
	if n, err := removeStaleTemps(dir, time.Now()); err != nil || n != wantN%2 {
		t.Errorf("after the writer closed: removed %d, %v", n, err)
	}
	if n, err := removeStaleTemps(filepath.Join(dir, "missing"), time.Now()); n != 0 || err != nil {
		t.Errorf("missing dir: %d, %v", n, err)
	}
}

// TestWriteCacheKeepsItsTemp runs a cleaner, with a clock far ahead,
// while writeCache is writing: the writer's locked temporary file stays,
// and the cache is intact.
func TestWriteCacheKeepsItsTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, cacheFileName)
	key := testKey(t)
	binding := cacheBinding("a@b.c", "http://x")
	probe := writeAged(t, dir, ".session-probe.tmp", 0)
	f, err := os.Open(probe)
	if err != nil {
		t.Fatal(err)
	}
	if err := lockTemp(f); err != nil {
		t.Fatal(err)
	}
	if !flockWorks(t, probe) {
		f.Close()
		t.Skip("no flock here: writers are protected by the age of their file alone")
	}
	f.Close()
	os.Remove(probe)

	var during []string
	err = writeCache(path, key, binding, []byte("sess"), func(w io.Writer) error {
		if _, err := w.Write([]byte("tree")); err != nil {
			return err
		}
		n, err := removeStaleTemps(dir, time.Now().Add(time.Hour))
		if err != nil || n != 0 {
			t.Errorf("cleaner during the write: removed %d, %v", n, err)
		}
		during = names(t, dir)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(during) != 1 || !matchTemp(during[0]) {
		t.Errorf("during the write the directory held %q, want one temporary file", during)
	}
	st, cf, err := readCache(path, cacheSecrets{password: "pw"}, binding, key)
	if err != nil {
		t.Fatal(err)
	}
	defer cf.Close()
	if string(st.Session) != "sess" {
		t.Errorf("session %q", st.Session)
	}
	if got := names(t, dir); !slices.Equal(got, []string{cacheFileName}) {
		t.Errorf("after the write: %q", got)
	}
}

func matchTemp(name string) bool {
	ok, _ := filepath.Match(tempPattern, name)
	return ok
}

// TestStaleTempRemovedOnOpen leaves a killed client's temporary file in
// the cache directory: the next open of the remote removes it.
func TestStaleTempRemovedOnOpen(t *testing.T) {
	ts := megaservertest.Start(t)
	o := newOpener(t, ts)
	b := o.mustOpen("")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	stale := writeAged(t, o.cacheDir, ".session-4242.tmp", 10*time.Minute)
	fresh := writeAged(t, o.cacheDir, ".session-4343.tmp", 0)
	o.mustOpen("")
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temporary file after an open: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temporary file: %v", err)
	}
	if got := logins(ts); got != 1 {
		t.Errorf("%d logins, want 1", got)
	}
}
