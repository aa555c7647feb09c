package repo

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"sync"
)

const (
	nonceSize = 12
	tagSize   = 16
	// overhead is what encryption adds to a plaintext.
	overhead = nonceSize + tagSize
)

// errAuth reports ciphertext whose GCM tag does not verify: it was
// damaged, or it was made with another key.
var errAuth = errors.New("ciphertext does not authenticate (damaged or another key)")

// masterKeys are a repository's secret keys, made from crypto/rand at Init
// and kept, wrapped by a password, in each keys/ object.
type masterKeys struct {
	Enc     []byte `json:"enc"`     // AES-256-GCM key of every encrypted object and blob
	ID      []byte `json:"id"`      // HMAC-SHA256 key of blob IDs
	Chunker []byte `json:"chunker"` // the chunker's gear table key
}

// String and LogValue keep the keys out of messages and logs.
func (k *masterKeys) String() string { return "masterKeys(redacted)" }

// LogValue implements slog.LogValuer.
func (k *masterKeys) LogValue() slog.Value { return slog.StringValue("redacted") }

func newMasterKeys() (*masterKeys, error) {
	k := &masterKeys{Enc: make([]byte, 32), ID: make([]byte, 32), Chunker: make([]byte, 32)}
	for _, b := range [][]byte{k.Enc, k.ID, k.Chunker} {
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("repo: random key: %w", err)
		}
	}
	return k, nil
}

func (k *masterKeys) valid() error {
	if len(k.Enc) != 32 || len(k.ID) != 32 || len(k.Chunker) != 32 {
		return errors.New("master keys are not 32 bytes each")
	}
	return nil
}

// crypter seals and opens objects and blobs with the master keys. It is
// safe for concurrent use.
type crypter struct {
	aead  cipher.AEAD
	idKey []byte
	macs  sync.Pool // of hash.Hash (HMAC-SHA256 under idKey)
}

func newCrypter(k *masterKeys) (*crypter, error) {
	aead, err := newAEAD(k.Enc)
	if err != nil {
		return nil, err
	}
	c := &crypter{aead: aead, idKey: k.ID}
	c.macs.New = func() any { return hmac.New(sha256.New, c.idKey) }
	return c, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("repo: %w", err)
	}
	return cipher.NewGCM(block)
}

// blobID is the keyed hash of a blob's plaintext.
func (c *crypter) blobID(plain []byte) ID {
	h := c.macs.Get().(hash.Hash)
	h.Reset()
	h.Write(plain)
	var id ID
	h.Sum(id[:0])
	c.macs.Put(h)
	return id
}

// seal appends nonce || AES-256-GCM(plain) || tag to dst.
func (c *crypter) seal(dst, plain []byte) ([]byte, error) { return seal(c.aead, dst, plain) }

// open decrypts sealed (nonce || ciphertext || tag) and appends the
// plaintext to dst.
func (c *crypter) open(dst, sealed []byte) ([]byte, error) { return open(c.aead, dst, sealed) }

func seal(aead cipher.AEAD, dst, plain []byte) ([]byte, error) {
	var nonce [nonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("repo: random nonce: %w", err)
	}
	dst = append(dst, nonce[:]...)
	return aead.Seal(dst, nonce[:], plain, nil), nil
}

func open(aead cipher.AEAD, dst, sealed []byte) ([]byte, error) {
	if len(sealed) < overhead {
		return nil, fmt.Errorf("%d bytes is too short for an encrypted object: %w", len(sealed), errAuth)
	}
	out, err := aead.Open(dst, sealed[:nonceSize], sealed[nonceSize:], nil)
	if err != nil {
		return nil, errAuth
	}
	return out, nil
}
