package megaserver

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	"ferry/internal/metadb"
	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// Bucket names. See doc.go "On-disk layout".
var (
	bucketMeta     = []byte("meta")     // "secret" -> HMAC key
	bucketUsers    = []byte("users")    // user handle -> userRec JSON
	bucketEmails   = []byte("emails")   // e-mail -> user handle
	bucketState    = []byte("ustate")   // user handle -> counter(8) || used(8)
	bucketNodes    = []byte("nodes")    // node handle -> nodeRec JSON
	bucketChildren = []byte("children") // parent(8) || child(8) -> empty
	bucketBlobs    = []byte("blobs")    // blob id (32 hex) -> node handle
	bucketLinks    = []byte("links")    // public handle -> node handle
	bucketJournal  = []byte("journal")  // user(11) || BE64(counter) -> packets
	bucketSessions = []byte("sessions") // SHA256(sid) -> sessionRec JSON
	bucketReplay   = []byte("replay")   // sidhash(16) || id || BE32(index) -> replay record
)

var allBuckets = [][]byte{
	bucketMeta, bucketUsers, bucketEmails, bucketState, bucketNodes, bucketChildren,
	bucketBlobs, bucketLinks, bucketJournal, bucketSessions, bucketReplay,
}

const (
	nodeHandleLen = 8  // b64 of 6 bytes
	userHandleLen = 11 // b64 of 8 bytes
	blobIDLen     = 32 // hex of 16 bytes
)

// userRec is an account as stored.
type userRec struct {
	Handle   string `json:"u"`
	Email    string `json:"email"`
	Name     string `json:"name,omitempty"`
	Version  int    `json:"v"`
	Salt     []byte `json:"salt,omitempty"`
	AuthHash []byte `json:"ah"`
	MK       []byte `json:"k"`
	Privk    string `json:"privk,omitempty"`
	Pubk     string `json:"pubk,omitempty"`
	TS       string `json:"ts"`
	MFA      []byte `json:"mfa,omitempty"`
	Quota    int64  `json:"quota,omitempty"`
	Since    int64  `json:"since"`
	Root     string `json:"root"`
	Inbox    string `json:"inbox"`
	Rubbish  string `json:"rubbish"`
}

// nodeRec is a node as stored: the wire fields plus server-side ones.
type nodeRec struct {
	H    string `json:"h"`
	P    string `json:"p,omitempty"`
	U    string `json:"u"`
	T    int    `json:"t"`
	A    string `json:"a,omitempty"`
	K    string `json:"k,omitempty"`
	S    int64  `json:"s,omitempty"`
	TS   int64  `json:"ts"`
	FA   string `json:"fa,omitempty"`
	Blob string `json:"blob,omitempty"` // file content, Dir/blobs/<Blob>
	PH   string `json:"ph,omitempty"`   // public handle when exported
	PHTS int64  `json:"phts,omitempty"` // export time
	// PHETS is the link's expiry (`ets` of `l`, Unix seconds); 0: none.
	PHETS int64 `json:"phets,omitempty"`

	// The folder's "EXP" share (s2): the share key wrapped with the
	// owner's master key, its handle authentication and the share time.
	ShareOK string `json:"sok,omitempty"`
	ShareHA string `json:"sha,omitempty"`
	ShareTS int64  `json:"sts,omitempty"`
}

func (n *nodeRec) wire() megaapi.Node {
	return megaapi.Node{
		Handle: n.H, Parent: n.P, Owner: n.U, Type: n.T, Attr: n.A, Key: n.K,
		Size: n.S, TS: n.TS, FA: n.FA,
	}
}

func (n *nodeRec) isRoot() bool {
	return n.T == megaapi.TypeRoot || n.T == megaapi.TypeInbox || n.T == megaapi.TypeRubbish
}

// sessionRec is a login session as stored, keyed by SHA256 of the sid.
type sessionRec struct {
	User    string `json:"u"`
	Sek     string `json:"sek,omitempty"`
	Created int64  `json:"created"`
}

// userState is the per-user mutable counters.
type userState struct {
	Counter uint64 // event sequence number (sc `sn`)
	Used    int64  // bytes stored
}

func (s *Server) initStore() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("megaserver: create bucket %s: %w", b, err)
			}
		}
		var err error
		s.secret, err = metadb.Secret(tx.Bucket(bucketMeta))
		return err
	})
}

// recoverFiles removes temporary files and blobs that no node references
// (left by a crash between an upload's completion and its `p`, or between
// a delete's commit and the file removal).
func (s *Server) recoverFiles() error {
	tmps, err := os.ReadDir(s.tmpDir)
	if err != nil {
		return fmt.Errorf("megaserver: %w", err)
	}
	for _, e := range tmps {
		if err := os.RemoveAll(filepath.Join(s.tmpDir, e.Name())); err != nil {
			return fmt.Errorf("megaserver: remove temporary file: %w", err)
		}
	}
	blobs, err := os.ReadDir(s.blobDir)
	if err != nil {
		return fmt.Errorf("megaserver: %w", err)
	}
	var orphans []string
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBlobs)
		for _, e := range blobs {
			if b.Get([]byte(e.Name())) == nil {
				orphans = append(orphans, e.Name())
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("megaserver: scan blobs: %w", err)
	}
	for _, name := range orphans {
		if err := os.Remove(filepath.Join(s.blobDir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("megaserver: remove orphan blob: %w", err)
		}
	}
	if len(orphans) > 0 {
		s.log.Info("removed orphan blobs", logKeyCount, len(orphans))
	}
	return nil
}

func (s *Server) blobPath(id string) string { return filepath.Join(s.blobDir, id) }

func newBlobID() string { return hex.EncodeToString(randomBytes(16)) }

func validBlobID(id string) bool {
	if len(id) != blobIDLen {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// ---- record access within a transaction ----

func getUser(tx *bolt.Tx, handle string) (*userRec, error) {
	v := tx.Bucket(bucketUsers).Get([]byte(handle))
	if v == nil {
		return nil, megaapi.ENOENT
	}
	var u userRec
	if err := json.Unmarshal(v, &u); err != nil {
		return nil, fmt.Errorf("decode user %s: %w", handle, err)
	}
	return &u, nil
}

func putUser(tx *bolt.Tx, u *userRec) error {
	v, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketUsers).Put([]byte(u.Handle), v)
}

func userByEmail(tx *bolt.Tx, email string) (*userRec, error) {
	h := tx.Bucket(bucketEmails).Get([]byte(email))
	if h == nil {
		return nil, megaapi.ENOENT
	}
	return getUser(tx, string(h))
}

func getState(tx *bolt.Tx, user string) userState {
	v := tx.Bucket(bucketState).Get([]byte(user))
	if len(v) != 16 {
		return userState{}
	}
	return userState{Counter: binary.BigEndian.Uint64(v), Used: int64(binary.BigEndian.Uint64(v[8:]))}
}

func putState(tx *bolt.Tx, user string, st userState) error {
	var v [16]byte
	binary.BigEndian.PutUint64(v[:], st.Counter)
	binary.BigEndian.PutUint64(v[8:], uint64(st.Used))
	return tx.Bucket(bucketState).Put([]byte(user), v[:])
}

// getNode loads a node; a node that does not exist is ENOENT.
func getNode(tx *bolt.Tx, h string) (*nodeRec, error) {
	if len(h) != nodeHandleLen {
		return nil, megaapi.ENOENT
	}
	v := tx.Bucket(bucketNodes).Get([]byte(h))
	if v == nil {
		return nil, megaapi.ENOENT
	}
	var n nodeRec
	if err := json.Unmarshal(v, &n); err != nil {
		return nil, fmt.Errorf("decode node %s: %w", h, err)
	}
	return &n, nil
}

// ownNode loads a node owned by user; anyone else's node does not exist.
func ownNode(tx *bolt.Tx, user, h string) (*nodeRec, error) {
	n, err := getNode(tx, h)
	if err != nil {
		return nil, err
	}
	if n.U != user {
		return nil, megaapi.ENOENT
	}
	return n, nil
}

func putNode(tx *bolt.Tx, n *nodeRec) error {
	v, err := json.Marshal(n)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketNodes).Put([]byte(n.H), v)
}

func childKey(parent, child string) []byte {
	k := make([]byte, 0, 2*nodeHandleLen)
	k = append(k, parent...)
	return append(k, child...)
}

// eachChild calls fn with the handle of every child of parent.
func eachChild(tx *bolt.Tx, parent string, fn func(child string) error) error {
	prefix := []byte(parent)
	c := tx.Bucket(bucketChildren).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) != 2*nodeHandleLen {
			continue
		}
		if err := fn(string(k[nodeHandleLen:])); err != nil {
			return err
		}
	}
	return nil
}

// walkSubtree visits root and its descendants, parents before children.
func walkSubtree(tx *bolt.Tx, root string, fn func(n *nodeRec) error) error {
	stack := []string{root}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n, err := getNode(tx, h)
		if err != nil {
			if errors.Is(err, megaapi.ENOENT) {
				continue // dangling child entry; never written by this server
			}
			return err
		}
		if err := fn(n); err != nil {
			return err
		}
		if n.T == megaapi.TypeFile {
			continue
		}
		err = eachChild(tx, h, func(child string) error {
			stack = append(stack, child)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// newNodeHandle draws a node handle not yet used.
func newNodeHandle(tx *bolt.Tx) string {
	b := tx.Bucket(bucketNodes)
	for {
		h := megacrypto.B64Encode(randomBytes(6))
		if b.Get([]byte(h)) == nil {
			return h
		}
	}
}

// newPublicHandle draws a public link handle not yet used.
func newPublicHandle(tx *bolt.Tx) string {
	b := tx.Bucket(bucketLinks)
	for {
		h := megacrypto.B64Encode(randomBytes(6))
		if b.Get([]byte(h)) == nil {
			return h
		}
	}
}
