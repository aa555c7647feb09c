package remote

import (
	"ferry/internal/backend"
	"ferry/internal/backend/local"
	"ferry/internal/backend/mega"
	"ferry/internal/backend/memory"
)

// Registry lists the backend types ferry knows, in the order the config
// wizard shows them. It is the only place types are registered.
func Registry() []backend.Type {
	return []backend.Type{
		local.Type,
		memory.Type,
		mega.Type,
	}
}
