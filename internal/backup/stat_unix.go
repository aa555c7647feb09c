//go:build unix

package backup

import (
	"io/fs"
	"os"
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

// openSource opens a source file for reading without following a symlink
// and without blocking on a FIFO that replaced the file since the scan
// (the read then fails with "no longer a regular file").
func openSource(name string) (sourceFile, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}
