//go:build !unix

package backup

import (
	"os"
	"time"
)

// setModTime sets the mtime of p; on this system a symlink's own time is
// not set (its target's is).
func setModTime(p string, t time.Time) error {
	if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return nil
	}
	return os.Chtimes(p, t, t)
}
