// Package repo is ferry backup's repository: an encrypted,
// content-addressed store of blobs on any backend.Backend, with snapshots
// that name a root tree. docs/repository.md describes the format for
// someone writing a compatible reader; this comment describes the Go API.
//
// # Objects
//
// A repository is a directory of objects on a backend:
//
//	config            the repository's ID, chunker bounds, pack size, compression (encrypted)
//	keys/<id>         the master keys, wrapped with a password by Argon2id (JSON)
//	data/<xx>/<id>    packs of data blobs (file content)
//	tree/<xx>/<id>    packs of tree blobs (directory listings)
//	index/<id>        which blobs each pack holds (encrypted)
//	snapshots/<id>    one backup run each (encrypted)
//	deleted/<id>      prune marks: packs found dead (encrypted)
//
// Every object is written once and never changed; its name is the SHA-256
// of its content (keys and the config aside). So two processes writing to
// one repository at once never overwrite each other's objects and need no
// lock files.
//
// # Blobs
//
// A blob is a chunk of a file (DataBlob) or an encoded directory
// (TreeBlob), named by the HMAC-SHA256 of its plaintext under a key of the
// repository's (BlobID), so IDs say nothing about content to someone
// without the password. SaveBlob stores a blob once: a second SaveBlob of
// the same plaintext and type stores nothing. Blobs are sealed with
// AES-256-GCM and collected into packs of about Options.PackSize bytes,
// assembled in temporary files in Options.CacheDir and uploaded in the
// background. Flush uploads what is open and writes one index object for
// the packs written since the last Flush; a snapshot is saved after that.
//
// LoadBlob reads one blob back, checked by its GCM tag and its keyed ID.
// Readers that fetch many blobs (the restorer) use Lookup to learn where
// each is, read each pack range once with OpenPackRange, and decode the
// blobs in it with DecodeBlob.
//
// # The local cache
//
// With Options.CacheDir set, CacheDir/backup/<repository ID>/ keeps the
// config, the keys, the index, snapshot and mark objects and the tree
// packs exactly as stored, so a second Open, Snapshots and a walk of
// every tree read nothing from the backend but the listings.
//
// # Killed runs, checks and prune
//
// Open reads the header of every pack no index lists (a run killed
// before its Flush left it) and reuses its blobs; the next Flush indexes
// it. Listing every pack directory costs up to 512 listings, so with a
// local cache Open does it only the first time, after a run of the same
// cache that did not reach its Flush, or with Options.ScanPacks (prune
// and check want every pack); a pack another machine's killed run left is
// then only missed for dedup, never for correctness. Check verifies every object and pack header, and with
// CheckOptions.ReadData a fraction of the packs whole. Prune's policy
// lives in package backup; this package gives it the primitives: Packs,
// MarkDeleted and Marked (phase 1: SaveBlob never dedups against a blob
// whose only copies are in marked packs), Repack, DeletePacks and
// RemoveMark (phase 2).
//
// # Errors
//
// Open reports ErrNotFound where there is no repository and
// ErrWrongPassword where no key opens with the password; neither names a
// secret. Damaged objects and blobs give errors wrapping ErrCorrupt that
// name the object.
//
// # Concurrency
//
// A Repository is safe for concurrent use. Flush covers the SaveBlob
// calls that returned before it was called. An upload error is sticky: it
// is returned by every later SaveBlob, by Flush and by Close. Several
// Repository values, in one process or many, may write to one repository
// at once.
package repo
