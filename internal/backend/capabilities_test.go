package backend_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
)

// plain hides every optional capability of the backend it wraps.
type plain struct{ backend.Backend }

func TestCapabilityHelpers(t *testing.T) {
	ctx := t.Context()
	b := plain{memory.New()}
	for _, p := range []string{"d/a", "d/sub/b", "d/sub/deeper/c", "keep"} {
		if _, err := b.Put(ctx, p, strings.NewReader("x"), 1, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	unsupported := map[string]error{}
	_, unsupported["PublicLink"] = backend.PublicLink(ctx, b, "keep", false)
	_, unsupported["About"] = backend.About(ctx, b)
	unsupported["CleanUp"] = backend.CleanUp(ctx, b)
	unsupported["SetModTime"] = backend.SetModTime(ctx, b, "keep", time.Now())
	_, unsupported["Move"] = backend.Move(ctx, b, "keep", "moved")
	for name, err := range unsupported {
		var pe *backend.PathError
		if !errors.Is(err, errors.ErrUnsupported) || !errors.As(err, &pe) {
			t.Errorf("%s without the capability = %v, want a PathError wrapping errors.ErrUnsupported", name, err)
		}
	}

	// Purge without a Purger walks and removes.
	if err := backend.Purge(ctx, b, "d"); err != nil {
		t.Fatalf("Purge by walking: %v", err)
	}
	if _, err := b.Stat(ctx, "d"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after Purge, Stat(d) = %v, want fs.ErrNotExist", err)
	}
	if _, err := b.Stat(ctx, "keep"); err != nil {
		t.Errorf("Purge(d) removed keep: %v", err)
	}

	// With the capability, the helper calls it.
	m := memory.New()
	if _, err := m.Put(ctx, "f", strings.NewReader("x"), 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := backend.Move(ctx, m, "f", "g"); err != nil {
		t.Errorf("Move with a Mover: %v", err)
	}
	if _, err := backend.About(ctx, m); err != nil {
		t.Errorf("About with an Abouter: %v", err)
	}
}
