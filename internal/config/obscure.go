package config

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
)

// obscureKey is ferry's built-in key for obscuring secrets. It is public:
// obscuring keeps passwords from a casual glance, it is not encryption.
var obscureKey = []byte{
	0x5c, 0x1e, 0x9a, 0x27, 0xd4, 0x63, 0x0b, 0xf8, 0x41, 0xa2, 0x7d, 0x3e, 0xc9, 0x10, 0x86, 0x5f,
	0xe7, 0x2b, 0x94, 0x6a, 0x03, 0xbd, 0x58, 0xf1, 0x1c, 0x7e, 0xa0, 0x35, 0xd9, 0x4b, 0x82, 0x66,
}

// ErrNotObscured is returned by Reveal for a value that Obscure did not
// make.
var ErrNotObscured = errors.New("value is not obscured")

// Obscure hides a secret for storage in the config file: base64 (URL
// alphabet, unpadded) of a random IV and the AES-CTR encryption of s under
// a key built into ferry. The same secret obscures differently each time.
func Obscure(s string) (string, error) {
	buf := make([]byte, aes.BlockSize+len(s))
	iv := buf[:aes.BlockSize]
	if _, err := rand.Read(iv); err != nil {
		return "", err
	}
	block, err := aes.NewCipher(obscureKey)
	if err != nil {
		return "", err
	}
	cipher.NewCTR(block, iv).XORKeyStream(buf[aes.BlockSize:], []byte(s))
	return base64.RawURLEncoding.EncodeToString(buf), nil
}

// Reveal undoes Obscure. Its errors never contain the value.
func Reveal(s string) (string, error) {
	buf, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(buf) < aes.BlockSize {
		return "", ErrNotObscured
	}
	block, err := aes.NewCipher(obscureKey)
	if err != nil {
		return "", err
	}
	out := make([]byte, len(buf)-aes.BlockSize)
	cipher.NewCTR(block, buf[:aes.BlockSize]).XORKeyStream(out, buf[aes.BlockSize:])
	return string(out), nil
}

// IsObscured guesses whether s was made by Obscure: it decodes. A password
// of 22 or more URL-base64 characters may be mistaken for one, which is why
// "config create" has --obscure and --no-obscure (as rclone does).
func IsObscured(s string) bool {
	_, err := Reveal(s)
	return err == nil
}
