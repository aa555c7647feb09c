package repo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// ID names a blob (a keyed hash of its plaintext), a pack, an index or a
// snapshot (SHA-256 of the stored object).
type ID [32]byte

// String returns the ID as 64 lower-case hex digits.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first 8 hex digits, as snapshot listings show them.
func (id ID) Short() string { return hex.EncodeToString(id[:4]) }

// IsZero reports the zero ID, which names nothing.
func (id ID) IsZero() bool { return id == ID{} }

// MarshalText writes the ID as hex, so JSON holds it as a string.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText reads 64 hex digits.
func (id *ID) UnmarshalText(b []byte) error {
	p, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = p
	return nil
}

// ParseID reads an ID from 64 hex digits.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*len(id) {
		return id, fmt.Errorf("repo: ID %q: want %d hex digits, have %d", s, 2*len(id), len(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("repo: ID %q: %w", s, err)
	}
	return id, nil
}

// hashID is the SHA-256 of b: the name of a stored object.
func hashID(b []byte) ID { return sha256.Sum256(b) }

// BlobType tells data blobs (file content) from tree blobs (directory
// listings). They live in separate packs.
type BlobType uint8

// The blob types. The values are stored in pack headers.
const (
	DataBlob BlobType = 1
	TreeBlob BlobType = 2
)

// String returns "data" or "tree", the directory the type's packs live in.
func (t BlobType) String() string {
	switch t {
	case DataBlob:
		return "data"
	case TreeBlob:
		return "tree"
	}
	return fmt.Sprintf("blobtype(%d)", uint8(t))
}

func (t BlobType) valid() bool { return t == DataBlob || t == TreeBlob }

// MarshalText writes "data" or "tree".
func (t BlobType) MarshalText() ([]byte, error) {
	if !t.valid() {
		return nil, fmt.Errorf("repo: invalid blob type %d", uint8(t))
	}
	return []byte(t.String()), nil
}

// UnmarshalText reads "data" or "tree".
func (t *BlobType) UnmarshalText(b []byte) error {
	switch string(b) {
	case "data":
		*t = DataBlob
	case "tree":
		*t = TreeBlob
	default:
		return fmt.Errorf("repo: unknown blob type %q", b)
	}
	return nil
}
