package repo

import "testing"

// FuzzDecodeHeader feeds pack header plaintexts to the decoder: it must
// not panic, and what it accepts must fill the pack exactly.
func FuzzDecodeHeader(f *testing.F) {
	good := encodeHeader(DataBlob, []blobEntry{{Length: 100, RawLength: 72}, {Length: 40, RawLength: 12, Compressed: true}})
	f.Add(good, int64(140+4+len(good)+overhead), int64(len(good)+overhead))
	f.Add([]byte{}, int64(0), int64(0))
	f.Add(good[:41], int64(100), int64(10))
	f.Fuzz(func(t *testing.T, b []byte, size, hdrLen int64) {
		p, err := decodeHeader(b, size, hdrLen)
		if err != nil {
			return
		}
		var sum int64
		for _, e := range p.Blobs {
			if e.Offset != sum || e.Length < overhead {
				t.Fatalf("accepted entry %+v at %d", e, sum)
			}
			sum += e.Length
		}
		if sum+hdrLen+4 != size {
			t.Fatalf("accepted blobs of %d bytes in a pack of %d with a %d-byte header", sum, size, hdrLen)
		}
	})
}

// FuzzReadKeyFile feeds key objects to the parser: it must not panic
// and must refuse anything the password does not open.
func FuzzReadKeyFile(f *testing.F) {
	mk, _ := newMasterKeys()
	kf, err := makeKeyFile(mk, []byte("pw"), testKDF)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(kf)
	f.Add([]byte(`{"kdf":"argon2id","time":1,"memory_kib":8,"threads":1,"salt":"AAAAAAAAAAAAAAAAAAAAAA==","data":"AA=="}`))
	f.Add([]byte(`{"kdf":"argon2id","time":4294967295,"memory_kib":4294967295,"threads":255}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, _, err := openKeyFile(b, []byte("pw"))
		if err == nil && got.valid() != nil {
			t.Fatalf("accepted invalid master keys")
		}
	})
}
