package mediafire

import (
	"log/slog"
	"testing"

	"ferry/internal/backend"
	"ferry/internal/backend/backendtest"
	"ferry/mediafireserver/mediafireservertest"
)

// BenchmarkBackend runs the suite's throughput benchmarks (Put, Open,
// OpenRange) through the backend to the stand-in on loopback:
//
//	go test -run '^$' -bench BenchmarkBackend ./internal/backend/mediafire/
func BenchmarkBackend(b *testing.B) {
	ts := mediafireservertest.Start(b, mediafireservertest.WithLogger(slog.New(slog.DiscardHandler)))
	backendtest.Bench(b, backendtest.Config{
		NewTB: func(tb testing.TB) backend.Backend { return newTestBackend(tb, ts) },
	})
}
