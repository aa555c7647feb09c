//go:build unix

package backup

import (
	"io/fs"
	"syscall"

	"ferry/internal/backup/tree"
)

// fillOwner sets n's owner, inode and device from fi.
func fillOwner(n *tree.Node, fi fs.FileInfo) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		n.UID, n.GID = st.Uid, st.Gid
		n.Inode, n.Dev = uint64(st.Ino), uint64(st.Dev) //nolint:unconvert // the types differ between platforms
	}
}
