package sub

import (
	"bytes"
	"context"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/backend/backendtest"
	"ferry/internal/backend/memory"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, backendtest.Config{
		New: func(t *testing.T) backend.Backend {
			parent := memory.New()
			if err := parent.Mkdir(t.Context(), "some/repo dir"); err != nil {
				t.Fatal(err)
			}
			return New(parent, "some/repo dir")
		},
	})
}

// TestRooted: objects land under the directory of the parent and entries
// come back relative to the root.
func TestRooted(t *testing.T) {
	ctx := context.Background()
	parent := memory.New()
	s := New(parent, "a/b")
	if _, err := s.Put(ctx, "x/y", bytes.NewReader([]byte("hi")), 2, time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := parent.Stat(ctx, "a/b/x/y"); err != nil {
		t.Fatalf("parent has no a/b/x/y: %v", err)
	}
	es, err := s.List(ctx, "x")
	if err != nil || len(es) != 1 || es[0].Path != "x/y" {
		t.Fatalf("List(x) = %v, %v; want one entry x/y", es, err)
	}
	e, err := s.Stat(ctx, "x")
	if err != nil || e.Path != "x" || !e.IsDir {
		t.Fatalf("Stat(x) = %+v, %v", e, err)
	}
}
