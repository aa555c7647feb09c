// Package interop holds ferry's cross-client and failure tests of the MEGA
// stack. It has no non-test code: everything is in its _test.go files, which
// run real parts only (ferry's client and server, and go-mega, the independent
// MEGA client rclone uses) over HTTP on 127.0.0.1.
//
// # Tests
//
//   - TestGoMegaInterop: go-mega and ferry's client work on the same v1 and v2
//     accounts of a megaservertest server. Every change go-mega makes (mkdir,
//     upload, rename, move, trash, delete, link) reaches a second ferry
//     session through action packets, and every change ferry makes reaches
//     go-mega's event loop. Files cross in both directions at sizes around
//     MEGA's chunk boundaries and are MAC-verified by the other client.
//     Public links made by either client name the same handle and key, and
//     the key in the link decrypts and verifies the file.
//   - TestFaultsMixedOperations: 200 random operations of ferry's client
//     against a server that answers EAGAIN, HTTP 500, drops connections and
//     stalls; the tree and every byte must match a model kept by the test,
//     checked again from a fresh session on a fault-free restart.
//   - TestTruncatedZeroReplyIsRetried and TestPollAfterOwnMoves: deterministic
//     regressions of two client bugs the fault test found: a `[0]` reply
//     cut after `[` must be retried, and a Poll that replays the client's
//     own moves must return.
//   - TestFlippedByteMAC: one flipped ciphertext byte on the server's disk
//     fails a full download with megacrypto.ErrMAC, while ranged reads away
//     from the byte still work.
//   - TestWrongPasswordAndBlocked: distinct errors and messages for a wrong
//     password (mega.ErrWrongPassword) and a login-rate block (mega.ErrBlocked).
//   - TestKill9DuringParallelUploads: the server runs in a child process that
//     is killed with SIGKILL during parallel uploads, then restarted on the
//     same data directory: every upload that returned a node is there byte
//     for byte, and nothing half-made is.
//
// go-mega has a data race of its own: its event goroutine rewrites node keys
// without a lock while DownloadFile reads them. The go-mega tests wait for
// go-mega's event loop to go idle after each change (settle) so they stay
// clean under the race detector; see gomega_test.go.
//
// Run with:
//
//	go test ./internal/interop/
//	go test -race ./internal/interop/
package interop
