// Package memory is an in-memory backend.Backend for tests: engine tests
// run over it, and it passes the conformance suite (backendtest) in both
// of its modes.
//
// Files live in a tree of maps in the process's memory; Put reads the
// whole stream before storing it. Any name the contract allows can be
// stored. Backends from New and NewWithOptions each have their own private
// store. Type.New shares a store between backends built with the same
// "store" option, so that a test can write through one remote and read
// through another.
//
// # Unique names (Backend)
//
// New and NewWithOptions return a *Backend: names are unique within a
// directory, Put and Move replace what is at the path, and Entry.ID is
// always empty, as the contract asks of backends with unique names. It
// does not implement backend.DuplicateNamer, so engines never take the
// duplicate-name paths on it.
//
// # Duplicate names (DupBackend)
//
// NewDuplicates returns a *DupBackend, whose folders behave like MEGA's
// (package ferry/internal/backend/mega): a directory may hold several
// objects with one name, files and directories alike. Other MEGA clients
// make such names; here PutDuplicate and MkdirDuplicate do. Then:
//
//   - List returns every object, each with its own Entry.ID (unique in the
//     store, never reused), oldest first within a name. Listing a path
//     that names several directories merges their contents.
//   - Stat, Open, Remove, SetModTime and Move act on the newest object at
//     the path (the most recently created; a move or rename keeps an
//     object's age), Open, Remove and SetModTime on the newest file, Rmdir
//     on the newest directory. A path through several same-named
//     directories follows all of them; new objects go into the newest.
//   - Put stores the new file and then removes every other file at the
//     path, as the MEGA backend does after an upload (directories with the
//     name stay). Move onto a file replaces it the same way.
//   - OpenEntry, RemoveEntry and RenameEntry (backend.DuplicateNamer)
//     address the one object an entry's ID names, and fail with
//     fs.ErrNotExist once it is gone from the entry's path. RenameEntry
//     leaves other objects with the new name alone.
//
// DupBackend is a type of its own, not a flag on Backend, because
// capabilities are found by type assertion: engines check
// b.(backend.DuplicateNamer), and backend.OpenEntry opens by ID when it
// holds. A Backend that claimed the interface in both modes would send
// engines down the duplicate paths over a store that has none. Entries
// carry IDs only in this mode for the same reason: an ID means "names are
// not unique here".
//
// # Mtime precision
//
// Options.Precision truncates every stored mtime (time.Second for MEGA,
// which keeps whole seconds) and is what Precision reports. The zero value
// keeps nanoseconds, as New does.
package memory
