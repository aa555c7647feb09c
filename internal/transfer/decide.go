package transfer

import (
	"time"

	"ferry/internal/backend"
	"ferry/mega/megacrypto"
)

// decision is what to do with a file present on both sides.
type decision int

const (
	decSkip        decision = iota // identical: nothing to do
	decCopy                        // copy source over destination
	decSetModTime                  // same content, only the mtime differs
	decFingerprint                 // compare fingerprints, computing the missing one
)

// String names the decision for logs and test failures.
func (d decision) String() string {
	return [...]string{"skip", "copy", "set mtime", "fingerprint"}[d]
}

// compareOptions are the inputs of decide besides the two entries.
type compareOptions struct {
	checksum, sizeOnly, ignoreExisting bool
	// window is the mtime tolerance: the coarser precision of the sides.
	window time.Duration
	// canSetModTime: the destination implements backend.ModTimeSetter.
	canSetModTime bool
}

// decide compares src and dst (both files) without I/O. Reason explains a
// copy in the words rclone's logs use.
func decide(src, dst backend.Entry, o compareOptions) (d decision, reason string) {
	switch {
	case o.ignoreExisting:
		return decSkip, "destination exists"
	case src.Size != dst.Size:
		return decCopy, "sizes differ"
	case o.sizeOnly:
		return decSkip, "sizes equal"
	case o.checksum:
		switch {
		case src.Fingerprint != "" && dst.Fingerprint != "":
			if sameContent(src.Fingerprint, dst.Fingerprint) {
				return decSkip, "fingerprints equal"
			}
			return decCopy, "fingerprints differ"
		case src.Fingerprint != "" || dst.Fingerprint != "":
			return decFingerprint, "one side has a fingerprint"
		}
		return decSkip, "sizes equal, no fingerprints"
	}
	if withinWindow(src.ModTime, dst.ModTime, o.window) {
		return decSkip, "sizes and mtimes equal"
	}
	if o.canSetModTime && src.Fingerprint != "" && dst.Fingerprint != "" && sameContent(src.Fingerprint, dst.Fingerprint) {
		return decSetModTime, "mtimes differ, fingerprints equal"
	}
	return decCopy, "mtimes differ"
}

// withinWindow reports whether a and b differ by at most window.
func withinWindow(a, b time.Time, window time.Duration) bool {
	d := a.Sub(b)
	if d < 0 {
		d = -d
	}
	return d <= window
}

// sameContent compares two fingerprints by content: for MEGA `c`
// attributes the CRC part (the mtime part is compared separately, within
// precision); for anything else the whole string.
func sameContent(a, b string) bool {
	ca, _, errA := megacrypto.ParseFingerprint(a)
	cb, _, errB := megacrypto.ParseFingerprint(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return ca == cb
}

// mtimeWindow is the tolerance for comparing mtimes between a and b.
func mtimeWindow(a, b backend.Backend) time.Duration {
	return max(backend.Precision(a), backend.Precision(b))
}
