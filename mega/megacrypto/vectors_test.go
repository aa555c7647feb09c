package megacrypto

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The known-answer vectors live in testdata/vectors.json (described in
// docs/mega-protocol.md §11); the tests below load them and check every
// value. The fixed inputs are also Go values here because benchmarks and
// other tests use them; TestVectorFixedInputs keeps the two equal.
const (
	tvPassword = "correct horse battery staple"
	tvEmail    = "alice@example.com"
)

var tvMasterKey = seq(0xa0, 16)

// seq returns n bytes start, start+1, ...
func seq(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// pattern returns n bytes with byte[i] = i mod 251.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

// unhex decodes hex, ignoring spaces.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(string(bytes.ReplaceAll([]byte(s), []byte(" "), nil)))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// tvFileKey is K and N of TV10.
func tvFileKey() FileKey {
	var fk FileKey
	copy(fk.Key[:], seq(0, 16))
	copy(fk.Nonce[:], seq(0x10, 8))
	return fk
}

// tvBytes is a byte input of vectors.json: an object with exactly one of
// hex, text, seq ([start, n]), pattern (n: i mod 251) or mod256 (n).
type tvBytes []byte

func (b *tvBytes) UnmarshalJSON(data []byte) error {
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("byte input %s: %w", data, err)
	}
	if len(spec) != 1 {
		return fmt.Errorf("byte input %s: want exactly one of hex, text, seq, pattern, mod256", data)
	}
	for kind, raw := range spec {
		var err error
		switch kind {
		case "hex":
			var s string
			if err = json.Unmarshal(raw, &s); err == nil {
				*b, err = hex.DecodeString(s)
			}
		case "text":
			var s string
			if err = json.Unmarshal(raw, &s); err == nil {
				*b = []byte(s)
			}
		case "seq":
			var sn [2]int
			if err = json.Unmarshal(raw, &sn); err == nil {
				if sn[0] < 0 || sn[0] > 255 || sn[1] < 0 {
					return fmt.Errorf("byte input %s: seq wants [start 0..255, n >= 0]", data)
				}
				*b = seq(byte(sn[0]), sn[1])
			}
		case "pattern", "mod256":
			var n int
			if err = json.Unmarshal(raw, &n); err == nil {
				if n < 0 {
					return fmt.Errorf("byte input %s: negative length", data)
				}
				*b = pattern(n)
				if kind == "mod256" {
					for i := range *b {
						(*b)[i] = byte(i)
					}
				}
			}
		default:
			return fmt.Errorf("byte input %s: unknown kind %q", data, kind)
		}
		if err != nil {
			return fmt.Errorf("byte input %s: %w", data, err)
		}
	}
	return nil
}

// tvHex is a hex string of vectors.json.
type tvHex []byte

func (b *tvHex) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("hex %q: %w", s, err)
	}
	*b = d
	return nil
}

// tvChunk is a chunk as [offset, size].
type tvChunk [2]int64

func (c tvChunk) chunk() Chunk { return Chunk{Offset: c[0], Size: c[1]} }

// testVectors is the layout of testdata/vectors.json. Every object also
// has id, note and source fields, which the tests ignore.
type testVectors struct {
	About  string `json:"about"`
	Source string `json:"source"`
	Fixed  struct {
		tvDoc
		Password  string  `json:"password"`
		Email     string  `json:"email"`
		MasterKey tvBytes `json:"master_key"`
		FileKey   tvBytes `json:"file_key"`
		FileNonce tvBytes `json:"file_nonce"`
	} `json:"fixed_inputs"`
	A32 struct {
		tvDoc
		Words []string `json:"words"`
		Hex   string   `json:"hex"`
		B64   string   `json:"b64"`
	} `json:"a32_base64"`
	PrepareKey struct {
		tvDoc
		Cases []struct {
			Password string `json:"password"`
			Key      string `json:"key"`
		} `json:"cases"`
	} `json:"prepare_key"`
	UserHashV1 struct {
		tvDoc
		PwKey  tvHex    `json:"pw_key"`
		Emails []string `json:"emails"`
		UH     string   `json:"uh"`
	} `json:"user_hash_v1"`
	V2 struct {
		tvDoc
		CRV     tvBytes `json:"crv"`
		Salt    string  `json:"salt"`
		SaltB64 string  `json:"salt_b64"`
		DK      string  `json:"dk"`
		UH      string  `json:"uh"`
		HAK     string  `json:"hak"`
		HAKB64  string  `json:"hak_b64"`
	} `json:"v2_login"`
	MasterKeyWrap struct {
		tvDoc
		V2K string `json:"v2_k"`
		V1K string `json:"v1_k"`
	} `json:"master_key_wrap"`
	Attrs struct {
		tvDoc
		Key        tvBytes `json:"key"`
		Name       string  `json:"name"`
		Encrypted  string  `json:"encrypted"`
		WrappedKey string  `json:"wrapped_key"`
	} `json:"attributes"`
	HandleAuth struct {
		tvDoc
		Handle string `json:"handle"`
		HA     string `json:"ha"`
	} `json:"handle_auth"`
	UserTS struct {
		tvDoc
		Random tvBytes `json:"random"`
		TS     string  `json:"ts"`
	} `json:"user_ts"`
	Chunks struct {
		tvDoc
		Cases []struct {
			Size  int64     `json:"size"`
			Count int       `json:"count"`
			First []tvChunk `json:"first"`
			Last  tvChunk   `json:"last"`
		} `json:"cases"`
		Starts []int64 `json:"starts"`
	} `json:"chunks"`
	FileEncryption struct {
		tvDoc
		FirstBlock string `json:"first_block"`
		Cases      []struct {
			Size      int      `json:"size"`
			SHA256    string   `json:"sha256"`
			ChunkMACs []string `json:"chunk_macs"`
			MetaMAC   string   `json:"meta_mac"`
			K         string   `json:"k"`
		} `json:"cases"`
		NodeKey struct {
			MetaMAC  tvHex  `json:"meta_mac"`
			Plain    string `json:"plain"`
			PlainB64 string `json:"plain_b64"`
			Name     string `json:"name"`
			Attrs    string `json:"attrs"`
		} `json:"node_key"`
		EmptyMetaMAC string `json:"empty_meta_mac"`
	} `json:"file_encryption"`
	CTROffset struct {
		tvDoc
		Size      int   `json:"size"`
		Offset    int64 `json:"offset"`
		Plaintext tvHex `json:"plaintext"`
	} `json:"ctr_offset"`
	Fingerprint struct {
		tvDoc
		Cases []struct {
			Name  string  `json:"name"`
			Data  tvBytes `json:"data"`
			Mtime int64   `json:"mtime"`
			C     string  `json:"c"`
		} `json:"cases"`
	} `json:"fingerprint"`
	FingerprintSDKCRC struct {
		tvDoc
		Cases []struct {
			Name  string   `json:"name"`
			Data  tvBytes  `json:"data"`
			Words [4]int32 `json:"words"`
		} `json:"cases"`
	} `json:"fingerprint_sdk_crc"`
	FingerprintSDKLarge struct {
		tvDoc
		Seed  tvHex `json:"seed"`
		Cases []struct {
			MiB int64  `json:"mib"`
			CRC string `json:"crc"`
		} `json:"cases"`
	} `json:"fingerprint_sdk_large"`
	AttrsWithFingerprint struct {
		tvDoc
		Name      string `json:"name"`
		C         string `json:"c"`
		Encrypted string `json:"encrypted"`
	} `json:"attributes_with_fingerprint"`
	HashcashThreshold struct {
		tvDoc
		Cases []struct {
			Easiness  byte   `json:"easiness"`
			Threshold uint32 `json:"threshold"`
		} `json:"cases"`
	} `json:"hashcash_threshold"`
	HashcashNonces struct {
		tvDoc
		Token    tvBytes `json:"token"`
		TokenB64 string  `json:"token_b64"`
		Easiness byte    `json:"easiness"`
		Cases    []struct {
			Nonce    tvHex  `json:"nonce"`
			NonceB64 string `json:"nonce_b64"`
			Word     string `json:"word"`
			Valid    bool   `json:"valid"`
		} `json:"cases"`
		LiteralBufferNonce tvHex `json:"literal_buffer_nonce"`
	} `json:"hashcash_nonces"`
	UploadChecksum struct {
		tvDoc
		Cases []struct {
			Name     string   `json:"name"`
			Body     *tvBytes `json:"body"`
			CTRange  *[2]int  `json:"ciphertext_range"`
			Checksum string   `json:"checksum"`
		} `json:"cases"`
	} `json:"upload_checksum"`
}

// tvDoc holds the descriptive fields of every vector object.
type tvDoc struct {
	ID     string `json:"id"`
	Note   string `json:"note"`
	Source string `json:"source"`
}

const vectorsFile = "testdata/vectors.json"

var loadVectorsOnce = sync.OnceValues(func() (*testVectors, error) {
	b, err := os.ReadFile(vectorsFile)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a misspelt field would silently skip its checks
	v := new(testVectors)
	if err := dec.Decode(v); err != nil {
		return nil, fmt.Errorf("%s: %w", vectorsFile, err)
	}
	return v, nil
})

// vectors returns the parsed test vectors.
func vectors(t testing.TB) *testVectors {
	t.Helper()
	v, err := loadVectorsOnce()
	if err != nil {
		t.Fatalf("load test vectors: %v", err)
	}
	return v
}

// nonEmpty fails the test if a vector list is empty, so that a data file
// that lost its cases cannot pass by checking nothing.
func nonEmpty(t testing.TB, what string, n int) {
	t.Helper()
	if n == 0 {
		t.Fatalf("%s: %s has no cases", vectorsFile, what)
	}
}

// fileKeyOf is the fixed file key (K and N) of the data file.
func (v *testVectors) fileKeyOf(t testing.TB) FileKey {
	t.Helper()
	var fk FileKey
	if len(v.Fixed.FileKey) != len(fk.Key) || len(v.Fixed.FileNonce) != len(fk.Nonce) {
		t.Fatalf("fixed file key of %d bytes and nonce of %d, want 16 and 8", len(v.Fixed.FileKey), len(v.Fixed.FileNonce))
	}
	copy(fk.Key[:], v.Fixed.FileKey)
	copy(fk.Nonce[:], v.Fixed.FileNonce)
	return fk
}

func TestVectorFixedInputs(t *testing.T) {
	v := vectors(t)
	if v.Fixed.Password != tvPassword || v.Fixed.Email != tvEmail {
		t.Errorf("fixed inputs %q, %q; the Go constants say %q, %q", v.Fixed.Password, v.Fixed.Email, tvPassword, tvEmail)
	}
	if !bytes.Equal(v.Fixed.MasterKey, tvMasterKey) {
		t.Errorf("fixed master key %x; tvMasterKey is %x", []byte(v.Fixed.MasterKey), tvMasterKey)
	}
	if got, want := v.fileKeyOf(t), tvFileKey(); got != want {
		t.Errorf("fixed file key %+v; tvFileKey is %+v", got, want)
	}
}

func TestTV1A32Base64(t *testing.T) {
	tv := vectors(t).A32
	nonEmpty(t, "a32_base64.words", len(tv.Words))
	a := make([]uint32, len(tv.Words))
	for i, w := range tv.Words {
		x, err := strconv.ParseUint(w, 16, 32)
		if err != nil || len(w) != 8 {
			t.Fatalf("word %q: want 8 hex digits (%v)", w, err)
		}
		a[i] = uint32(x)
	}
	b := A32Bytes(a)
	if got := hex.EncodeToString(b); got != tv.Hex {
		t.Errorf("A32Bytes = %s, want %s", got, tv.Hex)
	}
	if got := B64Encode(b); got != tv.B64 {
		t.Errorf("B64Encode = %q, want %q", got, tv.B64)
	}
	d, err := B64Decode(tv.B64)
	if err != nil {
		t.Fatal(err)
	}
	got := A32(d)
	if len(got) != len(a) {
		t.Fatalf("A32 = %x, want %x", got, a)
	}
	for i := range a {
		if got[i] != a[i] {
			t.Errorf("A32 = %x, want %x", got, a)
			break
		}
	}
}

func TestTV2PrepareKey(t *testing.T) {
	tv := vectors(t).PrepareKey
	nonEmpty(t, "prepare_key.cases", len(tv.Cases))
	for _, tt := range tv.Cases {
		t.Run(tt.Password, func(t *testing.T) {
			if got := hex.EncodeToString(PrepareKey([]byte(tt.Password))); got != tt.Key {
				t.Errorf("PrepareKey(%q) = %s, want %s", tt.Password, got, tt.Key)
			}
		})
	}
}

func TestTV3UserHashV1(t *testing.T) {
	tv := vectors(t).UserHashV1
	nonEmpty(t, "user_hash_v1.emails", len(tv.Emails))
	for _, email := range tv.Emails {
		if got := UserHashV1(email, tv.PwKey); got != tv.UH {
			t.Errorf("UserHashV1(%q) = %q, want %q", email, got, tv.UH)
		}
	}
}

func TestTV4TV5V2(t *testing.T) {
	v := vectors(t)
	tv := v.V2
	salt := V2Salt(tv.CRV)
	if got := hex.EncodeToString(salt); got != tv.Salt {
		t.Errorf("V2Salt = %s, want %s", got, tv.Salt)
	}
	if got := B64Encode(salt); got != tv.SaltB64 {
		t.Errorf("b64(salt) = %s, want %s", got, tv.SaltB64)
	}
	pw, auth := DeriveV2([]byte(v.Fixed.Password), salt)
	if got := hex.EncodeToString(pw) + hex.EncodeToString(auth); got != tv.DK {
		t.Errorf("dk = %s, want %s", got, tv.DK)
	}
	if got := B64Encode(auth); got != tv.UH {
		t.Errorf("uh = %s, want %s", got, tv.UH)
	}
	hak := AuthKeyHash(auth)
	if got := hex.EncodeToString(hak); got != tv.HAK {
		t.Errorf("hak = %s, want %s", got, tv.HAK)
	}
	if got := B64Encode(hak); got != tv.HAKB64 {
		t.Errorf("b64(hak) = %s, want %s", got, tv.HAKB64)
	}

	// TV5: master key wrapping.
	mk := []byte(v.Fixed.MasterKey)
	tests := []struct {
		name string
		kek  []byte
		want string
	}{
		{"v2", pw, v.MasterKeyWrap.V2K},
		{"v1", PrepareKey([]byte(v.Fixed.Password)), v.MasterKeyWrap.V1K},
	}
	for _, tt := range tests {
		t.Run("TV5/"+tt.name, func(t *testing.T) {
			k, err := EncryptKey(tt.kek, mk)
			if err != nil {
				t.Fatal(err)
			}
			if got := B64Encode(k); got != tt.want {
				t.Errorf("k = %s, want %s", got, tt.want)
			}
			back, err := DecryptKey(tt.kek, k)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back, mk) {
				t.Errorf("DecryptKey = %x, want %x", back, mk)
			}
		})
	}
}

func TestTV6Attrs(t *testing.T) {
	v := vectors(t)
	tv := v.Attrs
	got, err := EncryptAttrs(tv.Key, Attrs{Name: tv.Name})
	if err != nil {
		t.Fatal(err)
	}
	if got != tv.Encrypted {
		t.Errorf("EncryptAttrs = %s, want %s", got, tv.Encrypted)
	}
	a, err := DecryptAttrs(tv.Key, got)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != tv.Name || a.Fingerprint != "" || a.Extra != nil {
		t.Errorf("DecryptAttrs = %+v, want name %s only", a, tv.Name)
	}
	wk, err := EncryptKey(v.Fixed.MasterKey, tv.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got := B64Encode(wk); got != tv.WrappedKey {
		t.Errorf("wrapped folder key = %s, want %s", got, tv.WrappedKey)
	}
}

func TestTV7HandleAuth(t *testing.T) {
	v := vectors(t)
	got, err := HandleAuth(v.Fixed.MasterKey, v.HandleAuth.Handle)
	if err != nil {
		t.Fatal(err)
	}
	if got != v.HandleAuth.HA {
		t.Errorf("HandleAuth = %s, want %s", got, v.HandleAuth.HA)
	}
}

func TestTV8TS(t *testing.T) {
	v := vectors(t)
	got, err := NewTS(v.Fixed.MasterKey, bytes.NewReader(v.UserTS.Random))
	if err != nil {
		t.Fatal(err)
	}
	if got != v.UserTS.TS {
		t.Errorf("NewTS = %s, want %s", got, v.UserTS.TS)
	}
}

func TestTV9Chunks(t *testing.T) {
	tv := vectors(t).Chunks
	nonEmpty(t, "chunks.cases", len(tv.Cases))
	for _, tt := range tv.Cases {
		t.Run(itoa(tt.Size), func(t *testing.T) {
			cs := Chunks(tt.Size)
			if len(cs) != tt.Count {
				t.Fatalf("Chunks(%d) has %d chunks, want %d: %v", tt.Size, len(cs), tt.Count, cs)
			}
			for i, c := range tt.First {
				if cs[i] != c.chunk() {
					t.Errorf("chunk %d = %v, want %v", i, cs[i], c.chunk())
				}
			}
			if got := cs[len(cs)-1]; got != tt.Last.chunk() {
				t.Errorf("last chunk = %v, want %v", got, tt.Last.chunk())
			}
			var off int64
			for _, c := range cs {
				if c.Offset != off {
					t.Errorf("chunk %v does not start at %d", c, off)
				}
				off += c.Size
			}
			if off != tt.Size {
				t.Errorf("chunks cover %d bytes, want %d", off, tt.Size)
			}
		})
	}
	if len(Chunks(0)) != 0 {
		t.Errorf("Chunks(0) = %v, want none", Chunks(0))
	}
}

func TestChunkStartSize(t *testing.T) {
	starts := vectors(t).Chunks.Starts
	nonEmpty(t, "chunks.starts", len(starts)-1)
	for i, s := range starts[:len(starts)-1] {
		next := starts[i+1]
		for _, off := range []int64{s, s + 1, (s + next) / 2, next - 1} {
			if got := ChunkStart(off); got != s {
				t.Errorf("ChunkStart(%d) = %d, want %d", off, got, s)
			}
			if got := ChunkSizeAt(off); got != next-off {
				t.Errorf("ChunkSizeAt(%d) = %d, want %d", off, got, next-off)
			}
		}
	}
}

// encryptFile encrypts data like an upload: CTR from offset 0 and one
// ChunkMAC per chunk. It returns the ciphertext and the chunk MACs.
func encryptFile(fk *FileKey, data []byte) ([]byte, [][16]byte) {
	ct := make([]byte, len(data))
	NewCTR(fk, 0).XORKeyStream(ct, data)
	m := NewChunkMAC(fk)
	var macs [][16]byte
	for _, c := range Chunks(int64(len(data))) {
		m.Reset()
		m.Write(data[c.Offset : c.Offset+c.Size])
		macs = append(macs, m.Sum())
	}
	return ct, macs
}

func TestTV10FileEncryption(t *testing.T) {
	v := vectors(t)
	tv := v.FileEncryption
	nonEmpty(t, "file_encryption.cases", len(tv.Cases))
	for _, tt := range tv.Cases {
		t.Run(itoa(int64(tt.Size)), func(t *testing.T) {
			fk := v.fileKeyOf(t)
			ct, macs := encryptFile(&fk, pattern(tt.Size))
			sum := sha256.Sum256(ct)
			if got := hex.EncodeToString(sum[:]); got != tt.SHA256 {
				t.Errorf("SHA-256(ciphertext) = %s, want %s", got, tt.SHA256)
			}
			if got := hex.EncodeToString(ct[:16]); got != tv.FirstBlock {
				t.Errorf("first block = %s, want %s", got, tv.FirstBlock)
			}
			if len(macs) != len(tt.ChunkMACs) {
				t.Fatalf("%d chunk MACs, want %d", len(macs), len(tt.ChunkMACs))
			}
			for i := range macs {
				if got := hex.EncodeToString(macs[i][:]); got != tt.ChunkMACs[i] {
					t.Errorf("chunk MAC %d = %s, want %s", i, got, tt.ChunkMACs[i])
				}
			}
			fk.MetaMAC = MetaMAC(&fk, macs)
			if got := hex.EncodeToString(fk.MetaMAC[:]); got != tt.MetaMAC {
				t.Errorf("meta-MAC = %s, want %s", got, tt.MetaMAC)
			}
			wk, err := EncryptKey(v.Fixed.MasterKey, fk.Pack())
			if err != nil {
				t.Fatal(err)
			}
			if got := B64Encode(wk); got != tt.K {
				t.Errorf("wrapped node key = %s, want %s", got, tt.K)
			}
			nk, err := DecryptKey(v.Fixed.MasterKey, wk)
			if err != nil {
				t.Fatal(err)
			}
			back, err := UnpackFileKey(nk)
			if err != nil {
				t.Fatal(err)
			}
			if back != fk {
				t.Errorf("UnpackFileKey = %+v, want %+v", back, fk)
			}
		})
	}

	t.Run("300000/node-key-and-attrs", func(t *testing.T) {
		nkv := tv.NodeKey
		fk := v.fileKeyOf(t)
		if len(nkv.MetaMAC) != len(fk.MetaMAC) {
			t.Fatalf("node_key.meta_mac of %d bytes, want %d", len(nkv.MetaMAC), len(fk.MetaMAC))
		}
		copy(fk.MetaMAC[:], nkv.MetaMAC)
		nk := fk.Pack()
		if got := hex.EncodeToString(nk); got != nkv.Plain {
			t.Errorf("node key = %s, want %s", got, nkv.Plain)
		}
		if got := B64Encode(nk); got != nkv.PlainB64 {
			t.Errorf("b64(node key) = %s, want %s", got, nkv.PlainB64)
		}
		at, err := EncryptAttrs(fk.Key[:], Attrs{Name: nkv.Name})
		if err != nil {
			t.Fatal(err)
		}
		if at != nkv.Attrs {
			t.Errorf("attrs = %s, want %s", at, nkv.Attrs)
		}
	})

	t.Run("empty", func(t *testing.T) {
		fk := v.fileKeyOf(t)
		got := MetaMAC(&fk, nil)
		if h := hex.EncodeToString(got[:]); h != tv.EmptyMetaMAC {
			t.Errorf("MetaMAC(empty) = %s, want %s", h, tv.EmptyMetaMAC)
		}
	})
}

func TestTV11CTROffset(t *testing.T) {
	v := vectors(t)
	tv := v.CTROffset
	fk := v.fileKeyOf(t)
	data := pattern(tv.Size)
	ct, _ := encryptFile(&fk, data)
	off, n := tv.Offset, int64(len(tv.Plaintext))
	if n == 0 || off+n > int64(len(ct)) {
		t.Fatalf("ctr_offset: %d bytes at %d of a %d-byte file", n, off, len(ct))
	}
	got := make([]byte, n)
	NewCTR(&fk, off).XORKeyStream(got, ct[off:off+n])
	if !bytes.Equal(got, tv.Plaintext) {
		t.Errorf("decrypt at %d = %x, want %x", off, got, []byte(tv.Plaintext))
	}
	if !bytes.Equal(got, data[off:off+n]) {
		t.Errorf("decrypt at %d does not match the plaintext", off)
	}
}

func TestTV13AttrsWithFingerprint(t *testing.T) {
	v := vectors(t)
	tv := v.AttrsWithFingerprint
	fk := v.fileKeyOf(t)
	a := Attrs{Name: tv.Name, Fingerprint: tv.C}
	got, err := EncryptAttrs(fk.Key[:], a)
	if err != nil {
		t.Fatal(err)
	}
	if got != tv.Encrypted {
		t.Errorf("EncryptAttrs = %s, want %s", got, tv.Encrypted)
	}
	back, err := DecryptAttrs(fk.Key[:], tv.Encrypted)
	if err != nil {
		t.Fatal(err)
	}
	if back.Name != a.Name || back.Fingerprint != a.Fingerprint || back.Extra != nil {
		t.Errorf("DecryptAttrs = %+v, want %+v", back, a)
	}
}

func TestTV15UploadChecksum(t *testing.T) {
	v := vectors(t)
	tv := v.UploadChecksum
	nonEmpty(t, "upload_checksum.cases", len(tv.Cases))
	fk := v.fileKeyOf(t)
	ct, _ := encryptFile(&fk, pattern(300000))
	for _, tt := range tv.Cases {
		t.Run(tt.Name, func(t *testing.T) {
			var body []byte
			switch {
			case tt.Body != nil && tt.CTRange == nil:
				body = *tt.Body
			case tt.Body == nil && tt.CTRange != nil:
				from, to := tt.CTRange[0], tt.CTRange[1]
				if from < 0 || from > to || to > len(ct) {
					t.Fatalf("ciphertext_range %v outside [0, %d]", *tt.CTRange, len(ct))
				}
				body = ct[from:to]
			default:
				t.Fatalf("case %q: want exactly one of body and ciphertext_range", tt.Name)
			}
			for _, piece := range []int{len(body) + 1, 1, 5, 13, 24, 47, 100} {
				var c UploadChecksum
				for b := body; len(b) > 0; {
					k := min(piece, len(b))
					c.Write(b[:k])
					b = b[k:]
				}
				s := c.Sum()
				if got := B64Encode(s[:]); got != tt.Checksum {
					t.Errorf("pieces of %d: checksum = %s, want %s", piece, got, tt.Checksum)
				}
			}
		})
	}
}

// TestVectorsDocumented checks that every vector object says what it is.
func TestVectorsDocumented(t *testing.T) {
	b, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	for name, raw := range top {
		if name == "about" || name == "source" {
			continue
		}
		var d tvDoc
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if strings.TrimSpace(d.Note) == "" {
			t.Errorf("%s has no note saying what it is", name)
		}
		if name != "fixed_inputs" && (d.ID == "" || strings.TrimSpace(d.Source) == "") {
			t.Errorf("%s needs an id and a source", name)
		}
	}
}

// itoa formats n for subtest names.
func itoa(n int64) string {
	const digits = "0123456789"
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{digits[n%10]}, b...)
	}
	return string(b)
}
