// Package backup is ferry backup's engine: the archiver (Backup), which
// turns local directories into a snapshot of an encrypted repository
// (package repo), and the restorer, the forget policy, prune and verify.
// It works on any backend through the repository and never names a
// storage service.
//
// # What a snapshot holds
//
// A snapshot's root tree is the source directory itself when the backup
// has one source that is a directory: restoring it puts what the directory
// held into the destination, as duplicity does. With several sources, or a
// single file, the root tree holds one node per source, named by the
// source's base name (two sources with one base name are an error). The
// snapshot's Paths are the absolute source paths.
//
// Files, directories and symlinks are stored (symlinks as links, never
// followed), with their names as raw bytes, permission and special bits,
// modification times to the nanosecond, owners and, for the next backup's
// change detection, inode and device numbers. Other file types (devices,
// sockets, FIFOs) are left out and logged.
//
// # Incremental runs
//
// Every run is incremental. Its parent is the latest snapshot with the same
// host name and paths. A file whose modification time, size and inode
// equal its parent node's, and whose blobs the repository still has, keeps
// its parent's content without being read. Trees encode deterministically,
// so when nothing changed the root tree equals the parent's and Backup
// writes nothing at all: no blob, no index, no snapshot.
//
// # Memory
//
// File contents stream: the chunks in flight are bounded by a byte budget
// of (Readers+Savers) times the largest chunk. The scan, though, keeps the
// metadata of the whole source in memory (a few hundred bytes per entry)
// until the trees are saved, so a source of millions of files needs
// hundreds of MB.
//
// # Errors
//
// A source file or directory that cannot be read is logged, counted in
// Stats.Errors and left out; the snapshot is still written, and Result.Err
// lists what was left out. A file that changes while it is read (its size
// or modification time differ after the read) is read once more, and if it
// changes again it is left out the same way. Errors of the repository or
// its backend end the run.
package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"ferry/internal/backup/chunker"
	"ferry/internal/backup/repo"
)

// Repository is what Backup needs of a repository; *repo.Repository has
// it.
type Repository interface {
	ChunkerKey() []byte
	ChunkerParams() chunker.Params
	BlobID(plain []byte) repo.ID
	HasBlob(t repo.BlobType, id repo.ID) bool
	SaveBlob(ctx context.Context, t repo.BlobType, plain []byte) (id repo.ID, added bool, stored int, err error)
	LoadBlob(ctx context.Context, t repo.BlobType, id repo.ID, buf []byte) ([]byte, error)
	Flush(ctx context.Context) error
	Snapshots(ctx context.Context) ([]repo.Snapshot, error)
	SaveSnapshot(ctx context.Context, s *repo.Snapshot) (repo.ID, error)
}

var _ Repository = (*repo.Repository)(nil)

// Filter decides which source entries are backed up; *filter.Filter has
// it. Paths are slash-separated and relative to the source they are in.
type Filter interface {
	IncludeFile(p string, size int64) bool
	IncludeDir(p string) bool
}

// Options configure a Backup. Paths is required; the zero value of the
// rest works.
type Options struct {
	// Paths are the sources: directories or files. Relative paths are
	// made absolute; a source that is a symlink is replaced by the path
	// it resolves to.
	Paths []string
	// Hostname and Username go into the snapshot; Hostname also picks the
	// parent. Empty Hostname means os.Hostname, empty Username the
	// current user.
	Hostname, Username string
	// Tags go into the snapshot.
	Tags []string
	// Filter leaves entries out; nil includes everything.
	Filter Filter
	// Skip are absolute paths left out wherever they appear below a
	// source, such as the repository itself when it is on a local disk, or
	// ferry's cache directory.
	Skip []string
	// DryRun reads and chunks what changed and counts what would be
	// stored, but stores nothing.
	DryRun bool
	// Time is the snapshot's time; zero means the time Backup starts.
	Time time.Time
	// Readers is the number of files read at once (2 when 0); Savers the
	// number of goroutines hashing, compressing and encrypting chunks
	// (GOMAXPROCS when 0).
	Readers, Savers int
	// Progress, when set, is updated as the run goes.
	Progress *Progress
	// Logger receives operator messages (unreadable files at warn level);
	// nil discards them.
	Logger *slog.Logger
}

// Stats count what a run saw and stored. File counts include symlinks.
type Stats struct {
	StartTime, EndTime time.Time

	Files, Dirs          int64 // entries in the source (files include symlinks)
	SourceBytes          int64 // their size
	FilesNew, BytesNew   int64 // files the parent does not have
	FilesChanged         int64 // files read again because they differ from the parent's
	BytesChanged         int64
	FilesUnmodified      int64 // files whose content the parent gave
	Deleted              int64 // entries of the parent's directories that are gone
	DirsNew, DirsChanged int64
	DirsUnmodified       int64
	BytesRead            int64 // source bytes read and chunked
	DataBlobs, TreeBlobs int64 // new blobs (would be new, in a dry run)
	DataAdded            int64 // plaintext bytes of new data blobs
	DataAddedChanged     int64 // of those, the ones of changed files (duplicity's ChangedDeltaSize)
	DataAddedStored      int64 // stored bytes of new data and tree blobs
	TreeAdded            int64 // plaintext bytes of new tree blobs
	DedupBytes           int64 // bytes read whose blobs the repository had already
	Errors               int64 // entries left out because they could not be read
	SkippedSpecial       int64 // devices, sockets and FIFOs left out
}

// Result is what a Backup did.
type Result struct {
	// Snapshot is the snapshot written, nil when nothing changed (or in a
	// dry run).
	Snapshot *repo.Snapshot
	// Parent is the snapshot compared against, nil for a first backup.
	Parent *repo.Snapshot
	// Root is the root tree's ID; Unchanged reports it equals the
	// parent's, so nothing was written.
	Root      repo.ID
	Unchanged bool
	Stats     Stats
	// Err joins a *FileError per source entry left out; nil when none was.
	Err error
}

// FileError is a source entry left out of the snapshot.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// ErrFileChanged is a FileError's Err for a file that changed during both
// reads.
var ErrFileChanged = errors.New("file changed while it was read, twice")

// Progress is a running Backup's counters, safe to read at any time. The
// totals are final once Scanned reports true.
type Progress struct {
	files, bytes           atomic.Int64 // done: files finished, bytes read or reused
	totalFiles, totalBytes atomic.Int64
	errors                 atomic.Int64
	scanned                atomic.Bool
	current                atomic.Pointer[string]
}

// ProgressSnapshot is one reading of a Progress.
type ProgressSnapshot struct {
	Files, TotalFiles int64
	Bytes, TotalBytes int64
	Errors            int64
	Scanned           bool
	Current           string // a file being read
}

// Snapshot reads p.
func (p *Progress) Snapshot() ProgressSnapshot {
	s := ProgressSnapshot{
		Files: p.files.Load(), TotalFiles: p.totalFiles.Load(),
		Bytes: p.bytes.Load(), TotalBytes: p.totalBytes.Load(),
		Errors: p.errors.Load(), Scanned: p.scanned.Load(),
	}
	if c := p.current.Load(); c != nil {
		s.Current = *c
	}
	return s
}
