package megacrypto

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/big"
	"strings"
)

// B64Encode encodes b as base64url without padding.
func B64Encode(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// stdToURL maps the standard alphabet's '+' and '/' to base64url.
var stdToURL = strings.NewReplacer("+", "-", "/", "_")

// B64Decode decodes base64url with or without padding; it also accepts the
// standard alphabet's '+' and '/' (as the SDK and go-mega do).
func B64Decode(s string) ([]byte, error) {
	t := strings.TrimRight(s, "=")
	if strings.ContainsAny(t, "+/") {
		t = stdToURL.Replace(t)
	}
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return nil, fmt.Errorf("decode %q: %w", abbrev(s), ErrBase64)
	}
	return b, nil
}

// abbrev shortens s for error messages.
func abbrev(s string) string {
	const max = 24
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// A32 converts bytes to big-endian uint32 words, zero-padding to a multiple
// of 4 bytes.
func A32(b []byte) []uint32 {
	a := make([]uint32, (len(b)+3)/4)
	for i := range a {
		if len(b) >= 4 {
			a[i] = binary.BigEndian.Uint32(b)
			b = b[4:]
			continue
		}
		var w [4]byte
		copy(w[:], b)
		a[i] = binary.BigEndian.Uint32(w[:])
	}
	return a
}

// A32Bytes converts big-endian uint32 words to bytes.
func A32Bytes(a []uint32) []byte {
	b := make([]byte, 0, 4*len(a))
	for _, w := range a {
		b = binary.BigEndian.AppendUint32(b, w)
	}
	return b
}

// AppendMPI appends x as a MEGA MPI: 2-byte big-endian bit length, then the
// minimal big-endian magnitude. The sign of x is ignored; x must be shorter
// than 65536 bits.
func AppendMPI(dst []byte, x *big.Int) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(x.BitLen()))
	return append(dst, x.Bytes()...)
}

// ReadMPI decodes one MPI from the front of b and returns the rest. The byte
// length is (bits+7)>>3.
func ReadMPI(b []byte) (x *big.Int, rest []byte, err error) {
	if len(b) < 2 {
		return nil, nil, fmt.Errorf("MPI header: %d bytes left: %w", len(b), ErrRSAKey)
	}
	bits := int(binary.BigEndian.Uint16(b))
	n := (bits + 7) >> 3
	if len(b)-2 < n {
		return nil, nil, fmt.Errorf("MPI of %d bits: only %d bytes left: %w", bits, len(b)-2, ErrRSAKey)
	}
	return new(big.Int).SetBytes(b[2 : 2+n]), b[2+n:], nil
}
