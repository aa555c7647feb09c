// Package vfs is a file system tree over a backend.Backend, with no FUSE
// in it: inodes, directory caches, open handles, ranged reads with
// read-ahead, and write-back through a temporary file. internal/mount
// serves it to the kernel with go-fuse; a WebDAV or HTTP front could serve
// the same VFS.
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
// A handle reads straight from the backend. Reads that continue where
// the last one ended are served from one stream per handle, opened from
// that offset to the end of the file and read ahead in a window that
// starts at 128 KiB and doubles per sequential refill up to 16 MiB. A
// read elsewhere closes the stream, resets the window and reads exactly
// the bytes asked for with a ranged Open (backend.ReaderAt). A file read
// from offset 0 to its end therefore goes through one full-length
// stream, which a verifying backend (MEGA's MAC) checks: a corrupt file
// fails the read that would deliver its last bytes, and the FUSE layer
// turns that fatal error into EIO.
//
// # Writes
//
// Opening a file for writing gives the node a write file: a temporary
// file in Options.CacheDir shared by every write handle of the node. An
// existing file is fetched into it (a full, verified read) the first
// time its old content is needed, so an open followed by a truncation to
// zero (open with O_TRUNC) fetches nothing. Writes and truncations go to
// the temporary file; Flush (each close), Fsync and the last Release
// upload it with backend Put and the file's mtime, and Flush and Fsync
// return the upload's error. A new file appears in its directory at
// Create, before the backend has it.
//
// Crash recovery and a block cache are not here yet. The write path is
// built so they fit: every write file is a named file in the cache dir,
// created by newWriteFile and uploaded only by writeFile.upload, so a
// journal is a small record written beside the temporary file when it
// becomes dirty (remote path, mtime, base object ID) and removed after
// upload succeeds, and a new VFS replays the records it finds. A block
// cache goes under reader.fill and Handle.ReadAt's ranged path, keyed by
// node identity and offset.
package vfs
