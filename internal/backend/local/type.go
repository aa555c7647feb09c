package local

import (
	"context"
	"path/filepath"

	"ferry/internal/backend"
)

// Type registers the local backend. A remote's path is taken from the
// "root" option (default "/"), so "local:home/me/x" is /home/me/x.
var Type = backend.Type{
	Name:        "local",
	Description: "Local disk",
	Options: []backend.Option{{
		Name:    "root",
		Help:    "Directory that remote paths are relative to.",
		Default: "/",
	}},
	New: newFromConfig,
}

// newFromConfig implements Type.New.
func newFromConfig(ctx context.Context, remote string, cfg backend.ConfigMap, root string, _ backend.Env) (backend.Backend, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	root, err := backend.Clean(root)
	if err != nil {
		return nil, err
	}
	base := cfg["root"]
	if base == "" {
		base = "/"
	}
	b, err := New(filepath.Join(base, filepath.FromSlash(root)))
	if err != nil {
		return nil, err
	}
	if remote != "" {
		b.name = remote + ":" + b.root
	}
	return b, nil
}
