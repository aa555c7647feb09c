package remote

import (
	"context"

	"ferry/internal/backend"
	"ferry/internal/backend/local"
	"ferry/internal/backend/mediafire"
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
		mediafire.Type,
	}
}

// Links lists the URLs ferry opens with no config: MEGA file and folder
// links ("<link>[:<path>]"), read-only and with no login, configured by
// the mega type's flags and variables (--mega-url, FERRY_MEGA_URL; else
// $X_MEGA_API_URL; else the link's own host unless it is MEGA's); and
// duplicity's MEGA URLs (mega://user%40host@mega.nz/path, the password
// from the URL or $FTP_PASSWORD, the session cached per account);
// duplicity's MediaFire URLs (mf://user%40host@mediafire.com/path, the
// password from the URL or $FTP_PASSWORD), writable, configured by the
// mediafire type's flags and variables (--mediafire-url, ...).
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
	}, {
		Type:     mega.Type,
		Match:    mega.IsURL,
		Check:    mega.CheckURL,
		Open:     mega.OpenURL,
		Redact:   mega.RedactURL,
		Writable: true,
		CacheKey: mega.URLCacheKey,
	}, {
		Type:     mediafire.Type,
		Match:    mediafire.IsLink,
		Check:    mediafire.CheckLink,
		Open:     mediafire.OpenLink,
		Redact:   mediafire.RedactLink,
		Writable: true,
	}}
}
