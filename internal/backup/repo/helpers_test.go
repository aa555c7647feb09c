package repo

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/local"
	"ferry/internal/backend/mega"
	"ferry/internal/backend/memory"
	"ferry/megaserver/megaservertest"
)

var testPassword = []byte("correct horse battery staple")

// testKDF makes keys cheap to derive in tests.
var testKDF = KDF{Time: 1, MemoryKiB: 64, Threads: 1}

// backends are the backends every repository test runs on.
var backends = []struct {
	name string
	new  func(t *testing.T) backend.Backend
}{
	{"memory", func(t *testing.T) backend.Backend { return memory.New() }},
	{"local", func(t *testing.T) backend.Backend {
		b, err := local.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}},
	{"mega", newMegaBackend},
}

// newMegaBackend returns the MEGA backend on a fresh loopback server's
// seeded account, rooted in a folder below the root, closed at the end
// of the test.
func newMegaBackend(t *testing.T) backend.Backend { return newMegaBackendFaults(t, "") }

// newMegaBackendFaults is newMegaBackend with the server injecting faults
// (megaservertest.WithFaults).
func newMegaBackendFaults(t *testing.T, faults string) backend.Backend {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := megaservertest.Start(t, megaservertest.WithLogger(quiet), megaservertest.WithFaults(faults))
	b, err := mega.Type.New(t.Context(), "test", backend.ConfigMap{
		"user": megaservertest.UserV2, "pass": megaservertest.PasswordV2, "url": srv.URL,
	}, "backups/repo", backend.Env{CacheDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatalf("mega backend: %v", err)
	}
	t.Cleanup(func() {
		if c, ok := b.(backend.Closer); ok {
			if err := c.Close(); err != nil {
				t.Errorf("close mega backend: %v", err)
			}
		}
	})
	return b
}

// eachBackend runs f once per backend in backends.
func eachBackend(t *testing.T, f func(t *testing.T, be backend.Backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b.new(t)) })
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// testOptions are small packs, a fast KDF and a fresh cache dir.
func testOptions(t *testing.T) Options {
	return Options{CacheDir: t.TempDir(), PackSize: 256 << 10, KDF: testKDF, Logger: testLogger(t)}
}

func initRepo(t *testing.T, be backend.Backend, o Options) *Repository {
	t.Helper()
	r, err := Init(t.Context(), be, testPassword, o)
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	return r
}

func openRepo(t *testing.T, be backend.Backend, o Options) *Repository {
	t.Helper()
	r, err := Open(t.Context(), be, testPassword, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return r
}

// randBytes returns n bytes from a seeded generator (incompressible).
func randBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// countingBackend counts the objects read through it.
type countingBackend struct {
	backend.Backend
	opens, lists, puts atomic.Int64
	packLists          atomic.Int64 // lists of data/ and tree/ directories
}

func (c *countingBackend) Open(ctx context.Context, p string, off, length int64) (io.ReadCloser, error) {
	c.opens.Add(1)
	return c.Backend.Open(ctx, p, off, length)
}

func (c *countingBackend) List(ctx context.Context, dir string) ([]backend.Entry, error) {
	c.lists.Add(1)
	if strings.HasPrefix(dir, "data") || strings.HasPrefix(dir, "tree") {
		c.packLists.Add(1)
	}
	return c.Backend.List(ctx, dir)
}

func (c *countingBackend) Put(ctx context.Context, p string, r io.Reader, size int64, mt time.Time) (backend.Entry, error) {
	c.puts.Add(1)
	return c.Backend.Put(ctx, p, r, size, mt)
}

// objects lists the files under dir, recursively.
func objects(t *testing.T, be backend.Backend, dir string) []string {
	t.Helper()
	var out []string
	es, err := be.List(t.Context(), dir)
	if err != nil {
		return nil
	}
	for _, e := range es {
		if e.IsDir {
			out = append(out, objects(t, be, e.Path)...)
		} else {
			out = append(out, e.Path)
		}
	}
	return out
}
