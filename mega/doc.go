// Package mega is a client for MEGA's end-to-end encrypted cloud storage:
// login (v1 and v2 accounts, two-factor PINs, hashcash challenges),
// session export and resume, the node tree kept current with action
// packets, folder and file mutations, public links, and streaming,
// parallel uploads and downloads.
//
// The wire protocol is described in docs/mega-protocol.md; wire
// types live in package megaapi and all cryptography in megacrypto.
//
// # Usage
//
//	c := mega.New(mega.Options{})
//	if err := c.Login(ctx, email, password, mega.LoginOptions{}); err != nil { ... }
//	if err := c.FetchTree(ctx); err != nil { ... }
//	dir, err := c.Mkdir(ctx, c.Root(), "photos")
//	n, err := c.Upload(ctx, dir, "cat.jpg", f, size, mtime)
//	err = c.Download(ctx, n, w)
//
// # Sessions
//
// Login costs a password derivation and, on MEGA, is rate limited: log in
// once, save Client.Session (encrypted: it holds the session id and the
// master key) and call Resume in later runs. Logout ends the session.
//
// # The tree
//
// FetchTree loads every node once (decoding the reply as a stream). Nodes
// are immutable snapshots; mutations update the local tree as soon as the
// server accepts them, and Poll or Watch apply the server's action packets
// (changes made by other clients, and echoes of our own). ExportTree and
// ImportTree persist the tree with its sequence number so a later run can
// Poll from there instead of fetching everything again. Nodes whose key or
// attributes cannot be decrypted stay in the tree with Node.Err set.
//
// # Transfers
//
// Upload encrypts while it reads: keys come from crypto/rand, chunk MACs
// and AES-CTR run on every core, several POSTs are in flight, and at most
// Options.MemoryBudget bytes of buffers are held per transfer. Download
// fetches ranges in parallel and verifies the file's MAC at the end; a
// mismatch is reported as megacrypto.ErrMAC after the data was written, so
// treat the output as untrusted until Download returns nil. NewReader
// offers the same as an io.ReadCloser whose last Read reports the MAC
// error. Open returns a File, an io.ReaderAt for random access that fetches
// exactly the requested bytes (such partial reads cannot be verified).
//
// # Errors and retries
//
// Transient failures (EAGAIN, rate limits, HTTP 5xx, dropped connections)
// are retried with exponential backoff (Options.Retry); a retried command
// reuses its request id so the server does not execute it twice. Errors
// wrap sentinels of this package (ErrWrongPassword, ErrSessionExpired, ...)
// and *megaapi.Error, and name the operation.
//
// # Concurrency
//
// A Client is safe for concurrent use. Every method that does I/O takes a
// context and keeps no reference to it after returning.
package mega
