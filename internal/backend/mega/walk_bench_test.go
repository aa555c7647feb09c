package mega

import (
	"testing"

	"ferry/internal/backend"
)

// BenchmarkWalk measures listing the whole shared tree (100,000 nodes by
// default) through the backend on a warm cache: what `ferry lsf -R`
// costs once the tree is loaded. Every name passes through the name
// codec, so this is the benchmark that shows its cost.
func BenchmarkWalk(b *testing.B) {
	fx := sharedServer(b)
	be, err := New(b.Context(), "bench", benchConfig(fx), "", benchEnv(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.(backend.Closer).Close() })
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := backend.Walk(b.Context(), be, "", 0, func(backend.Entry) error { n++; return nil })
		if err != nil {
			b.Fatal(err)
		}
		if n < fx.nodes {
			b.Fatalf("walked %d entries, want at least %d", n, fx.nodes)
		}
	}
}
