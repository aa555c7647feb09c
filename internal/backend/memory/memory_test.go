package memory

import (
	"context"
	"testing"

	"ferry/internal/backend"
	"ferry/internal/backend/backendtest"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, backendtest.Config{
		NewTB: func(testing.TB) backend.Backend { return New() },
	})
}

func BenchmarkConformance(b *testing.B) {
	backendtest.Bench(b, backendtest.Config{
		NewTB: func(testing.TB) backend.Backend { return New() },
	})
}

// TestTypeNew checks the registry constructor: a rooted backend passes the
// suite, and named stores are shared while unnamed ones are private.
func TestTypeNew(t *testing.T) {
	backendtest.Run(t, backendtest.Config{
		New: func(t *testing.T) backend.Backend {
			ctx, cancel := context.WithCancel(t.Context())
			b, err := Type.New(ctx, "mem", backend.ConfigMap{"store": t.Name()}, "some/root", backend.Env{})
			if err != nil {
				t.Fatal(err)
			}
			cancel() // the backend must not keep New's ctx
			if err := b.Mkdir(t.Context(), ""); err != nil {
				t.Fatal(err)
			}
			return b
		},
		Quick: true,
	})
}
