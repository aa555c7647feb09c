package megacrypto

import (
	"bytes"
	"crypto/cipher"
	"encoding/json"
	"fmt"
)

// Attrs are decrypted node attributes. Name is `n`, Fingerprint is `c`;
// other keys are kept verbatim in Extra so rewriting attributes (rename,
// new mtime) never drops what another client stored.
type Attrs struct {
	Name        string
	Fingerprint string
	Extra       map[string][]byte // raw JSON values by key, excluding "n" and "c"
}

// attrPrefix starts every attribute plaintext.
const attrPrefix = "MEGA"

// zeroIV is the IV of attribute encryption.
var zeroIV [16]byte

// EncryptAttrs encodes "MEGA"+JSON (HTML characters not escaped), zero-pads to
// a multiple of 16 and encrypts with AES-CBC (zero IV) under key (16 bytes:
// a folder key or a file's content key K), returning base64url.
//
// Keys are written in sorted order; `n` is always present, `c` only when
// Fingerprint is not empty. Extra values must be valid JSON (they are
// compacted); keys "n" and "c" in Extra are ignored.
func EncryptAttrs(key []byte, a Attrs) (string, error) {
	b, err := newAES(key)
	if err != nil {
		return "", fmt.Errorf("encrypt attributes: %w", err)
	}
	obj := make(map[string]any, 2+len(a.Extra))
	for k, v := range a.Extra {
		if k != "n" && k != "c" {
			obj[k] = json.RawMessage(v)
		}
	}
	obj["n"] = a.Name
	if a.Fingerprint != "" {
		obj["c"] = a.Fingerprint
	}
	var buf bytes.Buffer
	buf.Grow(64 + len(a.Name))
	buf.WriteString(attrPrefix)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		return "", fmt.Errorf("encrypt attributes: %w: %w", ErrAttr, err)
	}
	p := buf.Bytes()
	p = p[:len(p)-1] // Encode's trailing newline
	if r := len(p) % 16; r != 0 {
		p = append(p, make([]byte, 16-r)...)
	}
	cipher.NewCBCEncrypter(b, zeroIV[:]).CryptBlocks(p, p)
	return B64Encode(p), nil
}

// DecryptAttrs reverses EncryptAttrs. The plaintext must start with
// `MEGA{"`; trailing NULs are stripped. Errors wrap ErrAttr or ErrBase64.
// `n` and `c`, when present, must be JSON strings (or null).
func DecryptAttrs(key []byte, s string) (Attrs, error) {
	b, err := newAES(key)
	if err != nil {
		return Attrs{}, fmt.Errorf("decrypt attributes: %w", err)
	}
	p, err := B64Decode(s)
	if err != nil {
		return Attrs{}, fmt.Errorf("decrypt attributes: %w", err)
	}
	if len(p) == 0 || len(p)%16 != 0 {
		return Attrs{}, fmt.Errorf("decrypt attributes: %d bytes is not a non-zero multiple of 16: %w", len(p), ErrAttr)
	}
	cipher.NewCBCDecrypter(b, zeroIV[:]).CryptBlocks(p, p)
	if !bytes.HasPrefix(p, []byte(`MEGA{"`)) {
		return Attrs{}, fmt.Errorf("decrypt attributes: no MEGA{\" prefix (wrong key?): %w", ErrAttr)
	}
	p = bytes.TrimRight(p[len(attrPrefix):], "\x00")
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(p, &obj); err != nil {
		return Attrs{}, fmt.Errorf("decrypt attributes: %w: %w", ErrAttr, err)
	}
	var a Attrs
	for k, v := range obj {
		switch k {
		case "n":
			if err := json.Unmarshal(v, &a.Name); err != nil {
				return Attrs{}, fmt.Errorf("decrypt attributes: name: %w: %w", ErrAttr, err)
			}
		case "c":
			if err := json.Unmarshal(v, &a.Fingerprint); err != nil {
				return Attrs{}, fmt.Errorf("decrypt attributes: fingerprint: %w: %w", ErrAttr, err)
			}
		default:
			if a.Extra == nil {
				a.Extra = make(map[string][]byte, len(obj))
			}
			a.Extra[k] = v
		}
	}
	return a, nil
}
