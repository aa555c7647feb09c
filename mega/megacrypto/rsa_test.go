package megacrypto

import (
	"bytes"
	"crypto/rand"
	"errors"
	"math/big"
	"sync"
	"testing"
)

// testRSAKey is generated once per test binary (about a second).
var testRSAKey = sync.OnceValues(func() (*RSAKey, error) { return GenerateRSAKey(rand.Reader) })

func rsaKey(t testing.TB) *RSAKey {
	t.Helper()
	k, err := testRSAKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestGenerateRSAKey(t *testing.T) {
	k := rsaKey(t)
	if got := k.N.BitLen(); got != 2048 {
		t.Errorf("n has %d bits, want 2048", got)
	}
	if got := k.D.BitLen(); got <= 2000 {
		t.Errorf("d has %d bits, want > 2000", got)
	}
	if new(big.Int).Mul(k.P, k.Q).Cmp(k.N) != 0 {
		t.Error("n != p*q")
	}
	if u := new(big.Int).Mul(k.U, k.P); u.Mod(u, k.Q).Cmp(bigOne) != 0 {
		t.Error("u*p mod q != 1")
	}
	m := big.NewInt(123456789)
	c := new(big.Int).Exp(m, k.E, k.N)
	if got := new(big.Int).Exp(c, k.D, k.N); got.Cmp(m) != 0 {
		t.Errorf("RSA round trip = %v, want %v", got, m)
	}
}

// TestTV16SessionID round-trips the csid construction of §2.6 and the
// privk/pubk blobs of §2.5 with a fresh key.
func TestTV16SessionID(t *testing.T) {
	k := rsaKey(t)
	const uh = "d5cBoeO7s9Q"
	sid, err := NewSessionID(uh, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(sid) != 43 || sid[0] == 0 || string(sid[16:27]) != uh {
		t.Fatalf("NewSessionID = %x: want 43 bytes, non-zero first byte, %q at 16", sid, uh)
	}

	privk, err := EncodePrivateKey(tvMasterKey, k, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dk, err := DecodePrivateKey(tvMasterKey, privk)
	if err != nil {
		t.Fatal(err)
	}
	for name, pair := range map[string][2]*big.Int{"p": {dk.P, k.P}, "q": {dk.Q, k.Q}, "d": {dk.D, k.D}, "u": {dk.U, k.U}, "n": {dk.N, k.N}} {
		if pair[0].Cmp(pair[1]) != 0 {
			t.Errorf("DecodePrivateKey: %s differs", name)
		}
	}

	n, e, err := DecodePublicKey(EncodePublicKey(k))
	if err != nil {
		t.Fatal(err)
	}
	if n.Cmp(k.N) != 0 || e.Cmp(k.E) != 0 {
		t.Errorf("DecodePublicKey = %v, %v; want %v, %v", n, e, k.N, k.E)
	}

	csid, err := EncryptSessionID(n, e, sid, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  *RSAKey
	}{
		{"CRT", dk},
		{"no CRT", &RSAKey{D: k.D, N: k.N}},
		{"generated", k},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecryptSessionID(tt.key, csid)
			if err != nil {
				t.Fatal(err)
			}
			if want := B64Encode(sid); got != want {
				t.Errorf("DecryptSessionID = %s, want %s", got, want)
			}
			if len(got) != 58 {
				t.Errorf("sid has %d chars, want 58", len(got))
			}
		})
	}

	t.Run("wrong master key", func(t *testing.T) {
		if _, err := DecodePrivateKey(seq(1, 16), privk); !errors.Is(err, ErrRSAKey) {
			t.Errorf("err = %v, want ErrRSAKey", err)
		}
	})
}

func TestRSAErrors(t *testing.T) {
	k := rsaKey(t)
	sid := bytes.Repeat([]byte{1}, 43)
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"sid zero first byte", func() error {
			_, err := EncryptSessionID(k.N, k.E, append([]byte{0}, sid[1:]...), rand.Reader)
			return err
		}(), ErrKeySize},
		{"sid short", func() error { _, err := EncryptSessionID(k.N, k.E, sid[:42], rand.Reader); return err }(), ErrKeySize},
		{"small modulus", func() error { _, err := EncryptSessionID(big.NewInt(77), k.E, sid, rand.Reader); return err }(), ErrRSAKey},
		{"user handle", func() error { _, err := NewSessionID("short", rand.Reader); return err }(), ErrKeySize},
		{"csid base64", func() error { _, err := DecryptSessionID(k, "!!"); return err }(), ErrBase64},
		{"csid MPI", func() error { _, err := DecryptSessionID(k, "CAA"); return err }(), ErrRSAKey},
		{"csid short plaintext", func() error { _, err := DecryptSessionID(k, B64Encode(AppendMPI(nil, big.NewInt(1)))); return err }(), ErrRSAKey},
		{"no key", func() error {
			_, err := DecryptSessionID(&RSAKey{}, B64Encode(AppendMPI(nil, big.NewInt(1))))
			return err
		}(), ErrRSAKey},
		{"privk base64", func() error { _, err := DecodePrivateKey(tvMasterKey, "*"); return err }(), ErrBase64},
		{"privk length", func() error { _, err := DecodePrivateKey(tvMasterKey, "AAAA"); return err }(), ErrRSAKey},
		{"privk master key", func() error { _, err := DecodePrivateKey(seq(0, 5), B64Encode(make([]byte, 16))); return err }(), ErrKeySize},
		{"pubk empty", func() error { _, _, err := DecodePublicKey(""); return err }(), ErrRSAKey},
		{"pubk zero", func() error { _, _, err := DecodePublicKey("AAAAAA"); return err }(), ErrRSAKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Errorf("err = %v, want %v", tt.err, tt.want)
			}
		})
	}
}

func TestMPI(t *testing.T) {
	tests := []struct {
		x    int64
		want string
	}{
		{0, "0000"}, {1, "000101"}, {255, "0008ff"}, {256, "00090100"}, {65537, "0011010001"},
	}
	for _, tt := range tests {
		t.Run(itoa(tt.x), func(t *testing.T) {
			b := AppendMPI([]byte{0xee}, big.NewInt(tt.x))
			if got := hexs(b[1:]); got != tt.want {
				t.Errorf("AppendMPI = %s, want %s", got, tt.want)
			}
			x, rest, err := ReadMPI(append(b[1:], 7))
			if err != nil || x.Int64() != tt.x || len(rest) != 1 || rest[0] != 7 {
				t.Errorf("ReadMPI = %v, %x, %v", x, rest, err)
			}
		})
	}
	// The SDK writes bytes*8 as the bit length; it reads the same.
	x, _, err := ReadMPI([]byte{0, 16, 0, 5})
	if err != nil || x.Int64() != 5 {
		t.Errorf("ReadMPI(padded) = %v, %v; want 5", x, err)
	}
	for _, b := range [][]byte{nil, {0}, {0, 9, 1}, {0xff, 0xff, 1, 2}} {
		if _, _, err := ReadMPI(b); !errors.Is(err, ErrRSAKey) {
			t.Errorf("ReadMPI(%x) err = %v, want ErrRSAKey", b, err)
		}
	}
}
