// Package mediafire is the storage backend over MediaFire's Core API
// (package ferry/mediafire, imported as mfclient), rooted at a folder of
// the account.
//
// # Paths and names
//
// Folders are found by name from the account's root and their keys
// cached per path; a key the server no longer knows drops the cache. A
// file is found by listing its folder. Names the contract allows but the
// service cannot hold are encoded reversibly (names.go): invalid UTF-8
// with the code of package backend/encoding, as the mega backend does,
// and "\", "." and ".." by look-alikes ('＼', '．'), with the quote rune
// marking look-alikes that were there before. A name with leading or
// trailing blanks, which no X-Filename header can carry, is uploaded
// under a temporary name and renamed (see mfclient.Client.Upload).
//
// # Duplicate names
//
// MediaFire lets several files in a folder share a name (a rename or move
// onto a taken name, uploads with action_on_duplicate=keep). List shows
// each with its quickkey as Entry.ID, and the backend implements
// backend.DuplicateNamer, so `ferry dedupe` can find and resolve them.
// Paths that name several files open, replace and remove the newest.
//
// # Modification times
//
// The service records a file's creation time but lists no modification
// time. The backend keeps the mtime a Put or SetModTime gives in the
// file's description, as "ferry-mtime:<RFC 3339 time>", at nanosecond
// precision, and shows the creation time (second precision) for files
// that carry none. A server that lists an "mtime" field is believed
// first. Folders show their creation time.
//
// # Uploads and downloads
//
// Put copies its source to a temporary file (so the content's SHA-256
// is known before the upload starts, as upload/check needs it, and the
// source is read exactly once), then uploads it with
// action_on_duplicate=replace, which swaps content in place. Reads of a
// whole file are verified against its SHA-256; see mfclient.Client.Open.
package mediafire
