package transfer

import (
	"context"
	"time"

	"ferry/internal/backend"
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
	// update skips files newer on the destination (--update);
	// ignoreTimes copies every file (--ignore-times).
	update, ignoreTimes bool
	// window is the mtime tolerance: the coarser precision of the sides.
	window time.Duration
	// canSetModTime: the destination implements backend.ModTimeSetter.
	canSetModTime bool
	// noUpdateModTime: a file whose content is equal but mtime differs
	// is left as it is (--no-update-modtime).
	noUpdateModTime bool
	// sameContent compares two fingerprints (fingerprints.same).
	sameContent func(a, b string) bool
}

// reasonNoFingerprints is decide's reason when --checksum found no
// fingerprint on either side and compared sizes only.
const reasonNoFingerprints = "sizes equal, no fingerprints"

// decide compares src and dst (both files) without I/O. Reason explains a
// copy in the words rclone's logs use.
func decide(src, dst backend.Entry, o compareOptions) (d decision, reason string) {
	switch {
	case o.ignoreExisting:
		return decSkip, "destination exists"
	case o.ignoreTimes:
		return decCopy, "--ignore-times"
	}
	if o.update {
		// rclone's --update: a newer destination is kept; an older one
		// is compared as usual (a changed mtime alone only updates the
		// mtime when the fingerprints say the content is the same); with
		// mtimes equal within the window, the sizes decide unless
		// --checksum is set.
		switch dt := dst.ModTime.Sub(src.ModTime); {
		case dt > o.window:
			return decSkip, "destination is newer"
		case dt >= -o.window && !o.checksum:
			o.sizeOnly = true
		}
	}
	switch {
	case src.Size != dst.Size:
		return decCopy, "sizes differ"
	case o.sizeOnly:
		return decSkip, "sizes equal"
	case o.checksum:
		switch {
		case src.Fingerprint != "" && dst.Fingerprint != "":
			if o.sameContent(src.Fingerprint, dst.Fingerprint) {
				return decSkip, "fingerprints equal"
			}
			return decCopy, "fingerprints differ"
		case src.Fingerprint != "" || dst.Fingerprint != "":
			return decFingerprint, "one side has a fingerprint"
		}
		return decSkip, reasonNoFingerprints
	}
	if withinWindow(src.ModTime, dst.ModTime, o.window) {
		return decSkip, "sizes and mtimes equal"
	}
	if (o.canSetModTime || o.noUpdateModTime) && src.Fingerprint != "" && dst.Fingerprint != "" && o.sameContent(src.Fingerprint, dst.Fingerprint) {
		if o.noUpdateModTime {
			return decSkip, "mtimes differ, fingerprints equal, --no-update-modtime"
		}
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

// comparer decides about a file present on both sides, computing a
// missing fingerprint when decide asks for one. Copy, Sync, Move and Check
// share it.
type comparer struct {
	opts compareOptions
	fp   fingerprints
}

// newComparer compares files of src and dst under opts, whose window and
// sameContent it fills in.
func newComparer(src, dst backend.Backend, opts compareOptions) comparer {
	c := comparer{opts: opts, fp: newFingerprints(src, dst)}
	c.opts.window = mtimeWindow(src, dst)
	c.opts.sameContent = c.fp.same
	return c
}

// compare decides about source file s and destination file d.
func (c comparer) compare(ctx context.Context, s, d backend.Entry) (decision, string, error) {
	dec, reason := decide(s, d, c.opts)
	if dec != decFingerprint {
		return dec, reason, nil
	}
	same, err := c.fp.equal(ctx, s, d)
	switch {
	case err != nil:
		return decCopy, "", err
	case same:
		return decSkip, "fingerprints equal", nil
	}
	return decCopy, "fingerprints differ", nil
}

// mtimeWindow is the tolerance for comparing mtimes between a and b.
func mtimeWindow(a, b backend.Backend) time.Duration {
	return max(backend.Precision(a), backend.Precision(b))
}
