package megacrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"testing"
)

const benchSize = 1 << 20

func BenchmarkCTR(b *testing.B) {
	fk := tvFileKey()
	src := pattern(benchSize)
	dst := make([]byte, benchSize)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		NewCTR(&fk, 12345).XORKeyStream(dst, src)
	}
}

func BenchmarkChunkMAC(b *testing.B) {
	fk := tvFileKey()
	src := pattern(benchSize)
	m := NewChunkMAC(&fk)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		m.Reset()
		m.Write(src)
		m.Sum()
	}
}

// BenchmarkCBCMACRate is the machine's raw AES-CBC encryption rate in the
// standard library: the ceiling for BenchmarkChunkMAC.
func BenchmarkCBCMACRate(b *testing.B) {
	blk, err := aes.NewCipher(seq(0, 16))
	if err != nil {
		b.Fatal(err)
	}
	src := pattern(benchSize)
	dst := make([]byte, benchSize)
	cbc := cipher.NewCBCEncrypter(blk, seq(0x10, 16))
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		cbc.CryptBlocks(dst, src)
	}
}

func BenchmarkMetaMAC(b *testing.B) {
	fk := tvFileKey()
	macs := make([][16]byte, len(Chunks(100<<20))) // a 100 MiB file
	for i := range macs {
		copy(macs[i][:], randBytes(uint64(i), 16))
	}
	b.ReportAllocs()
	for b.Loop() {
		MetaMAC(&fk, macs)
	}
}

func BenchmarkEncryptAttrs(b *testing.B) {
	key := seq(0, 16)
	a := Attrs{Name: "holiday photos 2024 - beach.jpg", Fingerprint: "lGjTAJjxdKIc32EmgYbPLQQA8VNl"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncryptAttrs(key, a); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecryptAttrs(b *testing.B) {
	key := seq(0, 16)
	s, err := EncryptAttrs(key, Attrs{Name: "holiday photos 2024 - beach.jpg", Fingerprint: "lGjTAJjxdKIc32EmgYbPLQQA8VNl"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecryptAttrs(key, s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFingerprint(b *testing.B) {
	b.Run("stream-64MiB", func(b *testing.B) {
		const size = 64 << 20
		chunk := pattern(benchSize)
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			f := NewFingerprinter(size)
			for range size / benchSize {
				f.Write(chunk)
			}
			f.Sum(1700000000)
		}
	})
	b.Run("stream-1MiB-4KiB-writes", func(b *testing.B) {
		data := pattern(benchSize)
		b.SetBytes(benchSize)
		b.ReportAllocs()
		for b.Loop() {
			f := NewFingerprinter(benchSize)
			for d := data; len(d) > 0; d = d[4096:] {
				f.Write(d[:4096])
			}
			f.Sum(1700000000)
		}
	})
	b.Run("readerat-1MiB", func(b *testing.B) {
		r := bytes.NewReader(pattern(benchSize))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Fingerprint(r, benchSize, 1700000000); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("small-8KiB", func(b *testing.B) {
		data := pattern(8192)
		b.SetBytes(8192)
		b.ReportAllocs()
		for b.Loop() {
			f := NewFingerprinter(8192)
			f.Write(data)
			f.Sum(1700000000)
		}
	})
}

func BenchmarkUploadChecksum(b *testing.B) {
	src := pattern(benchSize)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		var c UploadChecksum
		c.Write(src)
		c.Sum()
	}
}

func BenchmarkPrepareKey(b *testing.B) {
	pw := []byte(tvPassword)
	b.ReportAllocs()
	for b.Loop() {
		PrepareKey(pw)
	}
}

func BenchmarkDeriveV2(b *testing.B) {
	pw, salt := []byte(tvPassword), V2Salt(seq(0, 16))
	b.ReportAllocs()
	for b.Loop() {
		DeriveV2(pw, salt)
	}
}

// BenchmarkHashcashTry is one proof-of-work attempt (12 MiB of SHA-256).
func BenchmarkHashcashTry(b *testing.B) {
	token := seq(0, 48)
	b.SetBytes(4 + 48*hashcashRepeat)
	b.ReportAllocs()
	for b.Loop() {
		HashcashValid(token, [4]byte{1, 2, 3, 4}, 255)
	}
}

func BenchmarkDecryptSessionID(b *testing.B) {
	k := rsaKey(b)
	sid, err := NewSessionID("d5cBoeO7s9Q", bytes.NewReader(seq(1, 64)))
	if err != nil {
		b.Fatal(err)
	}
	csid, err := EncryptSessionID(k.N, k.E, sid, bytes.NewReader(make([]byte, 255)))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecryptSessionID(k, csid); err != nil {
			b.Fatal(err)
		}
	}
}
