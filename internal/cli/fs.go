package cli

import (
	"context"
	"errors"

	"ferry/internal/backend"
)

// fsRef is a resolved "remote:path" argument: the remote's backend and the
// path within it (contract form). Close releases the backend (MEGA writes
// its session and tree cache).
type fsRef struct {
	Backend backend.Backend
	Path    string // path within Backend, "" = its root
	Remote  string // remote name, "" for a local path
	close   func() error
}

// Close releases the backend.
func (r *fsRef) Close() error {
	if r == nil || r.close == nil {
		return nil
	}
	return r.close()
}

// openRemote resolves a "remote:path" argument (or a plain local path)
// through the config file and the backend registry.
//
// TODO(config): implemented by internal/remote + internal/config.
func (g *globals) openRemote(ctx context.Context, arg string) (*fsRef, error) {
	return nil, errors.New("remotes are not configured yet")
}
