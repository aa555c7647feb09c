package megacrypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"testing"
)

func hexs(b []byte) string { return hex.EncodeToString(b) }

// randBytes returns n deterministic pseudo-random bytes.
func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestB64(t *testing.T) {
	tests := []struct {
		in   string
		want string // hex; "err" for an error
	}{
		{"", ""},
		{"AA", "00"},
		{"AA==", "00"},
		{"-_-_", "fbffbf"},
		{"+/+/", "fbffbf"},
		{"+_-/", "fbffbf"},
		{"k8Rn432wx6TRvj-BAVLLVg", "93c467e37db0c7a4d1be3f810152cb56"},
		{"k8Rn432wx6TRvj+BAVLLVg==", "93c467e37db0c7a4d1be3f810152cb56"},
		{"A", "err"},
		{"AA=A", "err"},
		{"A*", "err"},
		{"é", "err"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			b, err := B64Decode(tt.in)
			if tt.want == "err" {
				if !errors.Is(err, ErrBase64) {
					t.Errorf("B64Decode(%q) = %x, %v; want ErrBase64", tt.in, b, err)
				}
				return
			}
			if err != nil || hexs(b) != tt.want {
				t.Errorf("B64Decode(%q) = %x, %v; want %s", tt.in, b, err, tt.want)
			}
		})
	}
}

func TestA32(t *testing.T) {
	tests := []struct {
		in   []byte
		want []uint32
	}{
		{nil, []uint32{}},
		{[]byte{1}, []uint32{0x01000000}},
		{[]byte{1, 2, 3, 4, 5}, []uint32{0x01020304, 0x05000000}},
	}
	for _, tt := range tests {
		t.Run(hexs(tt.in), func(t *testing.T) {
			got := A32(tt.in)
			if len(got) != len(tt.want) {
				t.Fatalf("A32(%x) = %x, want %x", tt.in, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("A32(%x) = %x, want %x", tt.in, got, tt.want)
				}
			}
		})
	}
}

func TestKeyErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"EncryptKey short kek", func() error { _, err := EncryptKey(seq(0, 15), seq(0, 16)); return err }()},
		{"EncryptKey ragged data", func() error { _, err := EncryptKey(seq(0, 16), seq(0, 17)); return err }()},
		{"DecryptKey 32-byte kek", func() error { _, err := DecryptKey(seq(0, 32), seq(0, 16)); return err }()},
		{"HandleAuth handle", func() error { _, err := HandleAuth(tvMasterKey, "short"); return err }()},
		{"HandleAuth key", func() error { _, err := HandleAuth(seq(0, 3), "q6iclUe-"); return err }()},
		{"NewTS key", func() error { _, err := NewTS(nil, bytes.NewReader(seq(0, 16))); return err }()},
		{"UnpackFileKey", func() error { _, err := UnpackFileKey(seq(0, 31)); return err }()},
		{"EncryptAttrs key", func() error { _, err := EncryptAttrs(seq(0, 8), Attrs{}); return err }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, ErrKeySize) {
				t.Errorf("err = %v, want ErrKeySize", tt.err)
			}
		})
	}
	if _, err := NewTS(tvMasterKey, bytes.NewReader(seq(0, 15))); err == nil {
		t.Error("NewTS with a short random reader: no error")
	}
}

func TestFileKeyPack(t *testing.T) {
	fk, err := NewFileKey(bytes.NewReader(seq(1, 24)))
	if err != nil {
		t.Fatal(err)
	}
	if hexs(fk.Key[:]) != hexs(seq(1, 16)) || hexs(fk.Nonce[:]) != hexs(seq(17, 8)) || fk.MetaMAC != [8]byte{} {
		t.Errorf("NewFileKey = %+v", fk)
	}
	fk.MetaMAC = [8]byte{9, 8, 7, 6, 5, 4, 3, 2}
	back, err := UnpackFileKey(fk.Pack())
	if err != nil || back != fk {
		t.Errorf("UnpackFileKey(Pack) = %+v, %v; want %+v", back, err, fk)
	}
	if _, err := NewFileKey(bytes.NewReader(nil)); err == nil {
		t.Error("NewFileKey with an empty reader: no error")
	}
}

func TestAttrsExtra(t *testing.T) {
	key := seq(0x10, 16)
	a := Attrs{
		Name:        `<a&b> "quoted" ünïcødé`,
		Fingerprint: "aGVsbG8AAAAAAAAAAAAAAAQA8VNl",
		Extra: map[string][]byte{
			"lbl": []byte(`3`),
			"fav": []byte(` 1 `),
			"rr":  []byte(`"7EPqvwrc"`),
			"t":   []byte(`{"x": [1, 2, "<>"]}`),
			"n":   []byte(`"ignored"`),
		},
	}
	s, err := EncryptAttrs(key, a)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecryptAttrs(key, s)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != a.Name || got.Fingerprint != a.Fingerprint {
		t.Errorf("DecryptAttrs = %q, %q; want %q, %q", got.Name, got.Fingerprint, a.Name, a.Fingerprint)
	}
	wantExtra := map[string]string{"lbl": `3`, "fav": `1`, "rr": `"7EPqvwrc"`, "t": `{"x":[1,2,"<>"]}`}
	if len(got.Extra) != len(wantExtra) {
		t.Errorf("Extra = %q, want %q", got.Extra, wantExtra)
	}
	for k, v := range wantExtra {
		if string(got.Extra[k]) != v {
			t.Errorf("Extra[%q] = %s, want %s", k, got.Extra[k], v)
		}
	}

	// The plaintext is sorted, unescaped JSON.
	p := mustDecryptCBC(t, key, s)
	want := `MEGA{"c":"aGVsbG8AAAAAAAAAAAAAAAQA8VNl","fav":1,"lbl":3,"n":"<a&b> \"quoted\" ünïcødé","rr":"7EPqvwrc","t":{"x":[1,2,"<>"]}}`
	if got := string(bytes.TrimRight(p, "\x00")); got != want {
		t.Errorf("plaintext = %s, want %s", got, want)
	}

	if _, err := EncryptAttrs(key, Attrs{Extra: map[string][]byte{"x": []byte("{")}}); !errors.Is(err, ErrAttr) {
		t.Errorf("invalid Extra JSON: err = %v, want ErrAttr", err)
	}
}

// mustDecryptCBC decrypts attributes without parsing them.
func mustDecryptCBC(t *testing.T, key []byte, s string) []byte {
	t.Helper()
	b, err := B64Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(b))
	blk, _ := newAES(key)
	prev := make([]byte, 16)
	for i := 0; i < len(b); i += 16 {
		blk.Decrypt(out[i:i+16], b[i:i+16])
		for j := range 16 {
			out[i+j] ^= prev[j]
		}
		prev = b[i : i+16]
	}
	return out
}

// encryptAttrPlain encrypts an arbitrary plaintext like EncryptAttrs does.
func encryptAttrPlain(t *testing.T, key []byte, p string) string {
	t.Helper()
	b := []byte(p)
	for len(b)%16 != 0 || len(b) == 0 {
		b = append(b, 0)
	}
	blk, _ := newAES(key)
	prev := make([]byte, 16)
	for i := 0; i < len(b); i += 16 {
		for j := range 16 {
			b[i+j] ^= prev[j]
		}
		blk.Encrypt(b[i:i+16], b[i:i+16])
		prev = b[i : i+16]
	}
	return B64Encode(b)
}

func TestDecryptAttrsErrors(t *testing.T) {
	key := seq(0x10, 16)
	tests := []struct {
		name string
		s    string
		want error
	}{
		{"base64", "!!!", ErrBase64},
		{"empty", "", ErrAttr},
		{"ragged", B64Encode(seq(0, 17)), ErrAttr},
		{"no prefix", encryptAttrPlain(t, key, `{"n":"x"}`), ErrAttr},
		{"not an object", encryptAttrPlain(t, key, `MEGA["n"]`), ErrAttr},
		{"bad JSON", encryptAttrPlain(t, key, `MEGA{"n":"x"`), ErrAttr},
		{"name not a string", encryptAttrPlain(t, key, `MEGA{"n":5}`), ErrAttr},
		{"c not a string", encryptAttrPlain(t, key, `MEGA{"c":[1],"n":"x"}`), ErrAttr},
		{"trailing garbage", encryptAttrPlain(t, key, `MEGA{"n":"x"}x`), ErrAttr},
		{"wrong key", func() string { s, _ := EncryptAttrs(seq(0, 16), Attrs{Name: "x"}); return s }(), ErrAttr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecryptAttrs(key, tt.s); !errors.Is(err, tt.want) {
				t.Errorf("DecryptAttrs err = %v, want %v", err, tt.want)
			}
		})
	}
	// A padded extra block (MegaApiClient) and non-string values decode.
	a, err := DecryptAttrs(key, encryptAttrPlain(t, key, `MEGA{"n":"x","lbl":3}`+string(make([]byte, 16))))
	if err != nil || a.Name != "x" || string(a.Extra["lbl"]) != "3" {
		t.Errorf("DecryptAttrs(padded) = %+v, %v", a, err)
	}
}

func TestChunkMACPieces(t *testing.T) {
	fk := tvFileKey()
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 1000, macScratch - 1, macScratch, macScratch + 17, 131072, 300000} {
		data := randBytes(uint64(n), n)
		one := NewChunkMAC(&fk)
		one.Write(data)
		want := one.Sum()
		if n > 0 && n%16 == 0 {
			if got := slowCBCMAC(&fk, data); got != want {
				t.Errorf("n=%d: one-shot %x, reference %x", n, want, got)
			}
		}
		for _, pieces := range [][]int{{1}, {7}, {15, 1, 16, 33}, {4096}, {macScratch + 5}, {3, macScratch * 2}} {
			m := NewChunkMAC(&fk)
			m.Write([]byte("garbage before Reset"))
			m.Reset()
			for i, d := 0, data; len(d) > 0; i++ {
				k := min(pieces[i%len(pieces)], len(d))
				if w, err := m.Write(d[:k]); w != k || err != nil {
					t.Fatalf("Write = %d, %v", w, err)
				}
				d = d[k:]
				if i == 2 {
					m.Sum() // Sum must not disturb the state
				}
			}
			if got := m.Sum(); got != want {
				t.Errorf("n=%d pieces %v: MAC %x, want %x", n, pieces, got, want)
			}
		}
	}
}

// slowCBCMAC is the CBC-MAC of §5.3 block by block, for aligned data.
func slowCBCMAC(fk *FileKey, data []byte) [16]byte {
	b := mustAES(&fk.Key)
	var mac [16]byte
	copy(mac[:8], fk.Nonce[:])
	copy(mac[8:], fk.Nonce[:])
	for i := 0; i < len(data); i += 16 {
		for j := range 16 {
			mac[j] ^= data[i+j]
		}
		b.Encrypt(mac[:], mac[:])
	}
	return mac
}

func TestCTROffsets(t *testing.T) {
	fk := tvFileKey()
	data := randBytes(1, 70000)
	full := make([]byte, len(data))
	NewCTR(&fk, 0).XORKeyStream(full, data)
	for _, off := range []int{0, 1, 15, 16, 17, 4095, 4097, 65535, 69999, 70000} {
		for _, n := range []int{0, 1, 15, 16, 33, 4096} {
			n = min(n, len(data)-off)
			got := make([]byte, n)
			s := NewCTR(&fk, int64(off))
			// Encrypt in two uneven pieces.
			h := n / 3
			s.XORKeyStream(got[:h], data[off:off+h])
			s.XORKeyStream(got[h:], data[off+h:off+n])
			if !bytes.Equal(got, full[off:off+n]) {
				t.Errorf("offset %d length %d: CTR differs from the full encryption", off, n)
			}
		}
	}
	// Counter blocks past 2^32 blocks still follow N || BE64(off/16).
	big := int64(1)<<40 + 7
	a := make([]byte, 32)
	NewCTR(&fk, big-7).XORKeyStream(a, make([]byte, 32))
	b := make([]byte, 25)
	NewCTR(&fk, big).XORKeyStream(b, make([]byte, 25))
	if !bytes.Equal(a[7:], b) {
		t.Errorf("CTR at 2^40+7 differs from the aligned stream")
	}
}

func TestChunkMACNoAllocs(t *testing.T) {
	fk := tvFileKey()
	m := NewChunkMAC(&fk)
	data := pattern(100000)
	allocs := testing.AllocsPerRun(20, func() {
		m.Reset()
		for d := data; len(d) > 0; {
			k := min(4099, len(d))
			m.Write(d[:k])
			d = d[k:]
		}
		m.Sum()
	})
	if allocs != 0 {
		t.Errorf("ChunkMAC allocates %.1f times per chunk, want 0", allocs)
	}
}
