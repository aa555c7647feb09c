package megaapi

import "encoding/json"

// Node types (field `t`).
const (
	TypeFile    = 0
	TypeFolder  = 1
	TypeRoot    = 2 // "Cloud Drive"
	TypeInbox   = 3 // "Vault"
	TypeRubbish = 4 // rubbish bin
)

// Node is a node as it appears in `f` and `p` replies and `t` packets.
type Node struct {
	Handle string `json:"h"`
	Parent string `json:"p,omitempty"`
	Owner  string `json:"u"`
	Type   int    `json:"t"`
	Attr   string `json:"a,omitempty"`
	Key    string `json:"k,omitempty"` // "<owner>:<b64 wrapped key>[/<share>:<key>...]"
	Size   int64  `json:"s"`
	TS     int64  `json:"ts"`
	FA     string `json:"fa,omitempty"`
}

// Command is the common head of every command object: its name.
type Command struct {
	A string `json:"a"`
}

// PreloginRequest is `us0`.
type PreloginRequest struct {
	A    string `json:"a"` // "us0"
	User string `json:"user"`
}

// PreloginReply answers `us0`: v=1, or v=2 with the salt.
type PreloginReply struct {
	V    int    `json:"v"`
	Salt string `json:"s,omitempty"`
}

// LoginRequest is `us`. Without User and UH it resumes the URL's session
// (SDK style).
type LoginRequest struct {
	A    string `json:"a"` // "us"
	User string `json:"user,omitempty"`
	UH   string `json:"uh,omitempty"`
	Sek  string `json:"sek,omitempty"`
	MFA  string `json:"mfa,omitempty"`
	SI   string `json:"si,omitempty"`
}

// LoginReply answers `us`.
type LoginReply struct {
	Key   string `json:"k"`
	Privk string `json:"privk,omitempty"`
	CSID  string `json:"csid,omitempty"`
	TSID  string `json:"tsid,omitempty"`
	User  string `json:"u"`
	Ach   int    `json:"ach,omitempty"`
	Sek   string `json:"sek,omitempty"`
}

// UserRequest is `ug`.
type UserRequest struct {
	A string `json:"a"` // "ug"
}

// UserReply answers `ug`. go-mega types S and C as int and TS as string.
type UserReply struct {
	User  string `json:"u"`
	Email string `json:"email"`
	Name  string `json:"name"`
	Key   string `json:"k"`
	Privk string `json:"privk,omitempty"`
	Pubk  string `json:"pubk,omitempty"`
	C     int    `json:"c"`
	S     int    `json:"s"`
	TS    string `json:"ts"`
	Since int64  `json:"since"`
	AAV   int    `json:"aav,omitempty"`
	AAS   string `json:"aas,omitempty"`
}

// SetUserRequest is `up`: store account attributes; ferry uses it to store a
// generated RSA key pair (privk, pubk) on an account that has none.
type SetUserRequest struct {
	A     string `json:"a"` // "up"
	Privk string `json:"privk,omitempty"`
	Pubk  string `json:"pubk,omitempty"`
}

// QuotaRequest is `uq`.
type QuotaRequest struct {
	A    string `json:"a"` // "uq"
	Strg int    `json:"strg,omitempty"`
	Xfer int    `json:"xfer,omitempty"`
	Pro  int    `json:"pro,omitempty"`
}

// QuotaReply answers `uq`.
type QuotaReply struct {
	Mstrg  int64              `json:"mstrg"`
	Cstrg  int64              `json:"cstrg"`
	Cstrgn map[string][]int64 `json:"cstrgn,omitempty"`
	Mxfer  int64              `json:"mxfer"`
	Caxfer int64              `json:"caxfer"`
	Csxfer int64              `json:"csxfer"`
	UType  int                `json:"utype"`
}

// FetchRequest is `f`.
type FetchRequest struct {
	A  string `json:"a"` // "f"
	C  int    `json:"c"`
	R  int    `json:"r,omitempty"`
	CA int    `json:"ca,omitempty"`
}

// ShareKey is an `ok` entry.
type ShareKey struct {
	Handle string `json:"h"`
	Key    string `json:"k"`
	HA     string `json:"ha"`
}

// PublicLink is a `ph` entry of `f`.
type PublicLink struct {
	Handle string `json:"h"`
	PH     string `json:"ph"`
	TS     int64  `json:"ts,omitempty"`
}

// FetchReply answers `f`. Nodes come parents first.
type FetchReply struct {
	Nodes  []Node            `json:"f"`
	OK     []ShareKey        `json:"ok"`
	Shares []json.RawMessage `json:"s"`
	Users  []json.RawMessage `json:"u"`
	SN     string            `json:"sn"`
	Links  []PublicLink      `json:"ph,omitempty"`
}

// NewNode is one entry of `p`'s `n` list. For a file, Handle is the upload
// completion token; for a folder, a placeholder.
type NewNode struct {
	Handle string `json:"h"`
	Type   int    `json:"t"`
	Attr   string `json:"a"`
	Key    string `json:"k"`
	FA     string `json:"fa,omitempty"`
}

// PutNodesRequest is `p`: create files (from completed uploads) or folders.
// CR, when the target lies in shared folders, wraps the new nodes' keys
// with their share keys: [[share handles], [the `h` of each entry of
// Nodes, in order], [share index, node index, key, ...]]. MEGA's SDK
// sends an empty node list and counts node indexes in Nodes; listing the
// entries in order makes an index mean the same either way.
type PutNodesRequest struct {
	A      string    `json:"a"` // "p"
	Target string    `json:"t"`
	Nodes  []NewNode `json:"n"`
	I      string    `json:"i,omitempty"`
	CR     [3][]any  `json:"cr,omitzero"`
}

// PutNodesReply answers `p`.
type PutNodesReply struct {
	Nodes []Node `json:"f"`
}

// MoveRequest is `m`. CR, when the target lies in shared folders, wraps
// the keys of the moved subtree with their share keys: [[share handles],
// [node handles], [share index, node index, key, ...]].
type MoveRequest struct {
	A      string   `json:"a"` // "m"
	Node   string   `json:"n"`
	Target string   `json:"t"`
	I      string   `json:"i,omitempty"`
	CR     [3][]any `json:"cr,omitzero"`
}

// SetAttrRequest is `a`. go-mega sends `attr` (and `key`) instead of `at`;
// servers accept both.
type SetAttrRequest struct {
	A     string `json:"a"` // "a"
	Node  string `json:"n"`
	Attr  string `json:"at,omitempty"`
	AttrG string `json:"attr,omitempty"`
	Key   string `json:"key,omitempty"`
	I     string `json:"i,omitempty"`
}

// DeleteRequest is `d`: permanent delete of a subtree.
type DeleteRequest struct {
	A    string `json:"a"` // "d"
	Node string `json:"n"`
	I    string `json:"i,omitempty"`
}

// LinkRequest is `l`: export a public link, or remove it with D=1.
// The reply is the public handle as a JSON string, or 0 for removal.
type LinkRequest struct {
	A    string `json:"a"` // "l"
	Node string `json:"n"`
	D    int    `json:"d,omitempty"`
	ETS  int64  `json:"ets,omitempty"`
}

// ShareRequest is `s2`: share folder Node. ferry shares only with "EXP"
// (the public), the prerequisite of a folder link, whose URL carries the
// share key. CR wraps the subtree's node keys with the share key:
// [[share roots], [node handles], [root index, node index, key, ...]].
type ShareRequest struct {
	A    string        `json:"a"` // "s2"
	Node string        `json:"n"`
	S    []ShareTarget `json:"s"`
	OK   string        `json:"ok"` // b64(AES_mk(share key))
	HA   string        `json:"ha"` // handle auth of Node under mk
	CR   [3][]any      `json:"cr"`
}

// UnshareRequest is `s2` removing shares: a target without an access
// level `r` removes that user's share ("EXP": the folder link's).
type UnshareRequest struct {
	A    string          `json:"a"` // "s2"
	Node string          `json:"n"`
	S    []UnshareTarget `json:"s"`
}

// UnshareTarget is one user of an UnshareRequest.
type UnshareTarget struct {
	U string `json:"u"`
}

// ShareTarget is one user of a ShareRequest ("EXP" for a public link)
// with an access level (0 = read-only).
type ShareTarget struct {
	U string `json:"u"`
	R int    `json:"r"`
}

// UploadRequest is `u`: ask for an upload URL. V >= 2 selects the binary
// completion token.
type UploadRequest struct {
	A    string `json:"a"` // "u"
	Size int64  `json:"s"`
	SSL  int    `json:"ssl,omitempty"`
	V    int    `json:"v,omitempty"`
}

// UploadReply answers `u`.
type UploadReply struct {
	URL string `json:"p"`
}

// DownloadRequest is `g`: by node handle N, or public handle P.
type DownloadRequest struct {
	A   string `json:"a"` // "g"
	G   int    `json:"g,omitempty"`
	N   string `json:"n,omitempty"`
	P   string `json:"p,omitempty"`
	SSL int    `json:"ssl,omitempty"`
}

// DownloadReply answers `g`. E carries an embedded error (go-mega checks it).
type DownloadReply struct {
	Size int64  `json:"s"`
	Attr string `json:"at"`
	URL  string `json:"g,omitempty"`
	FA   string `json:"fa,omitempty"`
	E    int    `json:"e,omitempty"`
	TL   int    `json:"tl,omitempty"`
}

// LogoutRequest is `sml`.
type LogoutRequest struct {
	A string `json:"a"` // "sml"
}

// EmptyRubbishRequest is `dr`.
type EmptyRubbishRequest struct {
	A string `json:"a"` // "dr"
}

// ScReply is the body of an `sc` poll: either packets and the new sn, or a
// wait URL W and the unchanged sn. A bare number body is an error instead.
type ScReply struct {
	Packets []json.RawMessage `json:"a,omitempty"`
	SN      string            `json:"sn"`
	W       string            `json:"w,omitempty"`
}

// Packet is the union of the action packet fields ferry understands:
// t (new nodes), u (attributes), d (delete, M=1 for the first half of a
// move), ph (public link).
type Packet struct {
	A  string      `json:"a"`
	T  *PacketTree `json:"t,omitempty"`
	N  string      `json:"n,omitempty"`
	U  string      `json:"u,omitempty"`
	At string      `json:"at,omitempty"`
	TS int64       `json:"ts,omitempty"`
	M  int         `json:"m,omitempty"`
	OU string      `json:"ou,omitempty"`
	I  string      `json:"i,omitempty"`
	H  string      `json:"h,omitempty"`
	PH string      `json:"ph,omitempty"`
	D  int         `json:"d,omitempty"`
	// s2 (a folder shared, e.g. with "EXP" for a folder link): the share
	// key wrapped with the owner's master key, and its handle auth.
	OK string `json:"ok,omitempty"`
	HA string `json:"ha,omitempty"`
}

// PacketTree is the payload of a `t` packet.
type PacketTree struct {
	Nodes []Node `json:"f"`
}
