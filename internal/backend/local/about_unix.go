//go:build linux || darwin

package local

import (
	"context"

	"golang.org/x/sys/unix"

	"ferry/internal/backend"
)

// About reports the usage of the file system holding the root (statfs):
// Free is what an unprivileged user may still write; Trashed is unknown.
func (b *Backend) About(ctx context.Context) (backend.Usage, error) {
	if err := ctx.Err(); err != nil {
		return backend.Usage{}, b.perr("about", "", err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(b.root, &st); err != nil {
		return backend.Usage{}, b.perr("about", "", err)
	}
	bs := int64(st.Bsize)
	return backend.Usage{
		Total:   int64(st.Blocks) * bs,
		Used:    int64(st.Blocks-st.Bfree) * bs,
		Free:    int64(st.Bavail) * bs,
		Trashed: -1,
	}, nil
}
