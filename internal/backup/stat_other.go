//go:build !unix

package backup

import (
	"io/fs"

	"ferry/internal/backup/tree"
)

// fillOwner does nothing where files have no numeric owners or inodes.
func fillOwner(*tree.Node, fs.FileInfo) {}
