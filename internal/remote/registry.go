package remote

import (
	"context"

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

// Links lists the public links ferry opens as sources with no config and
// no login: MEGA file and folder links ("<link>[:<path>]"), configured by
// the mega type's flags and variables (--mega-url, FERRY_MEGA_URL; else
// $X_MEGA_API_URL; else the link's own host unless it is MEGA's).
func Links() []LinkType {
	return []LinkType{{
		Type:  mega.Type,
		Match: mega.IsLink,
		Check: mega.CheckLink,
		Open: func(ctx context.Context, arg string, cfg backend.ConfigMap, env backend.Env) (backend.Backend, string, error) {
			b, p, err := mega.OpenLink(ctx, arg, cfg, env)
			if err != nil {
				return nil, "", err
			}
			return b, p, nil
		},
		Redact: mega.RedactLink,
	}}
}
