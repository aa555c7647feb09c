package remote

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"ferry/internal/backend"
	"ferry/internal/backend/memory"
	"ferry/internal/config"
)

// fakeLinks is a link type claiming "https://links.test/..." arguments:
// it records the options it was opened with.
func fakeLinks(opened *atomic.Int32, got *backend.ConfigMap) []LinkType {
	typ := backend.Type{Name: "fake", Options: []backend.Option{{Name: "url"}, {Name: "other", Default: "d"}}}
	return []LinkType{{
		Type:  typ,
		Match: func(arg string) bool { return strings.HasPrefix(arg, "https://links.test/") },
		Check: func(arg string) error {
			if !strings.Contains(arg, "#") {
				return errors.New("no key")
			}
			return nil
		},
		Open: func(_ context.Context, arg string, cfg backend.ConfigMap, _ backend.Env) (backend.Backend, string, error) {
			opened.Add(1)
			*got = cfg
			_, p, _ := strings.Cut(arg, ":x/")
			return memory.New(), p, nil
		},
		Redact: func(arg string) string { k, _, _ := strings.Cut(arg, "#"); return k + "#…" },
	}}
}

// TestLinks: a link argument opens through its link type with the
// type's flags and environment only (no config file is read, no
// defaults), one backend per link text; a malformed one is ErrSyntax;
// OpenWritable refuses links with ErrReadOnly before opening anything.
func TestLinks(t *testing.T) {
	var opened atomic.Int32
	var cfg backend.ConfigMap
	r := &Resolver{
		Config:    func(context.Context) (*config.File, error) { t.Fatal("a link read the config file"); return nil, nil },
		Overrides: map[string]string{"fake-url": "http://127.0.0.1:1"},
		LookupEnv: func(string) (string, bool) { return "", false },
	}
	r.Links = fakeLinks(&opened, &cfg)
	ctx := t.Context()
	ref, err := r.Open(ctx, "https://links.test/folder/h#key:x/sub/dir")
	if err != nil {
		t.Fatal(err)
	}
	if ref.Path != "sub/dir" || cfg["url"] != "http://127.0.0.1:1" || cfg["other"] != "" {
		t.Errorf("path %q, cfg %v; want sub/dir and only the flag's url", ref.Path, cfg)
	}
	again, err := r.Open(ctx, "https://links.test/folder/h#key:x/sub/dir")
	if err != nil || again.Backend != ref.Backend || again.Path != "sub/dir" || opened.Load() != 1 {
		t.Errorf("second Open: %v, shared %v, path %q, opened %d times", err, again.Backend == ref.Backend, again.Path, opened.Load())
	}
	ref.Close()
	again.Close()
	if _, err := r.Open(ctx, "https://links.test/folder/h"); !errors.Is(err, ErrSyntax) {
		t.Errorf("malformed link: %v, want ErrSyntax", err)
	}
	_, err = r.OpenWritable(ctx, "https://links.test/folder/h#secret")
	if !errors.Is(err, ErrReadOnly) || strings.Contains(err.Error(), "secret") || opened.Load() != 1 {
		t.Errorf("OpenWritable of a link: %v (opened %d)", err, opened.Load())
	}
	if !r.IsLink("https://links.test/x") || r.IsLink("m:x") {
		t.Errorf("IsLink")
	}
}
