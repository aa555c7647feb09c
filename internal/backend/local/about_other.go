//go:build !(linux || darwin)

package local

import (
	"context"

	"ferry/internal/backend"
)

// About reports unknown usage on systems without statfs support here.
func (b *Backend) About(ctx context.Context) (backend.Usage, error) {
	if err := ctx.Err(); err != nil {
		return backend.Usage{}, b.perr("about", "", err)
	}
	return backend.Usage{Total: -1, Used: -1, Free: -1, Trashed: -1}, nil
}
