package mount_test

import (
	"log/slog"
	"testing"

	"ferry/internal/backend"
	"ferry/internal/backend/local"
	mfbackend "ferry/internal/backend/mediafire"
	"ferry/internal/vfs/vfstest"
	"ferry/mediafireserver/mediafireservertest"
)

// The behaviour suite through a real mount over the other backends: the
// VFS needs only the backend contract.

func TestSuiteMountLocal(t *testing.T) {
	vfstest.Run(t, vfstest.Config{New: func(t *testing.T) vfstest.Env {
		b, err := local.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return vfstest.Env{FS: vfstest.Dir(mountT(t, b).dir), Backend: b}
	}})
}

func TestSuiteMountMediaFire(t *testing.T) {
	ts := mediafireservertest.Start(t)
	n := 0
	vfstest.Run(t, vfstest.Config{New: func(t *testing.T) vfstest.Env {
		n++
		b, err := mfbackend.New(t.Context(), "mf", backend.ConfigMap{
			"user": mediafireservertest.User, "pass": mediafireservertest.Password, "url": ts.URL,
		}, "suite"+string(rune('a'+n)), backend.Env{CacheDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := b.(backend.Closer); ok {
			t.Cleanup(func() { c.Close() })
		}
		if err := b.Mkdir(t.Context(), ""); err != nil {
			t.Fatal(err)
		}
		return vfstest.Env{FS: vfstest.Dir(mountT(t, b).dir), Backend: b}
	}})
}
