package megacrypto

import (
	"crypto/rsa"
	"fmt"
	"io"
	"math/big"
)

// RSAKey is a MEGA RSA private key. U is p^-1 mod q (not PKCS#1 qInv).
type RSAKey struct {
	P, Q, D, U *big.Int
	N, E       *big.Int // N = P*Q; E may be nil after DecodePrivateKey
}

// Size limits of a key every MEGA client accepts (the SDK's checks).
const (
	rsaBits       = 2048
	rsaMinD       = 2000 // d must have more bits than this
	rsaMinPQU     = 1000 // p, q and u must have more bits than this
	sidLen        = 43   // session id bytes
	csidPlain     = 255  // RSA plaintext bytes of csid
	userHandleLen = 11   // b64 user handle chars
)

var bigOne = big.NewInt(1)

// GenerateRSAKey creates a 2048-bit key pair acceptable to every MEGA client
// (d > 2000 bits; regenerates otherwise). E is 65537.
//
// The primes come from crypto/rsa.GenerateKey, which since Go 1.26 ignores
// rnd and always uses a secure source (see its documentation).
func GenerateRSAKey(rnd io.Reader) (*RSAKey, error) {
	for {
		sk, err := rsa.GenerateKey(rnd, rsaBits)
		if err != nil {
			return nil, fmt.Errorf("generate RSA key: %w", err)
		}
		p, q := sk.Primes[0], sk.Primes[1]
		u := new(big.Int).ModInverse(p, q)
		if u == nil || sk.D.BitLen() <= rsaMinD || u.BitLen() <= rsaMinPQU ||
			p.BitLen() <= rsaMinPQU || q.BitLen() <= rsaMinPQU {
			continue
		}
		return &RSAKey{P: p, Q: q, D: sk.D, U: u, N: sk.N, E: big.NewInt(int64(sk.E))}, nil
	}
}

// EncodePrivateKey returns the `privk` blob: b64(AES_mk.ECB(MPI(p)||MPI(q)||
// MPI(d)||MPI(u)||pad)), pad random to a multiple of 16 bytes.
func EncodePrivateKey(masterKey []byte, k *RSAKey, rnd io.Reader) (string, error) {
	if k == nil || k.P == nil || k.Q == nil || k.D == nil || k.U == nil {
		return "", fmt.Errorf("encode private key: missing component: %w", ErrRSAKey)
	}
	var b []byte
	for _, x := range []*big.Int{k.P, k.Q, k.D, k.U} {
		b = AppendMPI(b, x)
	}
	if r := len(b) % 16; r != 0 {
		pad := make([]byte, 16-r)
		if _, err := io.ReadFull(rnd, pad); err != nil {
			return "", fmt.Errorf("encode private key: read random: %w", err)
		}
		b = append(b, pad...)
	}
	w, err := EncryptKey(masterKey, b)
	if err != nil {
		return "", fmt.Errorf("encode private key: %w", err)
	}
	return B64Encode(w), nil
}

// DecodePrivateKey decrypts and parses a `privk` blob. It checks what the
// SDK checks cheaply: p, q > 1, u == p^-1 mod q and fewer than 16 trailing
// bytes. N is set to P*Q; E is nil.
func DecodePrivateKey(masterKey []byte, privk string) (*RSAKey, error) {
	w, err := B64Decode(privk)
	if err != nil {
		return nil, fmt.Errorf("decode private key: %w", err)
	}
	if len(w) == 0 || len(w)%16 != 0 {
		return nil, fmt.Errorf("decode private key: %d bytes is not a non-zero multiple of 16: %w", len(w), ErrRSAKey)
	}
	b, err := DecryptKey(masterKey, w)
	if err != nil {
		return nil, fmt.Errorf("decode private key: %w", err)
	}
	var xs [4]*big.Int
	for i := range xs {
		if xs[i], b, err = ReadMPI(b); err != nil {
			return nil, fmt.Errorf("decode private key (wrong master key?): %w", err)
		}
	}
	if len(b) >= 16 {
		return nil, fmt.Errorf("decode private key: %d trailing bytes: %w", len(b), ErrRSAKey)
	}
	k := &RSAKey{P: xs[0], Q: xs[1], D: xs[2], U: xs[3]}
	if k.P.Cmp(bigOne) <= 0 || k.Q.Cmp(bigOne) <= 0 || k.D.Sign() == 0 {
		return nil, fmt.Errorf("decode private key: zero component: %w", ErrRSAKey)
	}
	if t := new(big.Int).Mul(k.U, k.P); t.Mod(t, k.Q).Cmp(bigOne) != 0 {
		return nil, fmt.Errorf("decode private key: u is not p^-1 mod q: %w", ErrRSAKey)
	}
	k.N = new(big.Int).Mul(k.P, k.Q)
	return k, nil
}

// EncodePublicKey returns the `pubk` blob: b64(MPI(n)||MPI(e)).
func EncodePublicKey(k *RSAKey) string {
	return B64Encode(AppendMPI(AppendMPI(nil, k.N), k.E))
}

// DecodePublicKey parses a `pubk` blob. Bytes after e are ignored.
func DecodePublicKey(pubk string) (n, e *big.Int, err error) {
	b, err := B64Decode(pubk)
	if err != nil {
		return nil, nil, fmt.Errorf("decode public key: %w", err)
	}
	if n, b, err = ReadMPI(b); err != nil {
		return nil, nil, fmt.Errorf("decode public key: modulus: %w", err)
	}
	if e, _, err = ReadMPI(b); err != nil {
		return nil, nil, fmt.Errorf("decode public key: exponent: %w", err)
	}
	if n.Sign() == 0 || e.Sign() == 0 {
		return nil, nil, fmt.Errorf("decode public key: zero component: %w", ErrRSAKey)
	}
	return n, e, nil
}

// NewSessionID returns a 43-byte session id r1[16] || ASCII(userHandle)[11]
// || r2[16] with sid[0] != 0. userHandle is the 11-char b64 user handle.
func NewSessionID(userHandle string, rnd io.Reader) ([]byte, error) {
	if len(userHandle) != userHandleLen {
		return nil, fmt.Errorf("session id: user handle %q is not 11 chars: %w", abbrev(userHandle), ErrKeySize)
	}
	sid := make([]byte, sidLen)
	if _, err := io.ReadFull(rnd, sid[:16]); err != nil {
		return nil, fmt.Errorf("session id: read random: %w", err)
	}
	for sid[0] == 0 {
		if _, err := io.ReadFull(rnd, sid[:1]); err != nil {
			return nil, fmt.Errorf("session id: read random: %w", err)
		}
	}
	copy(sid[16:27], userHandle)
	if _, err := io.ReadFull(rnd, sid[27:]); err != nil {
		return nil, fmt.Errorf("session id: read random: %w", err)
	}
	return sid, nil
}

// EncryptSessionID builds `csid` for a login reply: P = sid || random to 255
// bytes; c = P^e mod n; csid = b64(MPI(c)). Decodes identically in go-mega,
// megajs and the SDK. sid must be 43 bytes with sid[0] != 0 and n must have
// more than 2040 bits.
func EncryptSessionID(n, e *big.Int, sid []byte, rnd io.Reader) (string, error) {
	if len(sid) != sidLen || sid[0] == 0 {
		return "", fmt.Errorf("encrypt session id: want 43 bytes with a non-zero first byte, got %d: %w", len(sid), ErrKeySize)
	}
	if n == nil || e == nil || n.BitLen() <= 8*csidPlain || e.Sign() <= 0 {
		return "", fmt.Errorf("encrypt session id: public key too small: %w", ErrRSAKey)
	}
	p := make([]byte, csidPlain)
	copy(p, sid)
	if _, err := io.ReadFull(rnd, p[sidLen:]); err != nil {
		return "", fmt.Errorf("encrypt session id: read random: %w", err)
	}
	m := new(big.Int).SetBytes(p)
	c := m.Exp(m, e, n)
	return B64Encode(AppendMPI(nil, c)), nil
}

// DecryptSessionID recovers the sid (b64, 58 chars) from `csid`: the first
// 43 bytes of the minimal big-endian encoding of csid^d mod n. It uses the
// CRT with P, Q and U, or N and D when those are missing.
func DecryptSessionID(k *RSAKey, csid string) (string, error) {
	b, err := B64Decode(csid)
	if err != nil {
		return "", fmt.Errorf("decrypt session id: %w", err)
	}
	c, _, err := ReadMPI(b)
	if err != nil {
		return "", fmt.Errorf("decrypt session id: %w", err)
	}
	m, err := rsaDecrypt(k, c)
	if err != nil {
		return "", fmt.Errorf("decrypt session id: %w", err)
	}
	mb := m.Bytes()
	if len(mb) < sidLen {
		return "", fmt.Errorf("decrypt session id: plaintext of %d bytes, want at least 43: %w", len(mb), ErrRSAKey)
	}
	return B64Encode(mb[:sidLen]), nil
}

// rsaDecrypt returns c^d mod n.
func rsaDecrypt(k *RSAKey, c *big.Int) (*big.Int, error) {
	if k == nil || k.D == nil || k.D.Sign() <= 0 {
		return nil, fmt.Errorf("no private exponent: %w", ErrRSAKey)
	}
	if k.P != nil && k.Q != nil && k.U != nil && k.P.Cmp(bigOne) > 0 && k.Q.Cmp(bigOne) > 0 {
		// Garner with u = p^-1 mod q: m = m1 + p*((m2-m1)*u mod q).
		pm1 := new(big.Int).Sub(k.P, bigOne)
		qm1 := new(big.Int).Sub(k.Q, bigOne)
		m1 := new(big.Int).Exp(c, new(big.Int).Mod(k.D, pm1), k.P)
		m2 := new(big.Int).Exp(c, new(big.Int).Mod(k.D, qm1), k.Q)
		h := m2.Sub(m2, m1)
		h.Mul(h, k.U).Mod(h, k.Q)
		return h.Mul(h, k.P).Add(h, m1), nil
	}
	n := k.N
	if n == nil && k.P != nil && k.Q != nil {
		n = new(big.Int).Mul(k.P, k.Q)
	}
	if n == nil || n.Sign() <= 0 {
		return nil, fmt.Errorf("no modulus: %w", ErrRSAKey)
	}
	return new(big.Int).Exp(c, k.D, n), nil
}
