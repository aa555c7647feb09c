package megacrypto

import (
	"bytes"
	"math/big"
	"strconv"
	"testing"
)

// Fuzz targets assert only that decoders do not panic and that whatever
// they accept survives a re-encode and decode unchanged.

func FuzzB64Decode(f *testing.F) {
	for _, s := range []string{"", "AA", "AA==", "k8Rn432wx6TRvj-BAVLLVg", "k8Rn432wx6TRvj+BAVLLVg==", "+/_-", "A", "a=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := B64Decode(s)
		if err != nil {
			return
		}
		back, err := B64Decode(B64Encode(b))
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("round trip of %x: %x, %v", b, back, err)
		}
	})
}

// fuzzKey turns fuzz bytes into a 16-byte AES key.
func fuzzKey(b []byte) []byte {
	k := make([]byte, 16)
	copy(k, b)
	return k
}

// checkAttrsRoundTrip re-encrypts accepted attributes and checks they decode
// to the same values and re-encrypt to the same string.
func checkAttrsRoundTrip(t *testing.T, key []byte, a Attrs) {
	s2, err := EncryptAttrs(key, a)
	if err != nil {
		t.Fatalf("EncryptAttrs(%+v): %v", a, err)
	}
	b, err := DecryptAttrs(key, s2)
	if err != nil {
		t.Fatalf("DecryptAttrs(EncryptAttrs(%+v)): %v", a, err)
	}
	if b.Name != a.Name || b.Fingerprint != a.Fingerprint || len(b.Extra) != len(a.Extra) {
		t.Fatalf("round trip: %+v, want %+v", b, a)
	}
	s3, err := EncryptAttrs(key, b)
	if err != nil || s3 != s2 {
		t.Fatalf("second round trip: %s, %v; want %s", s3, err, s2)
	}
}

func FuzzDecryptAttrs(f *testing.F) {
	f.Add(seq(0x10, 16), "bN-DbMmD6O8DR4YYyml9iFHME0UPo4VA4JnIDSSxN6Y")
	f.Add(seq(0, 16), "iRqwuUTPPEL85pQOO-gDtEFT5gpCqejQqemZ3MZj38Mkadpf4aG1KZadnLPn9r4Fxe84Hmam-dK4E_zmByj_Cw")
	f.Add(seq(0, 16), "TbePF-uajswmqups_mJ8QSf2akq6bAx3k_ua5FkkVIE")
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, key []byte, s string) {
		key = fuzzKey(key)
		a, err := DecryptAttrs(key, s)
		if err != nil {
			return
		}
		checkAttrsRoundTrip(t, key, a)
	})
}

// FuzzDecryptAttrsPlaintext reaches the JSON parsing, which random
// ciphertexts almost never do.
func FuzzDecryptAttrsPlaintext(f *testing.F) {
	for _, p := range []string{
		`MEGA{"n":"hello.txt"}`,
		`MEGA{"c":"lGjTAJjxdKIc32EmgYbPLQQA8VNl","n":"pattern.bin"}`,
		`MEGA{"n":"x","lbl":3,"fav":1,"t":{"a":[1,"<>"]}}`,
		`MEGA{"n":null}`,
		`MEGA{"n":"\u00e9\ud800"}`,
	} {
		f.Add(p)
	}
	key := seq(0x10, 16)
	f.Fuzz(func(t *testing.T, p string) {
		a, err := DecryptAttrs(key, encryptAttrPlain(t, key, p))
		if err != nil {
			return
		}
		checkAttrsRoundTrip(t, key, a)
	})
}

func FuzzDecodePrivateKey(f *testing.F) {
	// A toy key with u = p^-1 mod q, and the blob padding variants.
	p, q := big.NewInt(1000003), big.NewInt(998244353)
	toy := &RSAKey{P: p, Q: q, D: big.NewInt(65537), U: new(big.Int).ModInverse(p, q)}
	for _, pad := range []int{0, 5} {
		s, err := EncodePrivateKey(tvMasterKey, toy, bytes.NewReader(make([]byte, 16+pad)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s)
	}
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := DecodePrivateKey(tvMasterKey, s)
		if err != nil {
			return
		}
		s2, err := EncodePrivateKey(tvMasterKey, k, bytes.NewReader(make([]byte, 16)))
		if err != nil {
			t.Fatalf("EncodePrivateKey: %v", err)
		}
		k2, err := DecodePrivateKey(tvMasterKey, s2)
		if err != nil {
			t.Fatalf("DecodePrivateKey(EncodePrivateKey): %v", err)
		}
		if k2.P.Cmp(k.P) != 0 || k2.Q.Cmp(k.Q) != 0 || k2.D.Cmp(k.D) != 0 || k2.U.Cmp(k.U) != 0 || k2.N.Cmp(k.N) != 0 {
			t.Fatalf("round trip changed the key")
		}
	})
}

func FuzzDecodePublicKey(f *testing.F) {
	f.Add(EncodePublicKey(&RSAKey{N: big.NewInt(998244353 * 1000003), E: big.NewInt(65537)}))
	f.Add(EncodePublicKey(&RSAKey{N: new(big.Int).Lsh(big.NewInt(1), 2047), E: big.NewInt(17)}))
	f.Add("")
	f.Add("AAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		n, e, err := DecodePublicKey(s)
		if err != nil {
			return
		}
		n2, e2, err := DecodePublicKey(EncodePublicKey(&RSAKey{N: n, E: e}))
		if err != nil || n2.Cmp(n) != 0 || e2.Cmp(e) != 0 {
			t.Fatalf("round trip: %v, %v, %v; want %v, %v", n2, e2, err, n, e)
		}
	})
}

func FuzzReadMPI(f *testing.F) {
	f.Add([]byte{0, 0})
	f.Add([]byte{0, 0x11, 1, 0, 1, 9})
	f.Add([]byte{0, 16, 0, 5})
	f.Add([]byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		x, rest, err := ReadMPI(b)
		if err != nil {
			return
		}
		if consumed := len(b) - len(rest); !bytes.Equal(b[consumed:], rest) {
			t.Fatalf("rest is not a suffix of the input")
		}
		x2, rest2, err := ReadMPI(AppendMPI(nil, x))
		if err != nil || x2.Cmp(x) != 0 || len(rest2) != 0 {
			t.Fatalf("round trip of %v: %v, %x, %v", x, x2, rest2, err)
		}
	})
}

func FuzzParseFingerprint(f *testing.F) {
	for _, c := range []string{"aGVsbG8AAAAAAAAAAAAAAAQA8VNl", "AAECAwQFBgcICQoLDA0ODwA", "lGjTAJjxdKIc32EmgYbPLQQA8VNl", "AAAAAAAAAAAAAAAAAAAAAAj_________AA", ""} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, c string) {
		crc, m, err := ParseFingerprint(c)
		if err != nil {
			return
		}
		crc2, m2, err := ParseFingerprint(FormatFingerprint(crc, m))
		if err != nil || crc2 != crc || m2 != m {
			t.Fatalf("round trip: %x, %d, %v; want %x, %d", crc2, m2, err, crc, m)
		}
	})
}

func FuzzParseHashcash(f *testing.F) {
	f.Add("1:100:1731410499:RUvIePV2PNO8ofg8xp1aT5ugBcKSEzwKoLBw9o4E6F_fmn44eC3oMpv388UtFl2K")
	f.Add("1:255:0:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v")
	f.Add("1:0::")
	f.Fuzz(func(t *testing.T, h string) {
		e, token, err := ParseHashcash(h)
		if err != nil {
			return
		}
		if len(token) != 48 {
			t.Fatalf("token of %d bytes accepted", len(token))
		}
		e2, token2, err := ParseHashcash("1:" + strconv.Itoa(int(e)) + ":0:" + B64Encode(token))
		if err != nil || e2 != e || !bytes.Equal(token2, token) {
			t.Fatalf("round trip: %d, %x, %v", e2, token2, err)
		}
	})
}

func FuzzUnpackFileKey(f *testing.F) {
	f.Add(seq(0, 32))
	f.Add(make([]byte, 31))
	f.Fuzz(func(t *testing.T, b []byte) {
		fk, err := UnpackFileKey(b)
		if err != nil {
			return
		}
		if got := fk.Pack(); !bytes.Equal(got, b) {
			t.Fatalf("Pack(UnpackFileKey(%x)) = %x", b, got)
		}
	})
}
