package mediafire

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/retry"
	mfclient "ferry/mediafire"
	"ferry/mediafireserver/mediafireservertest"
)

var rootSeq atomic.Int64

// newTestBackend opens a backend on ts as the seeded user, rooted in a
// fresh folder, with fast retries.
func newTestBackend(t testing.TB, ts *mediafireservertest.TestServer) *Backend {
	t.Helper()
	root := "conformance/" + strings.ReplaceAll(t.Name(), "/", "_") + "-" + strconv.FormatInt(rootSeq.Add(1), 10)
	return newBackendAt(t, ts, root)
}

// newBackendAt opens a backend rooted at root; tweak adjusts the client.
func newBackendAt(t testing.TB, ts *mediafireservertest.TestServer, root string, tweak ...func(*mfclient.Options)) *Backend {
	t.Helper()
	cfg := backend.ConfigMap{optUser: mediafireservertest.User, optPass: mediafireservertest.Password, optURL: ts.URL}
	env := backend.Env{Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))}
	b, err := newBackend("mf", cfg, root, env, func(o *mfclient.Options) {
		o.Retry = retry.Policy{Base: time.Millisecond, Cap: 20 * time.Millisecond, MaxAttempts: 8}
		o.PollInterval = 5 * time.Millisecond
		o.HTTPClient = ts.Client()
		for _, f := range tweak {
			f(o)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.c.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	return b
}

// makeDuplicate stores another file under p's name: an upload under a
// temporary name, renamed onto p (the service allows that).
func makeDuplicate(t *testing.T, bb backend.Backend, p string) {
	t.Helper()
	b := bb.(*Backend)
	tmp := p + ".dup-tmp"
	data := bytes.Repeat([]byte("dup"), 77)
	e, err := b.Put(t.Context(), tmp, bytes.NewReader(data), int64(len(data)), time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := encodeName(filepath.Base(p))
	if err := b.c.UpdateFile(t.Context(), e.ID, mfclient.FileUpdate{Name: enc}); err != nil {
		t.Fatal(err)
	}
}

// corrupter returns a Config.Corrupt that flips a byte of the blob
// holding p's content in the server's data directory.
func corrupter(ts *mediafireservertest.TestServer) func(t *testing.T, b backend.Backend, p string) {
	return func(t *testing.T, bb backend.Backend, p string) {
		t.Helper()
		b := bb.(*Backend)
		o, err := b.resolve(t.Context(), p)
		if err != nil || len(o.files) == 0 {
			t.Fatalf("resolve %q: %v", p, err)
		}
		hash := o.files[0].Hash
		var found string
		filepath.WalkDir(ts.Dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() == hash {
				found = path
			}
			return nil
		})
		if found == "" {
			t.Fatalf("no blob file named %s in %s", hash, ts.Dir)
		}
		f, err := os.OpenFile(found, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var one [1]byte
		if _, err := f.ReadAt(one[:], 10); err != nil {
			t.Fatal(err)
		}
		one[0] ^= 0x5a
		if _, err := f.WriteAt(one[:], 10); err != nil {
			t.Fatal(err)
		}
	}
}
