package transfer

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"ferry/internal/backend"
	"ferry/internal/filter"
	"ferry/internal/retry"
)

// Location is one side of a run: a backend and a path in it (a directory
// for Copy, Sync, Move and Check; a file for CopyFile and MoveFile).
type Location struct {
	Backend backend.Backend
	Path    string // contract form; "" is the backend's root
}

// String names the location for messages, e.g. "mega:backup/photos".
func (l Location) String() string {
	if l.Backend == nil {
		return l.Path
	}
	s := l.Backend.String()
	if l.Path == "" {
		return s
	}
	if strings.HasSuffix(s, ":") || strings.HasSuffix(s, "/") {
		return s + l.Path
	}
	return s + "/" + l.Path
}

// path returns rel (relative to l.Path) as a path in l.Backend.
func (l Location) path(rel string) string {
	return joinClean(l.Path, rel)
}

// joinClean joins two paths already in the contract's form (no leading,
// trailing or doubled slashes) without backend.Join's cleaning, which
// costs allocations on the hot path of big trees.
func joinClean(dir, name string) string {
	switch {
	case dir == "":
		return name
	case name == "":
		return dir
	}
	return dir + "/" + name
}

// Defaults of Options.Transfers, Checkers, MaxBacklog (rclone's) and
// Retries.
const (
	DefaultTransfers  = 4
	DefaultCheckers   = 8
	DefaultMaxBacklog = 10000
	DefaultRetries    = 3
)

// Options tune a Copy, Sync, Move, CopyFile or MoveFile run. The zero
// value copies with the defaults, compares sizes and mtimes, and reports
// nothing.
type Options struct {
	Transfers int // parallel file transfers; <= 0 means DefaultTransfers
	Checkers  int // parallel directory listings and comparisons; <= 0 means DefaultCheckers

	// MaxBacklog is how many files the listing may decide on ahead of
	// the transfers (rclone's --max-backlog): the statistics' totals count
	// them as soon as they are decided, so a progress display shows the
	// size of the whole run early. <= 0 means DefaultMaxBacklog.
	MaxBacklog int

	// Retries is the number of attempts per file transfer when it fails
	// with a retryable error (retry.IsRetryable: a dropped connection, a
	// MEGA EAGAIN, an upload slot the server dropped); each attempt
	// reopens the source. 0 means DefaultRetries; negative means one.
	Retries int
	// RetrySleep, if positive, is the wait between the attempts of a
	// file (rclone's --retries-sleep) instead of the growing backoff.
	RetrySleep time.Duration

	// MaxTransfer stops the run once the transfers have read this many
	// bytes (rclone's --max-transfer); <= 0 means no limit. MaxDuration
	// stops it after this long (--max-duration); <= 0 means none.
	// CutoffMode says how (hard by default). The run then returns an
	// error wrapping ErrMaxTransfer or ErrMaxDuration; files it did not
	// get to are not failures, and a sync deletes nothing.
	MaxTransfer int64
	MaxDuration time.Duration
	CutoffMode  CutoffMode

	DryRun         bool // decide and report, change nothing
	Checksum       bool // compare fingerprints instead of mtimes
	SizeOnly       bool // compare sizes only
	IgnoreExisting bool // skip every file the destination has
	// NoUpdateModTime leaves a destination file whose content equals the
	// source's (by fingerprint) but whose mtime differs as it is, instead
	// of setting its mtime (rclone's --no-update-modtime).
	NoUpdateModTime bool

	// Sync semantics: rclone's flags of the same names (syncflags.go).
	Update      bool // --update: skip files whose destination is newer
	IgnoreTimes bool // --ignore-times: transfer every file both sides have
	Immutable   bool // --immutable: a destination file that differs is an error, never replaced
	NoTraverse  bool // --no-traverse: Stat each source file on the destination instead of listing it (not sync)
	// TrackRenames (sync): a destination-only file matching a
	// source-only one (size and fingerprint, or size and mtime without
	// fingerprints) is moved server-side instead of re-uploaded.
	TrackRenames bool
	// TrackRenamesStrategy is what a match shares besides the size
	// (--track-renames-strategy; zero: RenameHash).
	TrackRenamesStrategy RenameStrategy
	CreateEmptySrcDirs   bool       // create source directories that have no files on the destination
	DeleteExcluded       bool       // sync also deletes destination files the filter excludes
	DeleteMode           DeleteMode // when sync deletes: DeleteAfter (the zero value), DeleteBefore, DeleteDuring
	// LimitDeletes makes MaxDelete the most files a sync (or a backup
	// of replaced files) deletes; more is a fatal "--max-delete
	// threshold reached" and nothing more is deleted.
	LimitDeletes bool
	MaxDelete    int
	// BackupDir, a directory of the destination's backend, receives the
	// files a run would replace or delete, at their relative paths plus
	// Suffix. With Suffix and no BackupDir they are renamed in place.
	BackupDir           string
	Suffix              string
	SuffixKeepExtension bool // put Suffix before the file's extension

	// Filter selects the files and directories seen on both sides; nil
	// sees everything. Paths are relative to the run's roots.
	Filter *filter.Filter
	// Limiter bounds the bytes read per second over all transfers; nil
	// does not limit. Views of one Limiter share its buckets: give runs
	// views of one Limiter to limit them together.
	Limiter *DirLimiter
	// Stats receives the counters; nil uses a private one.
	Stats *Stats
	// Logger receives operator logs; nil discards them.
	Logger *slog.Logger
	// Report is called for every action and failure, from several
	// goroutines at once; nil reports nothing.
	Report func(Event)
}

// transfers returns the effective Transfers.
func (o *Options) transfers() int {
	if o.Transfers <= 0 {
		return DefaultTransfers
	}
	return o.Transfers
}

// checkers returns the effective Checkers.
func (o *Options) checkers() int {
	if o.Checkers <= 0 {
		return DefaultCheckers
	}
	return o.Checkers
}

// maxBacklog returns the effective MaxBacklog.
func (o *Options) maxBacklog() int {
	if o.MaxBacklog <= 0 {
		return DefaultMaxBacklog
	}
	return o.MaxBacklog
}

// retryPolicy is the backoff for retrying one file transfer.
func (o *Options) retryPolicy() retry.Policy {
	n := o.Retries
	if n == 0 {
		n = DefaultRetries
	}
	if o.RetrySleep > 0 {
		return retry.Policy{Base: o.RetrySleep, Cap: o.RetrySleep, MaxAttempts: n, Fixed: true}
	}
	return retry.Policy{Base: 200 * time.Millisecond, Cap: 10 * time.Second, MaxAttempts: n}
}

// loggerOr returns l, or a logger that discards everything when l is nil.
func loggerOr(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// Attribute keys of the engine's log records. The path is "object", as
// rclone's logs call it (the CLI's handler prints it before the message).
const (
	logKeyPath   = "object"
	logKeyReason = "reason"
	logKeyError  = "err"
	logKeyCount  = "count"
	logKeyID     = "id"
)

// Action is what an Event reports.
type Action int

// Actions.
const (
	Copied         Action = iota + 1 // a file was copied; Reason "new" or "replaced existing"
	Moved                            // a file was moved (copied then its source deleted, or moved server-side)
	Deleted                          // a file was deleted
	RemovedDir                       // an empty directory was removed
	ModTimeUpdated                   // only the destination mtime was changed
	Failed                           // an operation on Path failed; Err says why
	MissingOnDst                     // check: the file is only in the source
	MissingOnSrc                     // check: the file is only in the destination
	Differs                          // check: the file differs; Reason says how
	Matches                          // check: the file is identical
	Duplicate                        // dedupe: Path has several objects; Count says how many
	Kept                             // dedupe: this object (ID) was kept
	Renamed                          // dedupe: an object was renamed to NewPath
	Skipped                          // dedupe: duplicates left as they are
	MadeDir                          // a directory was created (--create-empty-src-dirs)
)

// actionNames are the names Action.String returns.
var actionNames = map[Action]string{
	Copied: "copied", Moved: "moved", Deleted: "deleted", RemovedDir: "removed directory",
	ModTimeUpdated: "updated modification time", Failed: "failed",
	MissingOnDst: "missing on destination", MissingOnSrc: "missing on source",
	Differs: "differs", Matches: "matches", Duplicate: "duplicate", Kept: "kept",
	Renamed: "renamed", Skipped: "skipped", MadeDir: "made directory",
}

// String returns the action's lower-case name, e.g. "copied".
func (a Action) String() string {
	if s, ok := actionNames[a]; ok {
		return s
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Event is one thing a run did, would do (DryRun), or failed to do.
type Event struct {
	Action Action
	// Path is relative to the run's root (for CopyFile the destination's
	// name), or for Dedupe relative to the deduplicated directory.
	Path    string
	NewPath string // Renamed: the new path
	ID      string // Dedupe: the object's Entry.ID
	Size    int64
	Count   int    // Duplicate: number of objects
	Reason  string // why, e.g. "new", "size differs", "identical copy"
	DryRun  bool   // the action was not carried out because of --dry-run
	Err     error  // Failed: the error
}

// RunError is returned by a run in which some operations failed. It
// unwraps to the first failure, so errors.Is sees its cause.
type RunError struct {
	Errors int   // how many operations failed
	First  error // the first failure
}

// Error gives the first failure, and the count when there were several.
func (e *RunError) Error() string {
	if e.Errors == 1 {
		return e.First.Error()
	}
	return fmt.Sprintf("%d errors, the first: %v", e.Errors, e.First)
}

// Unwrap returns the first failure.
func (e *RunError) Unwrap() error { return e.First }

// Sentinel errors callers branch on.
var (
	// ErrDirNotFound: the source directory of a run does not exist.
	ErrDirNotFound = errors.New("directory not found")
	// ErrOverlap: source and destination overlap in one backend.
	ErrOverlap = errors.New("source and destination overlap")
	// ErrDifferences: Check found differences.
	ErrDifferences = errors.New("differences found")
)

// sameBackend reports whether a and b are the same backend instance.
func sameBackend(a, b backend.Backend) bool {
	if a == nil || b == nil {
		return false
	}
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	if ta != tb || !ta.Comparable() {
		return false
	}
	return a == b
}

// overlaps reports whether directory paths a and b are the same or one
// holds the other.
func overlaps(a, b string) bool {
	if a == "" || b == "" || a == b {
		return true
	}
	return strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}
