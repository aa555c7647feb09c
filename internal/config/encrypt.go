package config

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// An encrypted config file is
//
//	# ferry encrypted config v1
//	<base64 lines of salt(16) || nonce(24) || ciphertext>
//	# end
//
// where the ciphertext is XChaCha20-Poly1305 of the plain INI text with the
// header line as additional data, under argon2id(password, salt, t=1,
// m=64 MiB, p=4). Base64 is the standard alphabet, padded, in lines of 64
// characters, so each line decodes on its own and a bad one can be named.
// The end line tells a truncated file from a wrong password.
const (
	encryptedHeader = "# ferry encrypted config v1"
	encryptedEnd    = "# end"
)

const (
	saltLen   = 16
	b64Line   = 64
	argonTime = 1
	argonMem  = 64 * 1024 // KiB
	argonPar  = 4
)

// fileKey is a derived encryption key and the salt it came from. A key is
// reused for later saves of the same file with a fresh random nonce.
type fileKey struct {
	salt []byte
	key  []byte
}

// String keeps keys out of logs.
func (k *fileKey) String() string { return "<config key>" }

func deriveKey(password string, salt []byte) *fileKey {
	return &fileKey{salt: salt, key: argon2.IDKey([]byte(password), salt, argonTime, argonMem, argonPar, chacha20poly1305.KeySize)}
}

func newFileKey(password string) (*fileKey, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	return deriveKey(password, salt), nil
}

func isEncrypted(data []byte) bool {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	return strings.TrimSpace(string(line)) == encryptedHeader
}

// encrypt seals plain text into the file format.
func (k *fileKey) encrypt(plain []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(k.key)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 0, saltLen+aead.NonceSize()+len(plain)+aead.Overhead())
	buf = append(buf, k.salt...)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	buf = append(buf, nonce...)
	buf = aead.Seal(buf, nonce, plain, []byte(encryptedHeader))
	enc := base64.StdEncoding.EncodeToString(buf)
	var out bytes.Buffer
	out.WriteString(encryptedHeader + "\n")
	for len(enc) > b64Line {
		out.WriteString(enc[:b64Line] + "\n")
		enc = enc[b64Line:]
	}
	out.WriteString(enc + "\n")
	out.WriteString(encryptedEnd + "\n")
	return out.Bytes(), nil
}

// decrypt opens an encrypted file's data, asking for the password once.
func decrypt(name string, data []byte, password func() (string, error)) ([]byte, *fileKey, error) {
	lines := strings.Split(string(data), "\n")
	var (
		raw  []byte
		last = 1  // line of the last base64 text, for errors
		done bool // a short (final) line was seen
		end  bool // the end line was seen
	)
	for i, l := range lines[1:] {
		n := i + 2
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if end {
			return nil, nil, &ParseError{name, n, "encrypted config: text after the end line"}
		}
		if l == encryptedEnd {
			end = true
			continue
		}
		if done {
			return nil, nil, &ParseError{name, n, "encrypted config: text after the last base64 line"}
		}
		b, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(l) > b64Line {
			return nil, nil, &ParseError{name, n, "encrypted config: bad base64 line"}
		}
		done = len(l) < b64Line || strings.HasSuffix(l, "=")
		raw = append(raw, b...)
		last = n
	}
	const nonceLen = chacha20poly1305.NonceSizeX
	if !end || len(raw) < saltLen+nonceLen+chacha20poly1305.Overhead {
		return nil, nil, &ParseError{name, last, "encrypted config is truncated"}
	}
	pw, err := password()
	if err != nil {
		return nil, nil, err
	}
	k := deriveKey(pw, raw[:saltLen])
	aead, err := chacha20poly1305.NewX(k.key)
	if err != nil {
		return nil, nil, err
	}
	nonce := raw[saltLen : saltLen+nonceLen]
	plain, err := aead.Open(nil, nonce, raw[saltLen+nonceLen:], []byte(encryptedHeader))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, ErrWrongPassword)
	}
	return plain, k, nil
}
