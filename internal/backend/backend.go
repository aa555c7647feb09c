// Package backend is ferry's storage contract: the small interface every
// storage system implements (local disk, memory, MEGA, MediaFire), the
// optional one-method capabilities found by type assertion, and the errors
// callers branch on. Engines (transfer, vfs, backup) import this package,
// never a concrete backend.
//
// # Paths
//
// Paths are slash-separated and relative to the backend's root: "" is the
// root, "a/b.txt" a file in folder "a". They never start or end with "/",
// and never contain "." or ".." elements or empty elements; Clean makes a
// user's path fit. A name is any other non-empty byte string without "/"
// or NUL: spaces, unicode, "? < > & +", and invalid UTF-8, which local
// file systems allow. A backend that cannot store a name as it is encodes
// it reversibly and without collisions (package backend/encoding), and
// shows names it holds that no contract name can be (MEGA's "a/b", ".",
// "..") under the same code, so List gives back exactly the bytes Put
// stored and other clients' names are visible and can be copied.
//
// # Errors
//
// Missing paths, including paths below a file, give errors satisfying
// errors.Is(err, fs.ErrNotExist); creating over an existing object of the
// other kind gives fs.ErrExist. Backends wrap errors in *PathError. Methods
// must honour ctx: a cancelled ctx never starts a mutation, and the error
// then matches ctx.Err(). The conformance suite (backendtest) checks all
// of this.
package backend

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// Entry describes a file or directory.
type Entry struct {
	// Path is the entry's path relative to the backend root.
	Path string
	// Size in bytes; 0 for directories.
	Size int64
	// ModTime is the modification time, at the backend's Precision.
	ModTime time.Time
	// IsDir reports a directory.
	IsDir bool
	// ID identifies the object within the backend when names are not
	// unique (MEGA node handle). Empty for backends with unique names.
	ID string
	// Fingerprint is a backend-specific content fingerprint when the
	// backend has one cheaply (MEGA's `c` attribute); "" otherwise.
	Fingerprint string
}

// Name returns the last element of e.Path.
func (e Entry) Name() string { return path.Base(e.Path) }

// Backend is the storage contract. Implementations are safe for concurrent
// use.
type Backend interface {
	// String names the backend for messages, e.g. "mega:backup" (no secrets).
	String() string

	// List returns the entries directly inside dir ("" = root), in no
	// particular order. A missing dir is fs.ErrNotExist; a file is
	// ErrNotDir.
	// Backends with DuplicateNamer may return several entries with one Path.
	List(ctx context.Context, dir string) ([]Entry, error)

	// Stat describes one path. The root "" is a directory.
	Stat(ctx context.Context, p string) (Entry, error)

	// Open reads length bytes of file p starting at offset; length < 0
	// reads to the end. Reading from offset >= size yields no bytes (not an
	// error); a range past the end is truncated. The reader returns io.EOF
	// after the last byte, and an error (never silently short data) if the
	// content cannot be verified or fetched completely. A backend that
	// verifies whole reads (MEGA's MAC) or notices a changed source (local)
	// reports the failure before it delivers the last byte, so a consumer
	// that reads exactly the listed size (io.ReadFull, io.CopyN) sees it;
	// Close reports a failure no Read returned. A directory is ErrIsDir.
	Open(ctx context.Context, p string, offset, length int64) (io.ReadCloser, error)

	// Put stores a file at p from r, which yields exactly size bytes, with
	// the given mtime, creating missing parent directories and replacing an
	// existing file. It reads r to its end: a source shorter or longer than
	// size, or one whose final Read fails (a verifying reader reports a bad
	// MAC or a changed file there), is an error, and the object is
	// committed only after that final Read (CopyExact does this). On error
	// or cancellation no partial object is left at p and an existing file
	// is unchanged. It returns the new entry.
	Put(ctx context.Context, p string, r io.Reader, size int64, modTime time.Time) (Entry, error)

	// Mkdir creates directory dir and its missing parents. It is
	// idempotent; fs.ErrExist if a file is in the way.
	Mkdir(ctx context.Context, dir string) error

	// Rmdir removes an empty directory; it fails with ErrNotEmpty if dir
	// is not empty and with ErrNotDir if it is a file.
	Rmdir(ctx context.Context, dir string) error

	// Remove deletes file p (fs.ErrNotExist if missing, ErrIsDir for a
	// directory).
	Remove(ctx context.Context, p string) error
}

// Mover moves or renames a file or directory within one backend without
// copying data. dst's parent directories are created; an existing file at
// dst is replaced.
type Mover interface {
	Move(ctx context.Context, src, dst string) (Entry, error)
}

// Purger removes a directory and everything in it.
type Purger interface {
	Purge(ctx context.Context, dir string) error
}

// PublicLinker creates (or, with unlink, removes) a public link to p.
type PublicLinker interface {
	PublicLink(ctx context.Context, p string, unlink bool) (string, error)
}

// Usage is storage usage; negative fields are unknown.
type Usage struct {
	Total, Used, Free, Trashed int64
}

// Abouter reports storage usage.
type Abouter interface {
	About(ctx context.Context) (Usage, error)
}

// CleanUpper empties the trash or rubbish bin.
type CleanUpper interface {
	CleanUp(ctx context.Context) error
}

// DuplicateNamer is implemented by backends that allow several objects
// with one name in a directory (MEGA). List then returns each with its own
// ID, and these methods address one of them. OpenEntry is Open of the one
// object e.ID names (fs.ErrNotExist once it is gone); engines open listed
// files through the package function OpenEntry, never by a path that may
// name several objects.
type DuplicateNamer interface {
	OpenEntry(ctx context.Context, e Entry, offset, length int64) (io.ReadCloser, error)
	RemoveEntry(ctx context.Context, e Entry) error
	RenameEntry(ctx context.Context, e Entry, newName string) (Entry, error)
}

// ModTimeSetter changes a file's mtime without rewriting it.
type ModTimeSetter interface {
	SetModTime(ctx context.Context, p string, t time.Time) error
}

// ContentMatcher is implemented by backends that can tell whether a
// stream holds exactly a file's content without downloading it: MEGA MACs
// the stream under the node's key and compares the meta-MAC, MediaFire
// compares the stream's SHA-256 with the hash it records. `check
// --checksum` feeds it the other side's file.
type ContentMatcher interface {
	MatchContent(ctx context.Context, e Entry, r io.Reader) (bool, error)
	// MatchedBy names what MatchContent compares, as check's reasons
	// show it: "MEGA meta-MAC", "MediaFire SHA-256".
	MatchedBy() string
}

// Chunk is the byte range [Offset, Offset+Size) of a file.
type Chunk struct {
	Offset int64
	Size   int64
}

// ChunkVerifier is implemented by backends whose files carry a MAC of
// each content chunk and a MAC of the whole file over those (MEGA's chunk
// MACs and meta-MAC). A consumer that assembles a file from ranged reads
// made at different times (the vfs's block cache) checks with it each
// whole chunk it holds and, once it holds them all, the whole file, as a
// full Open would. Backends whose reads need no check (local, memory) do
// not implement it.
type ChunkVerifier interface {
	// ChunkChecker returns the checker of file e's content: the object
	// e.ID names, or the newest file at e.Path without an ID. It fails
	// with fs.ErrNotExist once the object is gone.
	ChunkChecker(ctx context.Context, e Entry) (ChunkChecker, error)
}

// ChunkChecker checks one file's content chunk by chunk. It is safe for
// concurrent use.
type ChunkChecker interface {
	// Chunks returns the chunk layout: consecutive chunks from offset 0
	// to the file's size, in offset order (none for an empty file).
	// Callers must not change it.
	Chunks() []Chunk
	// MACs returns the MACs of consecutive whole chunks first, first+1,
	// ..., whose plaintexts are ps (ps[i] holds all of chunk first+i).
	MACs(first int, ps [][]byte) [][]byte
	// Verify checks the MACs of all chunks, in offset order, against the
	// file's MAC. A mismatch is an error for which IsFatal reports true:
	// the stored content is corrupt, and fetching it again gives the same
	// bytes.
	Verify(macs [][]byte) error
}

// Fingerprinter is implemented by backends whose entries carry a content
// fingerprint of their own kind in Entry.Fingerprint (MEGA's `c`
// attribute: CRCs of sampled windows plus the mtime). Engines never parse
// one: they compare fingerprints with SameContent, and ask the backend
// that owns the kind to compute it for the other side's file.
type Fingerprinter interface {
	// FingerprintOf computes the fingerprint this backend would give a
	// file with e's size and mtime and the content r reads; e is an entry
	// of another backend. MEGA reads only sampled windows (at most 8 KiB).
	FingerprintOf(ctx context.Context, e Entry, r io.ReaderAt) (string, error)
	// SameContent reports whether two fingerprints of this kind describe
	// the same content, whatever they say of mtimes (engines compare those
	// separately, within precision).
	SameContent(a, b string) bool
}

// ChangeNotifier is implemented by backends that learn of changes made
// elsewhere (other clients, the service's web app): MEGA's action packets.
// A mount uses it to keep its directory cache current.
type ChangeNotifier interface {
	// ChangeNotify watches for outside changes until ctx ends, calling fn
	// with the directories (contract paths, "" the root) whose listings
	// may have changed; nil dirs means the backend cannot tell which, so
	// anything may have. Calls to fn never overlap and must not block for
	// long. It returns ctx's error when ctx ends, or a permanent error
	// (an expired session, say).
	ChangeNotify(ctx context.Context, fn func(dirs []string)) error
}

// Precisioner reports the mtime precision; without it, 1ns is assumed.
type Precisioner interface {
	Precision() time.Duration
}

// Closer is implemented by backends holding resources (sessions, caches).
type Closer interface {
	Close() error
}

// PathError records an error and the operation and path that caused it.
type PathError struct {
	Op      string // the method in lower case: "list", "stat", "open", "put", "mkdir", "rmdir", "remove", "move", ...
	Backend string // Backend.String()
	Path    string // as the caller gave it, relative to the backend root
	Err     error
}

func (e *PathError) Error() string {
	return e.Op + " " + e.Backend + quotePath(e.Path) + ": " + e.Err.Error()
}

func (e *PathError) Unwrap() error { return e.Err }

func quotePath(p string) string {
	if p == "" {
		return ""
	}
	return "/" + p
}

// ErrNotDir and ErrIsDir report a path of the wrong kind; ErrNotEmpty
// reports Rmdir of a directory with something in it.
var (
	ErrNotDir   = errors.New("not a directory")
	ErrIsDir    = errors.New("is a directory")
	ErrNotEmpty = errors.New("directory not empty")
)

// Clean turns a user's path into the contract's form: slashes, no leading
// or trailing "/", no "." elements. It rejects ".." escaping the root.
func Clean(p string) (string, error) {
	c := path.Clean("/" + p)
	if strings.Contains(p, "..") {
		for _, el := range strings.Split(p, "/") {
			if el == ".." {
				return "", &PathError{Op: "clean", Path: p, Err: fs.ErrInvalid}
			}
		}
	}
	return strings.TrimPrefix(c, "/"), nil
}

// Join joins path elements in the contract's form.
func Join(elem ...string) string {
	// Fast path for the common case, a clean directory and a name: plain
	// concatenation gives what path.Join would. Listings call Join once
	// per entry.
	if len(elem) == 2 && cleanElem(elem[0]) && cleanElem(elem[1]) {
		switch {
		case elem[0] == "":
			return elem[1]
		case elem[1] == "":
			return elem[0]
		}
		return elem[0] + "/" + elem[1]
	}
	return strings.TrimPrefix(path.Join(append([]string{"/"}, elem...)...), "/")
}

// cleanElem reports whether p is "" or already in the contract's form
// (no leading, trailing or doubled "/", no "." or ".." elements).
func cleanElem(p string) bool {
	if p == "" {
		return true
	}
	if p[0] == '/' || p[len(p)-1] == '/' || strings.Contains(p, "//") {
		return false
	}
	for el := range strings.SplitSeq(p, "/") {
		if el == "." || el == ".." {
			return false
		}
	}
	return true
}

// Dir returns the parent directory of p ("" for top-level entries).
func Dir(p string) string {
	d := path.Dir(p)
	if d == "." || d == "/" {
		return ""
	}
	return d
}

// Precision returns b's mtime precision.
func Precision(b Backend) time.Duration {
	if p, ok := b.(Precisioner); ok {
		return p.Precision()
	}
	return time.Nanosecond
}
