// Package mediafireserver is a persistent, multi-user stand-in for
// MediaFire's Core API (versions 1.3 to 1.5): the wire protocol ferry's
// MediaFire client, the official SDKs and duplicity's mf:// backend speak,
// served on loopback because the real service cannot be reached from
// tests. It is the minimal stand-in of §10 of the MediaFire protocol
// spec, with the strongly recommended extras; docs/mediafire-server.md
// describes it for operators.
//
//	srv, err := mediafireserver.Open(mediafireserver.Options{Dir: "/var/lib/ferry-mediafire"})
//	id, err := srv.AddUser(ctx, "alice@example.com", "password", mediafireserver.UserOptions{})
//	ln, err := net.Listen("tcp", "127.0.0.1:4431")
//	err = srv.Serve(ln) // or tls.NewListener(ln, cfg) with a TestCA's ServerConfig
//
// # Wire rules
//
// Calls are GET or POST to /api/<version>/<category>/<method>.php or
// /api/<category>/<method>.php; the parameters are the URL query merged
// with a urlencoded body (for upload/simple and upload/resumable the
// query alone: the body is file data). Every reply is one JSON object
// {"response": {...}} with Content-Type exactly "application/json",
// every scalar a string except the numeric "error", and
// current_api_version "1.5". Errors come with a non-200 status: 900 for
// 100; 403 for 104, 105, 107, 109, 127 and 215; 404 for 110, 112 and
// 253; 400 for the rest.
//
// # Sessions
//
// user/get_session_token checks the SHA-1 login signature (e-mail or
// ekey, password, application id and the application's API key if it
// has one) and returns a 144-character token; token_version=2 adds a
// secret key and a time string, and then every call must carry the MD5
// call signature over the parameter string exactly as received (or its
// percent-decoded form), from /api/ on. A call signed right runs, the key
// advances (key·16807 mod 2³¹−1) and the reply says new_key "yes"; no
// other reply says it (errors, v1 tokens, action-token uploads). Calls on
// one token are serialised. Sessions live in memory for
// Options.SessionTTL after their last use: after a restart every token
// answers 105.
//
// Action tokens (user/get_action_token) are accepted, unsigned, by
// upload/simple and upload/resumable only.
//
// # Methods
//
//	user/      get_session_token, renew_session_token, get_action_token,
//	           destroy_action_token, get_info
//	folder/    get_info, get_content (paged, name order), create, update,
//	           delete (to the trash), purge
//	file/      get_info, get_links, delete (to the trash), purge, move,
//	           update (rename, privacy, description)
//	upload/    check, instant, simple, resumable, poll_upload
//
// The root folder is "myfiles" (or no key); folder keys have 13
// characters, quickkeys 15 and upload keys 11. Comma-separated key lists
// are accepted by file/get_links, file/delete, file/purge, file/move,
// folder/delete and folder/purge. Unknown parameters are ignored;
// unknown methods answer 253. Not implemented: the path and filedrop_key
// upload targets, file versions, shares, XML replies.
//
// # Uploads
//
// Contents are stored once per SHA-256 (blobs/<hash>), shared by every
// file (of any user) with that content, which is what upload/check's
// hash_exists and upload/instant expose. Uploads finish at once:
// poll_upload answers status 99 on the first poll. Duplicate names follow
// action_on_duplicate: replace keeps the existing file's quickkey, keep
// takes "name(1).ext", skip (the default) reports fileerror 13. A body
// whose size or hash differs from its headers is fileerror 7.
//
// Resumable uploads are keyed by (user, folder, hash, size); upload/check
// with resumable=yes opens one and records the file name (PYSDK sends no
// X-Filename with units). The unit size and bitmap are those of §6.3
// of the protocol spec. Units are checked against X-Unit-Hash and
// X-Unit-Size (-90, -43), written at their offsets into one data file
// kept on disk, and a session survives restarts: a client resumes by
// sending what the bitmap lacks. The whole file's hash is computed as the
// units arrive (over those in order from the first), so the last unit
// finds it nearly done; the data file then becomes the stored content by
// a rename, and poll_upload answers status 99 at once.
//
// # Downloads
//
// file/get_links gives direct links /download/<token>/<quickkey>/<name>
// on the listener that answered, https on a TLS listener. The token is an
// HMAC of the quickkey and content hash, so a link ends when its file is
// deleted or replaced (404). Range requests are served.
//
// # Faults
//
// Faults (ParseFaults, SetFaults) reproduce the failures seen in the
// field, per method and by probability or count: lost replies after the
// key rotated, HTML 500 pages, error 100 over HTTP 900, 105 expiry, 163
// rate limits, slow replies, truncated or corrupted downloads, poll
// status 17 and fileerror 7. See FaultKind.
//
// # On-disk layout
//
// meta.db is a bbolt file holding users (with their passwords in the
// clear: the login signature is a hash over the password, so the server
// must know it), folders, files with an index by folder and name (the
// listing order), blob reference counts, upload results and resumable
// sessions; each change is one fsynced transaction. blobs/
// holds the contents by SHA-256, units/<upload key>/ the units of
// unfinished resumable uploads, tmp/ files being received. A blob is
// written and synced before the transaction that references it commits,
// so a crash (kill -9) leaves at most an unreferenced blob or temporary
// file, which Open removes.
package mediafireserver
