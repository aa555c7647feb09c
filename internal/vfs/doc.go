// Package vfs is a file system tree over a backend.Backend, with no FUSE
// in it: inodes, directory caches, open handles, reads through a block
// cache on disk with read-ahead, and write-back through a temporary file.
// internal/mount serves it to the kernel with go-fuse; a WebDAV or HTTP
// front could serve the same VFS.
//
// # Nodes and inode numbers
//
// A Node is one file or directory. Its inode number is stable for the
// object's identity: Entry.ID when the backend gives one (MEGA's handle),
// else the path. A file rewritten through the VFS keeps its number even
// when the backend stores the new content as a new object (MEGA). Nodes
// are kept for the life of the VFS, so a number is never reused for
// another object.
//
// # Listings and outside changes
//
// A directory's listing is cached for Options.DirCacheTime (5 minutes by
// default). When the backend is a backend.ChangeNotifier the VFS watches
// it: a change makes the named directories (every directory, for MEGA's
// nil) stale, and the VFS lists again the directories it had cached and
// reports each name that appeared, vanished or changed through the
// callback set with OnChange, so a FUSE layer can drop the kernel's
// entries and pages.
//
// # Duplicate names
//
// A backend with DuplicateNamer (MEGA) may hold several objects with one
// name in a folder. All of them are visible: ordered by ID, the first
// keeps the name and the others are shown as "name (2).ext", "name
// (3).ext", ... (the suffix goes before the last extension; a suffixed
// name already taken by a real entry moves on to the next number). A
// suffixed name maps back to its own object: reads open it by ID
// (backend.OpenEntry), unlink uses RemoveEntry and a rename within the
// folder RenameEntry. Writing to, or moving to another folder, one of
// several same-named objects is refused with errors.ErrUnsupported (a
// path would not say which object is meant). While a file is being
// written through the VFS its name shadows a listed object of the same
// name, so the new object the upload creates is not shown twice.
//
// # Reads
//
// A handle reads through the block cache (Options.CacheMaxSize; negative
// turns it off, and reads then go straight to the backend as one
// sequential stream per handle or exact ranged Opens, serialised per
// handle). Reads of one handle run in parallel: each waits only for the
// fetches that hold its bytes.
//
// The cache keeps, per object, a sparse data file in a private
// "blocks-*" directory of the backend's cache dir (see "The journal"),
// named by a hash of the object's identity: Entry.ID (the path without
// one), size and mtime, so a changed object never reuses old bytes. Beside
// it, in memory, are the byte ranges present and, when the backend is a
// backend.ChunkVerifier (MEGA), the MAC of every chunk present whole. The
// cache does not survive the VFS: New removes the blocks-* directories of
// VFSs that are gone, and Close its own. Beyond CacheMaxSize (1 GiB by
// default) the least recently used objects go, never one that is open;
// an open object may take the cache past its bound until it is closed.
//
// A read takes what the cache has and fetches the rest with ranged Opens
// of the missing parts, rounded out to 4 KiB, so a random 4 KiB read
// fetches 4 or 8 KiB. A read that continues near where the last ones
// ended (within the window or 8 reads of its size: the kernel sends
// sequential reads of up to 1 MiB a few at a time, out of order) is
// sequential once the one before it was too, or when it starts at 0: it
// fetches the whole chunks it touches and starts read-ahead past them,
// in a window that starts at 128 KiB and doubles per sequential read up
// to 32 MiB, as pieces of whole chunks (up to 8 MiB each, 4 in flight
// per file). A random read resets the window.
//
// With a ChunkVerifier backend, the whole chunks a sequential read or
// read-ahead fetches are not written to the data file: they are MACed
// and kept in memory until read whole (or pushed out by the bound
// below), and are then no longer in the cache, so reading a file start
// to end costs no disk writes, and reading it again fetches it again.
// Their MACs stay, so the file's check counts them.
//
// MAC checks (ChunkVerifier backends): when a fetch completes a chunk,
// its MAC is computed (from the fetched bytes, or read back from the data
// file) and kept; once every chunk has one, they are checked against the
// file's MAC (MEGA's meta-MAC). A mismatch fails the read that completed
// the file with the backend's fatal error (the FUSE layer turns it into
// EIO), drops the object's data, and fails every later read of the object
// until its last handle closes, and every later read of a handle that
// met it. So a file read whole, in any order and partly from the
// cache or memory, is checked as a full download is. A chunk read
// back from the data file is checked against its MAC first; a mismatch
// (a corrupt cache file) drops the chunk and fetches it again, so bad
// bytes are never returned. Verified chunks fetched or read back stay in
// memory (up to 32 MiB per open file) so a sequential reader does not
// read them back and MAC them again. Bytes of a chunk the cache holds
// only in part cannot be checked, as no ranged read can.
//
// # Writes
//
// Opening a file for writing gives the node a write file: a file in the
// cache dir's write area shared by every write handle of the node. An
// existing file is fetched into it (a full, verified read) the first
// time its old content is needed, so an open followed by a truncation to
// zero (open with O_TRUNC) fetches nothing. Writes and truncations go to
// the write file; Flush (each close), Fsync and the last Release upload
// it with backend Put and the file's mtime, retrying transient failures
// (retry.IsRetryable) with Options.UploadRetry's backoff, and Flush and
// Fsync return the final error. With Options.WriteBack (WriteBackNow, or
// a delay; "ferry mount" uses WriteBackNow by default) Flush only
// journals the file and the last Release queues its upload in the
// background; Fsync still uploads and returns the error. A new file
// appears in its directory at Create, before the backend has it.
//
// # The journal
//
// The cache dir holds one directory per backend, named by the first 16
// hex digits of the SHA-256 of Backend.String() (BackendCacheDir), so
// mounts of different remotes never see each other's files. In it,
// "lock" is flocked by the VFS that owns "journal/", the write area; a
// second VFS of the same remote at the same time writes in a private
// "write-*" directory (with its own lock) and replays nothing.
//
// A write file is NAME.data in the write area from its creation. Before
// each upload attempt sequence the data is fsynced and NAME.json is
// written beside it atomically (NAME.json.tmp, fsync, rename, fsync of
// the directory):
//
//	{"version":1, "backend":"m:", "root":"photos", "path":"a/b.jpg",
//	 "size":1234, "mtime":"2024-01-02T03:04:05.123456789Z",
//	 "replaces":"<Entry.ID of the object the upload replaces; omitted for a new file>"}
//
// backend is Backend.String() of the remote, root the VFS's Options.Root
// and path the file relative to root (it goes to backend path root/path).
// The record goes once an upload succeeded, and the data at the last
// Release after that. When the release-time upload fails after its
// retries, both stay (logged at error level with the path): nothing
// flushed is deleted until the backend has it. Close removes only data
// without a record (files never flushed, so never closed).
//
// A file whose release-time upload failed stays in the tree as written
// (listings, reads and a new open see its data) and the VFS tries it
// again in the background: Options.RetryFailed (30 s) after the failure,
// the wait doubling after each round with a failure up to 8 times that,
// and at once when any upload succeeds (the backend works again). Sync
// makes one more attempt at once; a mount calls it before Close. What
// still fails stays journalled for the next VFS.
//
// Unlink and rename keep the journal true to the tree. Removing a file
// drops its record (and the upload it waited for), so a deleted file
// never comes back; renaming one rewrites its record with the new path,
// so its upload lands under the new name, and a file replaced by a
// rename loses its record. Both wait for an upload of the file that is
// running. The same holds for records of an earlier VFS not replayed yet
// (a rename of a folder retargets those inside it; removing a folder
// drops them), and a folder holding a file whose upload is still to
// come is not empty for rmdir.
//
// New scans journal/ and the write-* directories whose lock is free (VFSs
// that ended), drops data without a record and half-written records,
// keeps records of another backend string (logged, never replayed), and
// replays the rest in the background with the same retries. For each
// record it stats the destination root/path and
//
//   - uploads NAME.data (as it is on disk; a size unlike the record's is
//     logged: writes after the last flush) with the record's mtime when
//     the path is missing or is still the object "replaces" names;
//   - otherwise skips it when the destination's mtime, at the backend's
//     precision, is after the journalled one ("the destination is
//     newer": another client or this mount wrote it since), or when size
//     and mtime already match (the upload finished before the crash);
//   - skips it when this VFS is writing the path again;
//   - else uploads it.
//
// A skip is logged and drops the record and data; a failed replay keeps
// them, and the background retries above try it again (the next VFS
// does, if this one ends first). A replayed file is seen at the next
// listing of its directory.
package vfs
