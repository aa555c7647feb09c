// Package megaserver is a persistent, multi-user server for MEGA's
// end-to-end-encrypted storage API. It is ferry's offline default and the
// real peer of its tests, and independent MEGA clients (go-mega and so
// rclone, megajs) work against it unchanged.
//
// The server never sees a password, master key or file key: accounts are
// created from the values a client derives at signup (megacrypto.Account),
// and nodes, attributes and file contents are stored as the encrypted bytes
// the clients send. It checks only what it can check without keys: sizes,
// encodings and ownership.
//
// The wire protocol is specified in ../shared/docs/mega-protocol.md; section
// numbers below refer to it.
//
//	srv, err := megaserver.Open(megaserver.Options{Dir: "/var/lib/ferry-mega"})
//	handle, err := srv.AddUser(ctx, account, megaserver.UserOptions{})
//	http.ListenAndServe(":8080", srv)
//
// # Protocol coverage
//
//	Endpoint / command        Notes
//	POST /cs                  batches; one result per command; whole-request errors as bare numbers;
//	                          `//` collapsed; replay by (sid, id) (§1.6); bad sid -15 (ignored
//	                          on a request of only us0/us logins)
//	us0                       {v:2,s} or {v:1}; unknown e-mail -9
//	us                        v1 and v2; csid (RSA) or tsid (no keys); sek echoed; 2FA -26;
//	                          without user/uh: SDK session resume {u,k,privk}; login limit -16
//	sml                       invalidates the session
//	ug, up, uq                user info (ts as string); store a missing key pair (-12 if present);
//	                          quota with cstrgn per root
//	f                         whole tree, parents first, streamed from one read transaction;
//	                          ok (the user's shared folders {h,k,ha}), s:[], u:[], sn, ph
//	p                         folders; files from completion tokens (verbatim or base64);
//	                          SDK placeholders (`p` on entries); k = owner ":" key; emits t
//	m                         -10 into own subtree, -2 into a file, -11 roots; emits d(m:1)+t
//	a                         `at` or go-mega's `attr`; emits u
//	d, dr                     permanent subtree delete, empty rubbish bin; emits d
//	l                         public handle (the same if exported), d:1 removes; emits ph
//	s2                        share a folder with "EXP" only (folder link prerequisite): stores
//	                          ok/ha on the folder, cr adds "/<folder>:<key>" to subtree k
//	                          strings; -9 missing/foreign folder or cr node outside the
//	                          subtree, -11 roots, -2 a file or bad arguments, -12 shared
//	                          with another ok (same ok: accepted again); emits s2
//	u                         upload slot; v>=2: 36-byte binary token ending 0x01, else 36 chars
//	g                         by n (own node) or p (public handle, no session); {s,at[,g]}
//	POST /ul/<tok>/<off>      whole chunks, any order, parallel, several per POST; ?c= / ?d=
//	                          checksums (-14); -7 out of range or off chunk boundaries
//	GET|POST /dl/<tok>[/a-b]  inclusive range; Range header on the bare URL (206); 416
//	GET|POST /sc              packets since sn, or a wait URL; -6 sn too old, -15 bad sid
//	GET|POST /wsc/<id>        blocks until the tree changes or WaitTimeout, then 0;
//	                          /wsc?sn=&sid= (SDK) blocks, then answers like sc
//
// Not implemented: shares with users (s2 other than "EXP", share removal,
// `cr` on p and m), inbound shares, folder links (`n=` on /cs),
// file attributes (ufa, pfa), file versions, contacts and chats, the SDK's
// v=3 sequence tags and CloudRAID, transfer quota. Unknown commands answer
// -2.
//
// # Storage and crash safety
//
// Everything lives under Options.Dir:
//
//	meta.db     bbolt: users, e-mails, nodes (with their "EXP" share keys),
//	            children, blob references, public links, sessions (keyed by SHA-256 of the sid), the event
//	            journal per user and per-command replay records
//	blobs/<id>  one file per file node: the ciphertext as uploaded
//	tmp/        uploads in progress
//
// A completed upload is fsynced, renamed into blobs/ and the directory
// fsynced before its completion token is answered; its node, the quota, the
// event journal entry and the replay record are then written in one bbolt
// transaction. So after a crash (kill -9 at any moment) every `p` that
// returned is there with its bytes, and no node exists without its blob.
// Open removes tmp/ leftovers and blobs no node references. Upload slots live
// in memory: after a restart their URLs answer -8 and clients start the
// upload again. Download and wait URLs are stateless (MACed with a key kept
// in meta.db) and survive restarts, as do sessions.
//
// Only one process can open a directory; a second one fails with "data
// directory DIR is in use by another ferry server".
//
// # Idempotence
//
// Clients resend a request with the same `id` when a reply is lost. Recent
// replies are cached in memory by (session, id, body); in addition every
// state-changing command stores its result in the same transaction as the
// change, so a retry after a restart returns the original result and never
// creates a second node. HTTP 402 (hashcash) and whole-request errors are
// never cached.
//
// # Event channel
//
// Every change to a user's tree increments that user's counter; the packets
// of the change are stored under the new value (the last 10000 changes per
// user). sn = b64(LE64(counter)). Packets carry `i` (the command's tag) and
// `ou`; a move is d(m:1) followed by t with the subtree, in one batch.
//
// # Isolation
//
// Every node belongs to one user. A node handle, upload URL, completion
// token or download URL of another user never reads or changes that user's
// nodes: other users' nodes answer -9 (as if absent), root nodes -11.
// Public links give read access to one file through `g` with `p`.
//
// # Fault injection
//
// Options.Faults (ParseFaults syntax, for `ferry serve mega --faults`):
//
//	eagain=P     /cs: whole-request -3 before executing; /ul: body -3, nothing stored
//	http500=P    /cs, /ul, /dl: HTTP 500 before doing anything
//	drop=P       /cs: execute, send half the reply, close the connection (the replay
//	             cache makes the client's retry safe); /ul: read half the body, close,
//	             store nothing; /dl: send half the bytes, close
//	slow=P       /cs, /ul, /dl: sleep slowdelay first
//	slowdelay=D  default 2s
//	logins=N/min per-account login limit; beyond it `us` answers -16 (EBLOCKED)
//	seed=N       repeatable fault sequence
//
// For example "eagain=0.05,http500=0.02,drop=0.01,slow=0.01,logins=20/min".
// Probabilities are per request. Server.Logins counts login attempts per
// account so tests can check that a client resumes sessions.
//
// # Hashcash
//
// With Options.HashcashEasiness > 0 every password login is answered HTTP
// 402 with `X-Hashcash: 1:<e>:<ts>:<token>` until the client resends it with
// `X-Hashcash: 1:<token>:<nonce>` for a token this server issued, not used
// before, and a valid proof (§1.5).
package megaserver
