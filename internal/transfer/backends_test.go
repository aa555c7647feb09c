package transfer

import (
	"log/slog"
	"testing"

	"ferry/internal/backend"
	"ferry/internal/backend/local"
	"ferry/internal/backend/mega"
	"ferry/internal/backend/memory"
	"ferry/megaserver/megaservertest"
)

// factories lists the backends engine tests run over. The first is used
// by tests that need just one kind.
func factories() []factory {
	return []factory{
		{"memory", func(t *testing.T) backend.Backend { return memory.New() }},
		{"local", func(t *testing.T) backend.Backend {
			b, err := local.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
		{"dup", func(t *testing.T) backend.Backend { return memory.NewDuplicates(memory.Options{Name: "dup"}) }},
		{"megalike", func(t *testing.T) backend.Backend { return newMegaLike("megalike") }},
		{"mega", newMegaBackend},
	}
}

// inProcess reports whether f's backends run no goroutines of their own
// (so leak checks apply).
func inProcess(f factory) bool { return f.name != "mega" }

// pairs returns the source/destination combinations engine tests run on:
// each kind to itself and the mixes that matter.
func pairs() []struct{ src, dst factory } {
	byName := map[string]factory{}
	for _, f := range factories() {
		byName[f.name] = f
	}
	var out []struct{ src, dst factory }
	for _, p := range [][2]string{
		{"memory", "memory"}, {"memory", "local"}, {"local", "memory"},
		{"dup", "megalike"}, {"megalike", "memory"},
		{"local", "mega"}, {"mega", "local"}, {"mega", "mega"},
	} {
		out = append(out, struct{ src, dst factory }{byName[p[0]], byName[p[1]]})
	}
	return out
}

// newMegaBackend returns the MEGA backend on a fresh loopback server's
// seeded account, closed at the end of the test.
func newMegaBackend(t *testing.T) backend.Backend {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := megaservertest.Start(t, megaservertest.WithLogger(quiet))
	b, err := mega.Type.New(t.Context(), "test", backend.ConfigMap{
		"user": megaservertest.UserV2, "pass": megaservertest.PasswordV2, "url": srv.URL,
	}, "", backend.Env{CacheDir: t.TempDir(), Logger: quiet})
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
