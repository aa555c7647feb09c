package rc

import (
	"context"
	"time"

	"ferry/internal/backend"
)

// Opener resolves an rc "fs" parameter ("remote:" or "remote:path" or a
// local path) to a backend and a path within it. The daemon's opener keeps
// backends open between calls, which is what keeps MEGA sessions alive.
type Opener func(ctx context.Context, fs string) (backend.Backend, string, error)

// target resolves the usual fs + remote parameters.
func target(ctx context.Context, open Opener, in Params) (backend.Backend, string, error) {
	fs, err := in.String("fs")
	if err != nil {
		return nil, "", err
	}
	rel, err := in.OptString("remote", "")
	if err != nil {
		return nil, "", err
	}
	b, p, err := open(ctx, fs)
	if err != nil {
		return nil, "", err
	}
	rel, err = backend.Clean(rel)
	if err != nil {
		return nil, "", err
	}
	return b, backend.Join(p, rel), nil
}

// listItem is one entry of operations/list (rclone's field names).
type listItem struct {
	Path    string
	Name    string
	Size    int64
	ModTime string
	IsDir   bool
	ID      string `json:",omitempty"`
}

// AddOperations registers the operations/* calls.
func AddOperations(reg *Registry, open Opener) {
	op := func(path, help string, fn func(ctx context.Context, b backend.Backend, p string, in Params) (Params, error)) {
		reg.Add(Call{Path: path, Help: help, Async: true, Fn: func(ctx context.Context, in Params) (Params, error) {
			b, p, err := target(ctx, open, in)
			if err != nil {
				return nil, err
			}
			return fn(ctx, b, p, in)
		}})
	}
	op("operations/list", "list fs:remote; opt: {recurse: bool}", func(ctx context.Context, b backend.Backend, p string, in Params) (Params, error) {
		recurse := false
		if o, ok := in["opt"].(map[string]any); ok {
			recurse, _ = Params(o).Bool("recurse")
		}
		depth := 1
		if recurse {
			depth = 0
		}
		list := []listItem{}
		err := backend.Walk(ctx, b, p, depth, func(e backend.Entry) error {
			rel := e.Path
			if p != "" {
				rel = rel[len(p)+1:]
			}
			size := e.Size
			if e.IsDir {
				size = -1
			}
			list = append(list, listItem{Path: rel, Name: e.Name(), Size: size, ModTime: e.ModTime.Format(time.RFC3339Nano), IsDir: e.IsDir, ID: e.ID})
			return nil
		})
		if err != nil {
			return nil, err
		}
		return Params{"list": list}, nil
	})
	op("operations/stat", "describe fs:remote", func(ctx context.Context, b backend.Backend, p string, _ Params) (Params, error) {
		e, err := b.Stat(ctx, p)
		if err != nil {
			return nil, err
		}
		return Params{"item": listItem{Path: e.Path, Name: e.Name(), Size: e.Size, ModTime: e.ModTime.Format(time.RFC3339Nano), IsDir: e.IsDir, ID: e.ID}}, nil
	})
	op("operations/publiclink", "public link to fs:remote; unlink: bool", func(ctx context.Context, b backend.Backend, p string, in Params) (Params, error) {
		unlink, err := in.Bool("unlink")
		if err != nil {
			return nil, err
		}
		url, err := backend.PublicLink(ctx, b, p, unlink)
		if err != nil {
			return nil, err
		}
		return Params{"url": url}, nil
	})
	op("operations/mkdir", "make directory fs:remote", func(ctx context.Context, b backend.Backend, p string, _ Params) (Params, error) {
		return nil, b.Mkdir(ctx, p)
	})
	op("operations/rmdir", "remove empty directory fs:remote", func(ctx context.Context, b backend.Backend, p string, _ Params) (Params, error) {
		return nil, b.Rmdir(ctx, p)
	})
	op("operations/deletefile", "remove file fs:remote", func(ctx context.Context, b backend.Backend, p string, _ Params) (Params, error) {
		return nil, b.Remove(ctx, p)
	})
	op("operations/purge", "remove fs:remote and everything in it", func(ctx context.Context, b backend.Backend, p string, _ Params) (Params, error) {
		return nil, backend.Purge(ctx, b, p)
	})
	op("operations/about", "usage of fs", func(ctx context.Context, b backend.Backend, _ string, _ Params) (Params, error) {
		u, err := backend.About(ctx, b)
		if err != nil {
			return nil, err
		}
		out := Params{}
		for k, v := range map[string]int64{"total": u.Total, "used": u.Used, "free": u.Free, "trashed": u.Trashed} {
			if v >= 0 {
				out[k] = v
			}
		}
		return out, nil
	})
	op("operations/cleanup", "empty the trash of fs", func(ctx context.Context, b backend.Backend, _ string, _ Params) (Params, error) {
		return nil, backend.CleanUp(ctx, b)
	})
}
