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
// The wire protocol is described in docs/mega-protocol.md; section numbers
// below refer to it. docs/mega-server.md describes this server for operators.
//
//	srv, err := megaserver.Open(megaserver.Options{Dir: "/var/lib/ferry-mega"})
//	handle, err := srv.AddUser(ctx, account, megaserver.UserOptions{})
//	ln, err := net.Listen("tcp", ":8080")
//	err = srv.Serve(ln) // with the connection limits and timeouts of Options.Limits
//
// # Protocol coverage
//
//	Endpoint / command        Notes
//	POST /cs                  batches; one result per command; whole-request errors as bare numbers;
//	                          `//` collapsed; replay by (sid, id) (§1.6); bad sid -15 (ignored
//	                          on a request of only us0/us logins); n=<public handle>: a
//	                          read-only folder-link context (below) that wins over sid
//	us0                       {v:2,s} or {v:1}; unknown e-mail -9
//	us                        v1 and v2; csid (RSA) or tsid (no keys); sek echoed; 2FA -26;
//	                          without user/uh: SDK session resume {u,k,privk}; login limit -16
//	sml                       invalidates the session
//	ug, up, uq                user info (ts as string); store a missing key pair (-12 if present);
//	                          quota with cstrgn per root
//	f                         whole tree, parents first, streamed from one read transaction;
//	                          ok (the user's shared folders {h,k,ha}), s:[], u:[], sn, ph
//	p                         folders; files from completion tokens (verbatim or base64);
//	                          SDK placeholders (`p` on entries); k = owner ":" key; cr adds
//	                          share keys (nodes named by their `h`, or by index into n);
//	                          emits t
//	m                         -10 into own subtree, -2 into a file, -11 roots; cr adds share
//	                          keys to the moved subtree; emits d(m:1)+t
//	a                         `at` or go-mega's `attr`; emits u
//	d, dr                     permanent subtree delete, empty rubbish bin; emits d
//	l                         public handle (the same if exported), d:1 removes; ets sets an
//	                          expiry (0 clears it), past it -8; emits ph
//	s2                        share a folder with "EXP" only (folder link prerequisite): stores
//	                          ok/ha on the folder, cr adds "/<folder>:<key>" to subtree k
//	                          strings; -9 missing/foreign folder or cr node outside the
//	                          subtree, -11 roots, -2 a file or bad arguments, -12 shared
//	                          with another ok (same ok: accepted again); without r: removes
//	                          the share and its k entries (-9 if none); emits s2
//	u                         upload slot; v>=2: 36-byte binary token ending 0x01, else 36 chars;
//	                          -6 only when all of the user's slots are receiving data
//	g                         by n (own node, or a file of the folder link) or p (public
//	                          handle, no session); {s,at[,g]}; -8 past the link's expiry
//	POST /ul/<tok>/<off>      whole chunks, any order, parallel, several per POST; ?c= / ?d=
//	                          checksums (-14); -7 out of range or off chunk boundaries
//	GET|POST /dl/<tok>[/a-b]  inclusive range; Range header on the bare URL (206); 416
//	GET|POST /sc              packets since sn, or a wait URL; -6 sn too old, -15 bad sid;
//	                          with n=: a wait URL, or -6 once the owner's account changed
//	GET|POST /wsc/<id>        blocks until the tree changes or WaitTimeout, then 0;
//	                          /wsc?sn=&sid= (SDK) blocks, then answers like sc
//
// Not implemented: shares with users (s2 other than "EXP"), inbound
// shares, file attributes (ufa, pfa), file versions, contacts and chats,
// the SDK's v=3 sequence tags and CloudRAID, transfer quota. Unknown
// commands answer -2.
//
// # Folder links
//
// A request with n=<public handle> runs in a read-only context of the
// exported folder (a public handle from `l` on a folder with an "EXP"
// share from `s2`); a sid sent with it is ignored. `f` answers the
// folder's subtree, the folder first and without its parent, each `k` cut
// to "<folder>:<key under the share key>" (omitted for a node that has no
// such entry: one put or moved in without `cr`); `g` by node handle serves
// files of the subtree (and by `p` public file links); every other command
// answers -11. A handle that is unknown, not a folder, not shared, or in
// the rubbish bin answers -9, an expired link -8, checked in each
// command's transaction, so `l` d:1, removing the share, trashing or
// deleting the folder close the context for the next command. Download
// URLs from a link carry its public handle and stop working with it. Tree
// walks are limited per public handle as they are per user.
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
// Open removes tmp/ leftovers and blobs no node references. Upload slots
// live in memory: after a restart (or UploadIdleTTL without data) their
// URLs answer -8 and clients start the upload again. Download and wait URLs
// are stateless (MACed with a key kept in meta.db) and survive restarts, as
// do sessions.
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
// Public links give read access to one file through `g` with `p`, folder
// links read access to one subtree.
//
// # Limits
//
// Options.Limits (DefaultLimits; `ferry serve mega` flags) bound what one
// client can cost, so that a slow, silent or greedy client costs a bounded
// amount and the others are still served:
//
//	connections    Serve: at most MaxConnsPerIP (256) per remote IP, beyond it closed at once;
//	               at MaxConns (4096, at most 3/4 of RLIMIT_NOFILE) a newcomer evicts the
//	               oldest connection of the address holding the most, if that holds more
//	               than the newcomer's, else the newcomer is closed
//	headers        Serve: ReadHeaderTimeout (10s); keep-alive IdleTimeout (60s)
//	bodies         each Read within BodyTimeout (20s) of the last, and MinBodyRate (1 KiB/s)
//	               on average after the first BodyTimeout; a body cut there gets 408
//	replies        a write may stall WriteTimeout (60s); the deadline moves as data leaves,
//	               so a long download at any ordinary speed is never cut
//	oversize       a /cs body over MaxRequestBytes answers -2, a /ul body beyond its slot
//	               -7 (both HTTP 200); the rest of the body (up to 64 MiB) is read and
//	               dropped so the client reads the reply, not a reset
//	batches        MaxBatchCommands (1000) per request, else -2 for the whole request
//	tree walks     one per request (`f`, or `uq` when the tree changed since its cached
//	               numbers), MaxTreeWalksPerUser (2) at once per user; beyond: -3 (EAGAIN),
//	               which go-mega and ferry retry
//	upload slots   dropped after UploadIdleTTL (10m) without a data POST (one in progress
//	               keeps it), as are finished uploads no `p` claimed; at MaxUploadsPerUser
//	               (1000) `u` recycles the longest-idle slot and answers -6 only when every
//	               slot is receiving data
//
// The body, reply, batch, walk and slot limits hold for the Server as a
// plain http.Handler too; the connection limits and header and idle
// timeouts need Serve.
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
// eagain, http500, drop and slow with a prefix hit one endpoint only:
// "cs." the commands, "ul." the chunk POSTs (errors are a negative number in
// the body with HTTP 200, §5.4), "dl." the downloads (dl.eagain is refused:
// downloads answer HTTP statuses). Unprefixed they hit every endpoint; with
// both, the two are drawn independently. For example
// "eagain=0.05,http500=0.02,drop=0.01,slow=0.01,logins=20/min", or
// "cs.eagain=0.2" to exercise API retries without chunk errors.
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
