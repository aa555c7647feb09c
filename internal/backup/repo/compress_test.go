package repo

import (
	"bytes"
	"fmt"
	"testing"

	"ferry/internal/backend/memory"
)

// textBytes returns n bytes of compressible text.
func textBytes(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "line %d: the quick brown fox jumps over the lazy dog\n", i)
	}
	return b.Bytes()[:n]
}

func TestCompression(t *testing.T) {
	half := append(textBytes(512<<10), randBytes(3, 512<<10)...)
	for _, tc := range []struct {
		policy, name string
		data         []byte
		compressed   bool
	}{
		{"auto", "text", textBytes(1 << 20), true},
		{"auto", "zeros", make([]byte, 1<<20), true},
		{"auto", "random", randBytes(1, 1<<20), false},
		{"auto", "small random", randBytes(2, 300), false},
		{"auto", "tiny text", textBytes(100), false},
		{"auto", "half text half random", half, true},
		{"max", "text", textBytes(1 << 20), true},
		{"max", "random", randBytes(1, 1<<20), false},
		{"off", "text", textBytes(1 << 20), false},
		{"off", "zeros", make([]byte, 1<<20), false},
	} {
		t.Run(tc.policy+"/"+tc.name, func(t *testing.T) {
			ctx := t.Context()
			o := testOptions(t)
			o.Compression = tc.policy
			be := memory.New()
			r := initRepo(t, be, o)
			id, _, stored, err := r.SaveBlob(ctx, DataBlob, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			pb, _ := r.Lookup(DataBlob, id)
			if pb.Compressed != tc.compressed {
				t.Errorf("compressed %v, want %v (stored %d of %d bytes)", pb.Compressed, tc.compressed, stored, len(tc.data))
			}
			if !tc.compressed && stored != len(tc.data)+overhead {
				t.Errorf("stored %d bytes raw, want %d", stored, len(tc.data)+overhead)
			}
			if tc.compressed && stored > len(tc.data)*3/4 {
				t.Errorf("stored %d of %d bytes compressed", stored, len(tc.data))
			}
			r2 := openRepo(t, be, testOptions(t))
			got, err := r2.LoadBlob(ctx, DataBlob, id, nil)
			if err != nil || !bytes.Equal(got, tc.data) {
				t.Fatalf("LoadBlob: %v (equal %v)", err, bytes.Equal(got, tc.data))
			}
		})
	}
}

// TestCompressionOption checks that Open's Compression overrides the
// config's and that the config's is kept otherwise.
func TestCompressionOption(t *testing.T) {
	ctx := t.Context()
	be := memory.New()
	o := testOptions(t)
	o.Compression = "off"
	initRepo(t, be, o)
	for _, tc := range []struct{ open, want string }{{"", "off"}, {"auto", "auto"}} {
		o := testOptions(t)
		o.Compression = tc.open
		r := openRepo(t, be, o)
		id, _, _, err := r.SaveBlob(ctx, DataBlob, textBytes(10000+len(tc.open)))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		pb, _ := r.Lookup(DataBlob, id)
		if pb.Compressed != (tc.want != "off") {
			t.Errorf("Open with compression %q: compressed %v, want policy %q", tc.open, pb.Compressed, tc.want)
		}
	}
	o.Compression = "fast"
	if _, err := Open(ctx, be, testPassword, o); err == nil {
		t.Errorf("Open with compression \"fast\" succeeded")
	}
}

// TestDecodeBadZstd checks that a blob whose zstd frame is damaged under
// a valid seal, or claims another length, is ErrCorrupt.
func TestDecodeBadZstd(t *testing.T) {
	r := initRepo(t, memory.New(), testOptions(t))
	plain := textBytes(5000)
	z := compress("auto", nil, plain)
	if z == nil {
		t.Fatal("text did not compress")
	}
	id := r.BlobID(plain)
	for name, body := range map[string][]byte{
		"truncated": z[:len(z)/2],
		"garbage":   append([]byte{0x28, 0xb5, 0x2f, 0xfd}, bytes.Repeat([]byte{0xff}, 50)...),
	} {
		sealed, _ := r.c.seal(nil, body)
		pb := PackedBlob{Type: DataBlob, ID: id, Length: int64(len(sealed)), RawLength: int64(len(plain)), Compressed: true}
		if _, err := r.DecodeBlob(pb, sealed, nil); err == nil {
			t.Errorf("%s: DecodeBlob succeeded", name)
		}
	}
	sealed, _ := r.c.seal(nil, z)
	pb := PackedBlob{Type: DataBlob, ID: id, Length: int64(len(sealed)), RawLength: int64(len(plain)) - 1, Compressed: true}
	if _, err := r.DecodeBlob(pb, sealed, nil); err == nil {
		t.Errorf("DecodeBlob with a wrong raw length succeeded")
	}
	pb.RawLength++
	if got, err := r.DecodeBlob(pb, sealed, nil); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("DecodeBlob of the good frame: %v", err)
	}
}
