package megacrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"io"
	"strings"
)

// newAES returns an AES-128 block for a 16-byte key.
func newAES(key []byte) (cipher.Block, error) {
	if len(key) != 16 {
		return nil, fmt.Errorf("AES key of %d bytes, want 16: %w", len(key), ErrKeySize)
	}
	return aes.NewCipher(key)
}

// mustAES is newAES for keys held in [16]byte arrays.
func mustAES(key *[16]byte) cipher.Block {
	b, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // unreachable: the key is 16 bytes
	}
	return b
}

// ecb applies fn to each 16-byte block of data into a new slice.
func ecb(kek, data []byte, decrypt bool) ([]byte, error) {
	b, err := newAES(kek)
	if err != nil {
		return nil, err
	}
	if len(data)%16 != 0 {
		return nil, fmt.Errorf("key data of %d bytes is not a multiple of 16: %w", len(data), ErrKeySize)
	}
	out := make([]byte, len(data))
	for i := 0; i < len(data); i += 16 {
		if decrypt {
			b.Decrypt(out[i:i+16], data[i:i+16])
		} else {
			b.Encrypt(out[i:i+16], data[i:i+16])
		}
	}
	return out, nil
}

// EncryptKey wraps data (a multiple of 16 bytes) with AES-128-ECB under kek.
func EncryptKey(kek, data []byte) ([]byte, error) { return ecb(kek, data, false) }

// DecryptKey unwraps data (a multiple of 16 bytes) with AES-128-ECB under kek.
func DecryptKey(kek, data []byte) ([]byte, error) { return ecb(kek, data, true) }

// pkeyInit is the v1 password key's starting value (a32
// 0x93C467E3,0x7DB0C7A4,0xD1BE3F81,0x0152CB56).
var pkeyInit = [16]byte{0x93, 0xc4, 0x67, 0xe3, 0x7d, 0xb0, 0xc7, 0xa4, 0xd1, 0xbe, 0x3f, 0x81, 0x01, 0x52, 0xcb, 0x56}

// PrepareKey is the v1 password key derivation (65536 rounds of AES over the
// zero-padded password). Only ASCII passwords interoperate with the SDK.
func PrepareKey(password []byte) []byte {
	ciphers := make([]cipher.Block, 0, (len(password)+15)/16)
	for i := 0; i < len(password); i += 16 {
		var k [16]byte
		copy(k[:], password[i:])
		ciphers = append(ciphers, mustAES(&k))
	}
	pkey := pkeyInit
	for range 65536 {
		for _, c := range ciphers {
			c.Encrypt(pkey[:], pkey[:])
		}
	}
	return pkey[:]
}

// UserHashV1 is the v1 login hash `uh` of a (lower-cased) e-mail under the
// v1 password key: 11 base64url chars. The e-mail is lower-cased here too.
// pwKey must be 16 bytes (a PrepareKey result); UserHashV1 panics otherwise.
func UserHashV1(email string, pwKey []byte) string {
	b, err := newAES(pwKey)
	if err != nil {
		panic("megacrypto: UserHashV1: " + err.Error())
	}
	e := []byte(strings.ToLower(email))
	var h [16]byte
	for i := range e {
		h[i%16] ^= e[i]
	}
	for range 16384 {
		b.Encrypt(h[:], h[:])
	}
	return B64Encode(append(h[0:4:4], h[8:12]...))
}

// V2Salt derives a v2 account salt from 16 client random bytes:
// SHA256("mega.nz" padded with 'P' to 200 bytes || crv).
func V2Salt(crv []byte) []byte {
	h := sha256.New()
	h.Write([]byte("mega.nz"))
	h.Write(bytes.Repeat([]byte("P"), 200-len("mega.nz")))
	h.Write(crv)
	return h.Sum(nil)
}

// DeriveV2 runs PBKDF2-HMAC-SHA512 (100000 iterations) over the UTF-8
// password and salt and returns the password key and the auth key (16 bytes
// each). The login hash is B64Encode(authKey).
func DeriveV2(password, salt []byte) (pwKey, authKey []byte) {
	dk, err := pbkdf2.Key(sha512.New, string(password), salt, 100000, 32)
	if err != nil {
		// Only possible in FIPS 140-only mode with a salt under 16 bytes.
		panic("megacrypto: DeriveV2: " + err.Error())
	}
	return dk[:16:16], dk[16:32:32]
}

// AuthKeyHash is what a server stores to check a v2 login:
// SHA256(authKey)[0:16].
func AuthKeyHash(authKey []byte) []byte {
	h := sha256.Sum256(authKey)
	return h[:16]
}

// HandleAuth returns b64(AES_mk(h || h)) for an 8-char handle (share `ha`).
func HandleAuth(masterKey []byte, handle string) (string, error) {
	if len(handle) != 8 {
		return "", fmt.Errorf("handle auth: handle %q is not 8 chars: %w", abbrev(handle), ErrKeySize)
	}
	out, err := EncryptKey(masterKey, []byte(handle+handle))
	if err != nil {
		return "", fmt.Errorf("handle auth: %w", err)
	}
	return B64Encode(out), nil
}

// NewTS returns a `ts` string for `ug`: b64(r || AES_mk(r)) with r from rnd.
func NewTS(masterKey []byte, rnd io.Reader) (string, error) {
	b, err := newAES(masterKey)
	if err != nil {
		return "", fmt.Errorf("ts: %w", err)
	}
	var buf [32]byte
	if _, err := io.ReadFull(rnd, buf[:16]); err != nil {
		return "", fmt.Errorf("ts: read random: %w", err)
	}
	b.Encrypt(buf[16:], buf[:16])
	return B64Encode(buf[:]), nil
}
