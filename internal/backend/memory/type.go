package memory

import (
	"context"
	"sync"

	"ferry/internal/backend"
)

// Type registers the memory backend. Its one option, "store", names a
// store shared by every memory backend of the process built with the same
// name; without it each backend gets a fresh private store.
var Type = backend.Type{
	Name:        "memory",
	Description: "In-memory storage, for tests",
	Options: []backend.Option{{
		Name: "store",
		Help: "Name of an in-process store shared by memory remotes with the same name.\n" +
			"Empty gives each remote a fresh private store that is gone when it is dropped.",
	}},
	New: newFromConfig,
}

// shared holds the named stores of Type.New for the life of the process.
var shared struct {
	mu     sync.Mutex        // guards stores
	stores map[string]*store // by "store" option
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
	if remote == "" {
		remote = "memory"
	}
	st := newStore(false, 0)
	if name := cfg["store"]; name != "" {
		shared.mu.Lock()
		if shared.stores == nil {
			shared.stores = map[string]*store{}
		}
		if s, ok := shared.stores[name]; ok {
			st = s
		} else {
			shared.stores[name] = st
		}
		shared.mu.Unlock()
	}
	return &Backend{view{name: remote + ":" + root, root: root, st: st}}, nil
}
