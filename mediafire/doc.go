// Package mediafire is a client of MediaFire's Core API: login with
// signed version 2 session tokens, folders, files, uploads and verified
// downloads. It is an importable library; ferry's mediafire backend is
// built on it.
//
// # Sessions
//
// A Client holds a small pool of sessions (Options.Sessions, 2 by
// default, at most 3), each logged in on first use. Every call is signed
// with its session's secret key, and the key advances after each reply
// that says so, so the calls of one session are strictly serialised: one
// in flight, the next signed only after the previous reply has been read.
// A reply that never arrives (a dropped connection, a proxy's HTML error
// page, a body that is not JSON) may have rotated the key on the server;
// the client then throws that session away, logs in again and repeats the
// call once, as it does on errors 105 (token expired) and 127 (signature
// invalid). A caller therefore never sees 127 because a reply was lost.
// A session's login happens while its holder has it, so concurrent
// failures cause one login per session, not one per caller. An account
// that allows fewer live tokens than the pool holds ends older sessions
// when another logs in (105); a session ended that way is retired, so
// the pool shrinks to what the account allows.
//
// Uploads of file bytes (upload/simple and upload/resumable) use an
// action token instead, which needs no signature, so several run at once
// while the session keeps its calls in order. Downloads are plain GETs of
// direct links.
//
// # Errors and retries
//
// Error replies are *mfapi.Error values; failed uploads are
// *mfapi.UploadError. Both say whether they are worth retrying
// (Retryable) and whether the user must act (Fatal), and internal/retry
// asks them. Calls are retried with exponential backoff and jitter on the
// retryable codes (100, 163, 169, 208), HTTP 5xx and transport failures,
// never on the fatal ones (wrong credentials, a locked account, a full
// account). Calls that a lost reply may have completed are made so that
// repeating them is harmless: deletes count "already gone" as success on
// a repeat, folders are created with action_on_duplicate=skip, and an
// upload starts over from upload/check, which reports what already
// arrived.
//
// # Secrets
//
// The password, session and action tokens, secret key and signatures
// never appear in logs or error strings.
//
// # Downloads
//
// Open streams a file and verifies its SHA-256 (or a legacy MD5) as it
// reads. The reader checks the stream's end and the hash before it
// returns the last bytes, so a consumer that stops after exactly the
// file's size still gets the mismatch error, never unverified data.
package mediafire
