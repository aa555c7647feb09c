package megacrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"unicode/utf8"
)

// KeyCipher wraps and unwraps keys with AES-128-ECB under one key
// encryption key, as EncryptKey and DecryptKey do, but expands the key
// once: use it to unwrap many node keys under the master key. A KeyCipher
// is safe for concurrent use.
type KeyCipher struct {
	b cipher.Block
}

// NewKeyCipher returns a KeyCipher for a 16-byte key encryption key.
func NewKeyCipher(kek []byte) (*KeyCipher, error) {
	b, err := newAES(kek)
	if err != nil {
		return nil, err
	}
	return &KeyCipher{b: b}, nil
}

// Decrypt unwraps src (a multiple of 16 bytes) into dst, which must be at
// least as long; dst and src may be the same slice.
func (k *KeyCipher) Decrypt(dst, src []byte) error {
	if err := k.check(dst, src); err != nil {
		return err
	}
	for i := 0; i < len(src); i += 16 {
		k.b.Decrypt(dst[i:i+16], src[i:i+16])
	}
	return nil
}

// Encrypt wraps src (a multiple of 16 bytes) into dst, which must be at
// least as long; dst and src may be the same slice.
func (k *KeyCipher) Encrypt(dst, src []byte) error {
	if err := k.check(dst, src); err != nil {
		return err
	}
	for i := 0; i < len(src); i += 16 {
		k.b.Encrypt(dst[i:i+16], src[i:i+16])
	}
	return nil
}

// DecryptString decodes s as B64Decode does and unwraps it into a new
// slice: B64Decode followed by DecryptKey, with one allocation.
func (k *KeyCipher) DecryptString(s string) ([]byte, error) {
	out := make([]byte, len(s)*6/8)
	n, ok := b64URLDecode(out, s)
	if !ok {
		b, err := B64Decode(s)
		if err != nil {
			return nil, err
		}
		out, n = b, len(b)
	}
	out = out[:n:n]
	if err := k.Decrypt(out, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (k *KeyCipher) check(dst, src []byte) error {
	if len(src)%16 != 0 {
		return fmt.Errorf("key data of %d bytes is not a multiple of 16: %w", len(src), ErrKeySize)
	}
	if len(dst) < len(src) {
		return fmt.Errorf("key buffer of %d bytes for %d bytes: %w", len(dst), len(src), ErrKeySize)
	}
	return nil
}

// b64URLDecodeTab maps base64url characters to their values; others to 0xff.
var b64URLDecodeTab = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// b64URLDecode decodes unpadded base64url s into dst (at least
// len(s)*6/8 bytes). It reports false for anything else (padding, the
// standard alphabet, line breaks, a dangling character), which callers
// hand to B64Decode; for what it accepts its result equals B64Decode's.
func b64URLDecode(dst []byte, s string) (int, bool) {
	if len(s)%4 == 1 || len(dst) < len(s)*6/8 {
		return 0, false
	}
	n := 0
	for len(s) >= 4 {
		a, b, c, d := b64URLDecodeTab[s[0]], b64URLDecodeTab[s[1]], b64URLDecodeTab[s[2]], b64URLDecodeTab[s[3]]
		if a|b|c|d == 0xff {
			return 0, false
		}
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		dst[n], dst[n+1], dst[n+2] = byte(v>>16), byte(v>>8), byte(v)
		n += 3
		s = s[4:]
	}
	switch len(s) {
	case 2:
		a, b := b64URLDecodeTab[s[0]], b64URLDecodeTab[s[1]]
		if a|b == 0xff {
			return 0, false
		}
		dst[n] = a<<2 | b>>4
		n++
	case 3:
		a, b, c := b64URLDecodeTab[s[0]], b64URLDecodeTab[s[1]], b64URLDecodeTab[s[2]]
		if a|b|c == 0xff {
			return 0, false
		}
		v := uint32(a)<<12 | uint32(b)<<6 | uint32(c)
		dst[n], dst[n+1] = byte(v>>10), byte(v>>2)
		n += 2
	}
	return n, true
}

// DecryptNameAttrs returns the name `n` and fingerprint `c` of encrypted
// attributes s, exactly as DecryptAttrs would (same values, errors for the
// same inputs), without the other attributes. It is the fast path for
// listing trees: plain attributes ({"n":…} or {"n":…,"c":…} with
// unescaped strings) are decoded with one allocation besides the
// strings; anything else goes through DecryptAttrs.
func DecryptNameAttrs(key []byte, s string) (name, fingerprint string, err error) {
	if name, fingerprint, ok := decryptNameAttrsFast(key, s); ok {
		return name, fingerprint, nil
	}
	a, err := DecryptAttrs(key, s)
	if err != nil {
		return "", "", err
	}
	return a.Name, a.Fingerprint, nil
}

// decryptNameAttrsFast is DecryptNameAttrs for the common shape; ok is
// false when DecryptAttrs must decide.
func decryptNameAttrsFast(key []byte, s string) (name, fingerprint string, ok bool) {
	if len(key) != 16 || len(s) == 0 || len(s) > 4096 {
		return "", "", false
	}
	p := make([]byte, len(s)*6/8)
	n, ok := b64URLDecode(p, s)
	if !ok || n == 0 || n%16 != 0 {
		return "", "", false
	}
	p = p[:n]
	b, err := aes.NewCipher(key)
	if err != nil {
		return "", "", false
	}
	// CBC with a zero IV, in place: from the last block back, so each
	// block is XORed with its predecessor while that is still ciphertext.
	for i := n - 16; i >= 0; i -= 16 {
		b.Decrypt(p[i:i+16], p[i:i+16])
		if i > 0 {
			for j := range 16 {
				p[i+j] ^= p[i-16+j]
			}
		}
	}
	if !bytes.HasPrefix(p, []byte(`MEGA{"`)) {
		return "", "", false
	}
	obj := bytes.TrimRight(p[len(attrPrefix):], "\x00")
	var gotName, gotFP []byte
	haveName, haveFP := false, false
	i := 1 // past '{'
	for {
		key, next, ok := plainJSONString(obj, i)
		if !ok || next >= len(obj) || obj[next] != ':' {
			return "", "", false
		}
		val, next, ok := plainJSONString(obj, next+1)
		if !ok || next >= len(obj) {
			return "", "", false
		}
		switch string(key) {
		case "n":
			gotName, haveName = val, true
		case "c":
			gotFP, haveFP = val, true
		default:
			return "", "", false
		}
		switch obj[next] {
		case ',':
			i = next + 1
			continue
		case '}':
			if next != len(obj)-1 {
				return "", "", false
			}
		default:
			return "", "", false
		}
		break
	}
	if haveName {
		name = string(gotName)
	}
	if haveFP {
		fingerprint = string(gotFP)
	}
	return name, fingerprint, true
}

// plainJSONString reads a JSON string at b[i] that needs no unescaping
// (no backslash, no control character, valid UTF-8) and returns its
// contents and the index after its closing quote.
func plainJSONString(b []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	j := i + 1
	ascii := true
	for ; j < len(b); j++ {
		c := b[j]
		switch {
		case c == '"':
			s = b[i+1 : j]
			if !ascii && !utf8.Valid(s) {
				return nil, 0, false
			}
			return s, j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		case c >= 0x80:
			ascii = false
		}
	}
	return nil, 0, false
}
