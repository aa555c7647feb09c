// Package mega is ferry's MEGA backend: it adapts the MEGA client
// (package ferry/mega, imported as megaclient) to the storage contract in
// ferry/internal/backend.
//
// # One login per remote
//
// MEGA blocks accounts that log in over and over, so a remote logs in once
// and then reuses its session in every later command. The session and the
// node tree, with the sequence number it is current to, are kept in
// Env.CacheDir/session.bin, encrypted with a key derived from the remote's
// password and cache_key (a random secret `ferry config` generates; without
// one, Argon2id of the password) and bound to its e-mail and API URL (see
// cache.go for the format). New resumes that session (one cheap `ug` call, no login),
// imports the tree and applies the server's action packets since the cached
// sequence number, instead of a login and a full tree fetch. It logs in
// only when there is no usable cache or the server says the session is
// dead, and then saves the new session at once. Close saves the tree again
// so the next command starts where this one ended. An advisory lock file
// (session.lock) makes concurrent processes of one remote wait for a
// single login instead of each logging in. Type.Reconnect drops the cache
// and logs in afresh, asking for a two-factor PIN through Env.Prompt.
//
// # Paths and duplicates
//
// The backend root is a folder path inside the Cloud Drive, created on
// demand by Mkdir and Put. MEGA allows several nodes with one name in a
// folder: List returns each (Entry.ID is the node handle), Stat, Open,
// Remove and the other path-based methods act on the newest, and the
// DuplicateNamer methods address a single node by its ID.
//
// # Names
//
// MEGA's node names are UTF-8 strings that may hold "/" and NUL or be "."
// or "..": other clients make such names, and a path string cannot reach
// them. Contract names may be invalid UTF-8 (local file names) but cannot
// hold "/" and are never "." or "..". The backend maps between the two
// with the bijective code of package ferry/internal/backend/encoding:
// an invalid byte is stored as ‛ and two hex digits (c\xff.txt as
// c‛FF.txt, rclone's form), and a MEGA name shows "/" as '／', NUL as '␀',
// "." as "．" and ".." as "．．"; a name that already holds one of those
// look-alikes or ‛ is quoted with more ‛, so no two names meet. Every
// name going to MEGA (Put, Mkdir, Move, RenameEntry) is encoded, every
// path is looked up name by name (megaclient.LookupNames), and every
// listed name is decoded, so a round trip gives the original bytes and a
// name from another client is copied back as it was. Names that need
// none of this, nearly all, cost one scan and no allocation. Only nodes
// whose attributes do not decrypt (or with an empty name) are not
// listed.
//
// # Reads and writes
//
// Whole-file reads are verified against the file's MAC (the reader's last
// Read fails with megacrypto.ErrMAC on a mismatch); ranged reads are
// streamed in pieces and cannot be verified. Put uploads the new file
// first and removes the old one only after the new node exists, so a
// failed or cancelled Put leaves the old content in place. Removed files go
// to the rubbish bin unless the remote sets hard_delete.
package mega
