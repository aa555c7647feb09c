//go:build unix

package backup

import (
	"time"

	"golang.org/x/sys/unix"
)

// setModTime sets the mtime of p, not following a symlink, to the
// nanosecond; the access time becomes the same.
func setModTime(p string, t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}
