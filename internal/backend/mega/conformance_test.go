package mega

import (
	"bytes"
	"fmt"
	"path"
	"sync/atomic"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/backendtest"
	"ferry/megaserver/megaservertest"
)

// TestConformance runs the backend suite against the loopback server,
// cleanly and with transient faults that the client's retries must hide.
// Every check gets its own root folder; all of them share one cache dir,
// so each run logs in once.
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name, faults string
	}{
		{"clean", ""},
		// Fast enough to run every size and range, so no Config.Quick.
		{"faults", "eagain=0.05,http500=0.02,drop=0.01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := megaservertest.Start(t, megaservertest.WithFaults(tc.faults),
				megaservertest.WithLogger(slog0(t)))
			cacheDir := t.TempDir()
			var n atomic.Int64
			backendtest.Run(t, backendtest.Config{
				New: func(t *testing.T) backend.Backend {
					root := fmt.Sprintf("conformance/%d", n.Add(1))
					b, err := newBackend(testRemote, testConfig(ts), root,
						backend.Env{CacheDir: cacheDir, Logger: slog0(t)}, fastRetries)
					if err != nil {
						t.Fatal(err)
					}
					if err := b.connect(t.Context(), nil); err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { b.Close() })
					if err := b.Mkdir(t.Context(), ""); err != nil {
						t.Fatal(err)
					}
					return b
				},
				MakeDuplicate: makeDuplicate,
				Corrupt: func(t *testing.T, b backend.Backend, p string) {
					e, err := b.Stat(t.Context(), p)
					if err != nil {
						t.Fatalf("Corrupt: %v", err)
					}
					ts.FlipByte(t, e.Size, 1<<20)
				},
			})
			if got := logins(ts); got != 1 {
				t.Errorf("%d logins for the whole suite, want 1", got)
			}
		})
	}
}

// makeDuplicate uploads a second file named like p, through the client
// directly, with content one byte longer than the existing file.
func makeDuplicate(t *testing.T, be backend.Backend, p string) {
	t.Helper()
	b := be.(*Backend)
	old, err := b.Stat(t.Context(), p)
	if err != nil {
		t.Fatalf("MakeDuplicate: %v", err)
	}
	dirs, err := b.lookup(backend.Dir(p))
	if err != nil {
		t.Fatalf("MakeDuplicate: %v", err)
	}
	parent := newest(dirs, isDir)
	data := bytes.Repeat([]byte("d"), int(old.Size)+1)
	if _, err := b.c.Upload(t.Context(), parent, path.Base(p), bytes.NewReader(data), int64(len(data)), time.Now()); err != nil {
		t.Fatalf("MakeDuplicate: %v", err)
	}
}
