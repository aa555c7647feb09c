package megacrypto

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// Fixed inputs of mega-protocol.md §11.
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

func TestTV1A32Base64(t *testing.T) {
	a := []uint32{0x93C467E3, 0x7DB0C7A4, 0xD1BE3F81, 0x0152CB56}
	const want = "k8Rn432wx6TRvj-BAVLLVg"
	b := A32Bytes(a)
	if got := hex.EncodeToString(b); got != "93c467e37db0c7a4d1be3f810152cb56" {
		t.Errorf("A32Bytes = %s", got)
	}
	if got := B64Encode(b); got != want {
		t.Errorf("B64Encode = %q, want %q", got, want)
	}
	d, err := B64Decode(want)
	if err != nil {
		t.Fatal(err)
	}
	got := A32(d)
	if len(got) != 4 || got[0] != a[0] || got[3] != a[3] {
		t.Errorf("A32 = %x, want %x", got, a)
	}
}

func TestTV2PrepareKey(t *testing.T) {
	tests := []struct{ password, want string }{
		{"", "93c467e37db0c7a4d1be3f810152cb56"},
		{"correct horse", "34d7d398763025c1f27060c1d39f36da"},
		{tvPassword, "57d978ef82e99ea50ab00045e8614d7b"},
	}
	for _, tt := range tests {
		t.Run(tt.password, func(t *testing.T) {
			if got := hex.EncodeToString(PrepareKey([]byte(tt.password))); got != tt.want {
				t.Errorf("PrepareKey(%q) = %s, want %s", tt.password, got, tt.want)
			}
		})
	}
}

func TestTV3UserHashV1(t *testing.T) {
	pk := unhex(t, "57d978ef82e99ea50ab00045e8614d7b")
	for _, email := range []string{tvEmail, "Alice@Example.COM"} {
		if got, want := UserHashV1(email, pk), "nly9AmfJ7EA"; got != want {
			t.Errorf("UserHashV1(%q) = %q, want %q", email, got, want)
		}
	}
}

func TestTV4TV5V2(t *testing.T) {
	salt := V2Salt(seq(0, 16))
	if got, want := hex.EncodeToString(salt), "efc68bf1440fb0ad7f9a39fe07670fd9b7320e10e337fb3e628c5bb297b7f277"; got != want {
		t.Errorf("V2Salt = %s, want %s", got, want)
	}
	if got, want := B64Encode(salt), "78aL8UQPsK1_mjn-B2cP2bcyDhDjN_s-Yoxbspe38nc"; got != want {
		t.Errorf("b64(salt) = %s, want %s", got, want)
	}
	pw, auth := DeriveV2([]byte(tvPassword), salt)
	if got, want := hex.EncodeToString(pw)+hex.EncodeToString(auth), "96d0958e5723b376ddc725eaf64005491bf0a342015316e5ce02b5ad71f8437d"; got != want {
		t.Errorf("dk = %s, want %s", got, want)
	}
	if got, want := B64Encode(auth), "G_CjQgFTFuXOArWtcfhDfQ"; got != want {
		t.Errorf("uh = %s, want %s", got, want)
	}
	hak := AuthKeyHash(auth)
	if got, want := hex.EncodeToString(hak), "21a9c79e650052f0a49df5427c9802b9"; got != want {
		t.Errorf("hak = %s, want %s", got, want)
	}
	if got, want := B64Encode(hak), "IanHnmUAUvCknfVCfJgCuQ"; got != want {
		t.Errorf("b64(hak) = %s, want %s", got, want)
	}

	// TV5: master key wrapping.
	tests := []struct {
		name string
		kek  []byte
		want string
	}{
		{"v2", pw, "gpGNCXPaPqswFTv-YUhlpQ"},
		{"v1", PrepareKey([]byte(tvPassword)), "z4MLjNkUd8hduxureFloVw"},
	}
	for _, tt := range tests {
		t.Run("TV5/"+tt.name, func(t *testing.T) {
			k, err := EncryptKey(tt.kek, tvMasterKey)
			if err != nil {
				t.Fatal(err)
			}
			if got := B64Encode(k); got != tt.want {
				t.Errorf("k = %s, want %s", got, tt.want)
			}
			mk, err := DecryptKey(tt.kek, k)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(mk, tvMasterKey) {
				t.Errorf("DecryptKey = %x, want %x", mk, tvMasterKey)
			}
		})
	}
}

func TestTV6Attrs(t *testing.T) {
	key := seq(0x10, 16)
	got, err := EncryptAttrs(key, Attrs{Name: "hello.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "bN-DbMmD6O8DR4YYyml9iFHME0UPo4VA4JnIDSSxN6Y"; got != want {
		t.Errorf("EncryptAttrs = %s, want %s", got, want)
	}
	a, err := DecryptAttrs(key, got)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "hello.txt" || a.Fingerprint != "" || a.Extra != nil {
		t.Errorf("DecryptAttrs = %+v, want name hello.txt only", a)
	}
	wk, err := EncryptKey(tvMasterKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := B64Encode(wk), "hN-YiER8rI156hI5cqIKcw"; got != want {
		t.Errorf("wrapped folder key = %s, want %s", got, want)
	}
}

func TestTV7HandleAuth(t *testing.T) {
	got, err := HandleAuth(tvMasterKey, "q6iclUe-")
	if err != nil {
		t.Fatal(err)
	}
	if want := "i7ZxqHdhKAMs0E9L1wm8sw"; got != want {
		t.Errorf("HandleAuth = %s, want %s", got, want)
	}
}

func TestTV8TS(t *testing.T) {
	got, err := NewTS(tvMasterKey, bytes.NewReader(seq(0x30, 16)))
	if err != nil {
		t.Fatal(err)
	}
	if want := "MDEyMzQ1Njc4OTo7PD0-Pybi_XhpSw8syp9bxw53CzE"; got != want {
		t.Errorf("NewTS = %s, want %s", got, want)
	}
}

func TestTV9Chunks(t *testing.T) {
	tests := []struct {
		size  int64
		n     int
		first []Chunk
		last  Chunk
	}{
		{400000, 3, []Chunk{{0, 131072}, {131072, 262144}, {393216, 6784}}, Chunk{393216, 6784}},
		{4718592, 8, nil, Chunk{3670016, 1048576}},
		{10485760, 14, nil, Chunk{9961472, 524288}},
		{1, 1, []Chunk{{0, 1}}, Chunk{0, 1}},
		{131072, 1, []Chunk{{0, 131072}}, Chunk{0, 131072}},
		{131073, 2, nil, Chunk{131072, 1}},
	}
	for _, tt := range tests {
		t.Run(itoa(tt.size), func(t *testing.T) {
			cs := Chunks(tt.size)
			if len(cs) != tt.n {
				t.Fatalf("Chunks(%d) has %d chunks, want %d: %v", tt.size, len(cs), tt.n, cs)
			}
			for i, c := range tt.first {
				if cs[i] != c {
					t.Errorf("chunk %d = %v, want %v", i, cs[i], c)
				}
			}
			if got := cs[len(cs)-1]; got != tt.last {
				t.Errorf("last chunk = %v, want %v", got, tt.last)
			}
			var off int64
			for _, c := range cs {
				if c.Offset != off {
					t.Errorf("chunk %v does not start at %d", c, off)
				}
				off += c.Size
			}
			if off != tt.size {
				t.Errorf("chunks cover %d bytes, want %d", off, tt.size)
			}
		})
	}
	if len(Chunks(0)) != 0 {
		t.Errorf("Chunks(0) = %v, want none", Chunks(0))
	}
}

func TestChunkStartSize(t *testing.T) {
	starts := []int64{0, 131072, 393216, 786432, 1310720, 1966080, 2752512, 3670016, 4718592, 5767168, 6815744}
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
	tests := []struct {
		n       int
		sha     string
		macs    []string
		metaMAC string
		k       string
	}{
		{16, "8fa6adba7c21639a98f4a34cd6c4bb0976a867a868bd66e54c60d44a3bc79567",
			[]string{"0a2505e1074289eaccbf86e450bcf15b"}, "81f0acf8c24fb7b4", "9FpR2bntxTEMwnbFAVVupOe0-xTVeBPRnlVjWdtqoF0"},
		{131072, "eee5cd6400a30a6c80e72f4c64d4fb7a23f0393ccf9d7b380136ebc40449ad2d",
			[]string{"17f3450813b1243736bf7c9eca93c198"}, "2554d9bf92da5549", "NVCyxiWT5tPCByfteMd88i4PdSedmyLjvXakfEqgWP0"},
		{300000, "e1cb1390afcced51e0964aba4f781482600248817037d734f127b5fe28159c2c",
			[]string{"17f3450813b1243736bf7c9eca93c198", "c58a1fd0b5a72feac14ecde08626840f"}, "5388b52214072b72", "WPuupNKvu062wH-BLcdAo0Q7GKhmwmdn2U0N-X3SHBw"},
	}
	for _, tt := range tests {
		t.Run(itoa(int64(tt.n)), func(t *testing.T) {
			fk := tvFileKey()
			ct, macs := encryptFile(&fk, pattern(tt.n))
			sum := sha256.Sum256(ct)
			if got := hex.EncodeToString(sum[:]); got != tt.sha {
				t.Errorf("SHA-256(ciphertext) = %s, want %s", got, tt.sha)
			}
			if got, want := hex.EncodeToString(ct[:16]), "8de7dac3d95eca9fd74f30c1ecf8247a"; got != want {
				t.Errorf("first block = %s, want %s", got, want)
			}
			if len(macs) != len(tt.macs) {
				t.Fatalf("%d chunk MACs, want %d", len(macs), len(tt.macs))
			}
			for i := range macs {
				if got := hex.EncodeToString(macs[i][:]); got != tt.macs[i] {
					t.Errorf("chunk MAC %d = %s, want %s", i, got, tt.macs[i])
				}
			}
			fk.MetaMAC = MetaMAC(&fk, macs)
			if got := hex.EncodeToString(fk.MetaMAC[:]); got != tt.metaMAC {
				t.Errorf("meta-MAC = %s, want %s", got, tt.metaMAC)
			}
			wk, err := EncryptKey(tvMasterKey, fk.Pack())
			if err != nil {
				t.Fatal(err)
			}
			if got := B64Encode(wk); got != tt.k {
				t.Errorf("wrapped node key = %s, want %s", got, tt.k)
			}
			nk, err := DecryptKey(tvMasterKey, wk)
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
		fk := tvFileKey()
		copy(fk.MetaMAC[:], unhex(t, "5388b52214072b72"))
		nk := fk.Pack()
		if got, want := hex.EncodeToString(nk), "10101010101010105b81bf29180a257d10111213141516175388b52214072b72"; got != want {
			t.Errorf("node key = %s, want %s", got, want)
		}
		if got, want := B64Encode(nk), "EBAQEBAQEBBbgb8pGAolfRAREhMUFRYXU4i1IhQHK3I"; got != want {
			t.Errorf("b64(node key) = %s, want %s", got, want)
		}
		at, err := EncryptAttrs(fk.Key[:], Attrs{Name: "pattern.bin"})
		if err != nil {
			t.Fatal(err)
		}
		if want := "TbePF-uajswmqups_mJ8QSf2akq6bAx3k_ua5FkkVIE"; at != want {
			t.Errorf("attrs = %s, want %s", at, want)
		}
	})

	t.Run("empty", func(t *testing.T) {
		fk := tvFileKey()
		if got := MetaMAC(&fk, nil); got != [8]byte{} {
			t.Errorf("MetaMAC(empty) = %x, want zeros", got)
		}
	})
}

func TestTV11CTROffset(t *testing.T) {
	fk := tvFileKey()
	data := pattern(300000)
	ct, _ := encryptFile(&fk, data)
	const off = 131120
	got := make([]byte, 32)
	NewCTR(&fk, off).XORKeyStream(got, ct[off:off+32])
	want := unhex(t, "62636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f8081")
	if !bytes.Equal(got, want) {
		t.Errorf("decrypt at %d = %x, want %x", off, got, want)
	}
	if !bytes.Equal(got, data[off:off+32]) {
		t.Errorf("decrypt at %d does not match the plaintext", off)
	}
}

func TestTV13AttrsWithFingerprint(t *testing.T) {
	fk := tvFileKey()
	a := Attrs{Name: "pattern.bin", Fingerprint: "lGjTAJjxdKIc32EmgYbPLQQA8VNl"}
	got, err := EncryptAttrs(fk.Key[:], a)
	if err != nil {
		t.Fatal(err)
	}
	const want = "iRqwuUTPPEL85pQOO-gDtEFT5gpCqejQqemZ3MZj38Mkadpf4aG1KZadnLPn9r4Fxe84Hmam-dK4E_zmByj_Cw"
	if got != want {
		t.Errorf("EncryptAttrs = %s, want %s", got, want)
	}
	back, err := DecryptAttrs(fk.Key[:], want)
	if err != nil {
		t.Fatal(err)
	}
	if back.Name != a.Name || back.Fingerprint != a.Fingerprint || back.Extra != nil {
		t.Errorf("DecryptAttrs = %+v, want %+v", back, a)
	}
}

func TestTV15UploadChecksum(t *testing.T) {
	fk := tvFileKey()
	ct, _ := encryptFile(&fk, pattern(300000))
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"bytes 00..1f", seq(0, 32), "FBUWFwgJCgscHBwc"},
		{"pattern(300000) ciphertext [131072,300000)", ct[131072:300000], "mgjeYx5sIgNfbVjD"},
		{"empty", nil, "AAAAAAAAAAAAAAAA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, piece := range []int{len(tt.body) + 1, 1, 5, 13, 24, 47, 100} {
				var c UploadChecksum
				for b := tt.body; len(b) > 0; {
					k := min(piece, len(b))
					c.Write(b[:k])
					b = b[k:]
				}
				s := c.Sum()
				if got := B64Encode(s[:]); got != tt.want {
					t.Errorf("pieces of %d: checksum = %s, want %s", piece, got, tt.want)
				}
			}
		})
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
