package local

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/backendtest"
)

func newTest(tb testing.TB) backend.Backend {
	b, err := New(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, backendtest.Config{NewTB: newTest})
}

func BenchmarkConformance(b *testing.B) {
	backendtest.Bench(b, backendtest.Config{NewTB: newTest})
}

// TestTypeNew runs the suite through the registry constructor, with a
// cancelled constructor ctx (which the backend must not keep).
func TestTypeNew(t *testing.T) {
	backendtest.Run(t, backendtest.Config{
		New: func(t *testing.T) backend.Backend {
			base := t.TempDir()
			ctx, cancel := context.WithCancel(t.Context())
			b, err := Type.New(ctx, "disk", backend.ConfigMap{"root": base}, "sub/dir", backend.Env{})
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := b.String(), "disk:"+filepath.Join(base, "sub", "dir"); got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
			if err := b.Mkdir(t.Context(), ""); err != nil {
				t.Fatal(err)
			}
			return b
		},
		Quick: true,
	})
}

// TestTempFilesHidden checks that a leftover temporary file stays out of
// listings.
func TestTempFilesHidden(t *testing.T) {
	dir := t.TempDir()
	b, _ := New(dir)
	if err := os.WriteFile(filepath.Join(dir, TempPrefix+"123"), []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(t.Context(), "f", nil, 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	es, err := b.List(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Path)
	}
	if !slices.Equal(names, []string{"f"}) {
		t.Errorf("List = %q, want [f]", names)
	}
}
