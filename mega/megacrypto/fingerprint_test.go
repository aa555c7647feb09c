package megacrypto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// fingerprintStreamed feeds data to a Fingerprinter in pieces of the given
// sizes, cycling through them.
func fingerprintStreamed(t *testing.T, data []byte, pieces []int, mtime int64) string {
	t.Helper()
	f := NewFingerprinter(int64(len(data)))
	for i := 0; len(data) > 0; i++ {
		k := min(pieces[i%len(pieces)], len(data))
		if n, err := f.Write(data[:k]); n != k || err != nil {
			t.Fatalf("Write(%d bytes) = %d, %v", k, n, err)
		}
		data = data[k:]
	}
	return f.Sum(mtime)
}

var streamPieces = [][]int{{1}, {7}, {4096}, {1, 7, 4096}, {8192 + 13}, {1 << 20}}

func TestTV12Fingerprint(t *testing.T) {
	cases := vectors(t).Fingerprint.Cases
	nonEmpty(t, "fingerprint.cases", len(cases))
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			got, err := Fingerprint(bytes.NewReader(tt.Data), int64(len(tt.Data)), tt.Mtime)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.C {
				t.Errorf("Fingerprint = %s, want %s", got, tt.C)
			}
			for _, pieces := range streamPieces {
				if got := fingerprintStreamed(t, tt.Data, pieces, tt.Mtime); got != tt.C {
					t.Errorf("Fingerprinter in pieces %v = %s, want %s", pieces, got, tt.C)
				}
			}
			crc, m, err := ParseFingerprint(tt.C)
			if err != nil {
				t.Fatal(err)
			}
			if m != tt.Mtime {
				t.Errorf("ParseFingerprint mtime = %d, want %d", m, tt.Mtime)
			}
			if got := FormatFingerprint(crc, m); got != tt.C {
				t.Errorf("FormatFingerprint(ParseFingerprint) = %s, want %s", got, tt.C)
			}
		})
	}
}

// crcWords reads a fingerprint's CRC part as the SDK's unit tests print it:
// four host (little-endian) int32 words.
func crcWords(t *testing.T, c string) [4]int32 {
	t.Helper()
	crc, _, err := ParseFingerprint(c)
	if err != nil {
		t.Fatal(err)
	}
	var w [4]int32
	for i := range w {
		w[i] = int32(binary.LittleEndian.Uint32(crc[4*i:]))
	}
	return w
}

func TestTV12SDKCRCVectors(t *testing.T) {
	cases := vectors(t).FingerprintSDKCRC.Cases
	nonEmpty(t, "fingerprint_sdk_crc.cases", len(cases))
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			c, err := Fingerprint(bytes.NewReader(tt.Data), int64(len(tt.Data)), 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := crcWords(t, c); got != tt.Words {
				t.Errorf("CRC words = %d, want %d", got, tt.Words)
			}
			if got := crcWords(t, fingerprintStreamed(t, tt.Data, []int{7}, 0)); got != tt.Words {
				t.Errorf("streamed CRC words = %d, want %d", got, tt.Words)
			}
		})
	}
}

// xorshiftReader is the SDK test's xorshift32 byte stream as an io.ReaderAt
// that may only move forward; it never holds the data.
type xorshiftReader struct {
	x   uint32
	pos int64
}

func (r *xorshiftReader) next() byte {
	r.x ^= r.x << 13
	r.x ^= r.x >> 17
	r.x ^= r.x << 5
	r.pos++
	return byte(r.x)
}

func (r *xorshiftReader) ReadAt(p []byte, off int64) (int, error) {
	if off < r.pos {
		return 0, errors.New("xorshiftReader: backwards read")
	}
	x, pos := r.x, r.pos
	for ; pos < off; pos++ { // locals only: fast even under -race
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
	}
	r.x, r.pos = x, pos
	for i := range p {
		p[i] = r.next()
	}
	return len(p), nil
}

func TestTV12SDKLargeFiles(t *testing.T) {
	tv := vectors(t).FingerprintSDKLarge
	nonEmpty(t, "fingerprint_sdk_large.cases", len(tv.Cases))
	if len(tv.Seed) != 4 {
		t.Fatalf("fingerprint_sdk_large.seed of %d bytes, want 4", len(tv.Seed))
	}
	seed := binary.BigEndian.Uint32(tv.Seed)
	if testing.Short() {
		t.Skip("walks 180 MiB of xorshift data")
	}
	for i, tt := range tv.Cases {
		t.Run(itoa(tt.MiB)+"MiB", func(t *testing.T) {
			size := tt.MiB << 20
			c, err := Fingerprint(&xorshiftReader{x: seed}, size, 0)
			if err != nil {
				t.Fatal(err)
			}
			crc, _, err := ParseFingerprint(c)
			if err != nil {
				t.Fatal(err)
			}
			if got := B64Encode(crc[:]); got != tt.CRC {
				t.Errorf("CRC = %s, want %s", got, tt.CRC)
			}
			if i != 0 {
				return
			}
			// Stream the first file once through a Fingerprinter.
			r := &xorshiftReader{x: seed}
			f := NewFingerprinter(size)
			buf := make([]byte, 64<<10+5)
			for r.pos < size {
				p := buf[:min(int64(len(buf)), size-r.pos)]
				r.ReadAt(p, r.pos)
				f.Write(p)
			}
			if got := f.Sum(0); got != c {
				t.Errorf("streamed = %s, want %s", got, c)
			}
		})
	}
}

func TestFingerprintSizes(t *testing.T) {
	// Around every regime boundary, ReaderAt and streaming must agree.
	for _, n := range []int{0, 1, 15, 16, 17, 18, 19, 20, 8191, 8192, 8193, 8194, 8256, 8320, 16383, 16384, 16385, 1 << 20} {
		data := pattern(n)
		want, err := Fingerprint(bytes.NewReader(data), int64(n), 12345)
		if err != nil {
			t.Fatal(err)
		}
		for _, pieces := range streamPieces {
			if got := fingerprintStreamed(t, data, pieces, 12345); got != want {
				t.Errorf("size %d, pieces %v: streamed %s, ReaderAt %s", n, pieces, got, want)
			}
		}
	}
}

func TestFingerprintErrors(t *testing.T) {
	t.Run("short reader", func(t *testing.T) {
		_, err := Fingerprint(bytes.NewReader(pattern(100)), 200, 0)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("err = %v, want io.ErrUnexpectedEOF", err)
		}
		_, err = Fingerprint(bytes.NewReader(pattern(10000)), 20000, 0)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("large: err = %v, want io.ErrUnexpectedEOF", err)
		}
	})
	t.Run("write past size", func(t *testing.T) {
		f := NewFingerprinter(10)
		n, err := f.Write(pattern(12))
		if n != 10 || !errors.Is(err, ErrFingerprint) {
			t.Errorf("Write = %d, %v; want 10, ErrFingerprint", n, err)
		}
	})
	for _, c := range []string{"", "AAAA", "AAAAAAAAAAAAAAAAAAAAAAk", "AAAAAAAAAAAAAAAAAAAAAAQA8V", "!!"} {
		t.Run("parse "+c, func(t *testing.T) {
			if _, _, err := ParseFingerprint(c); !errors.Is(err, ErrFingerprint) {
				t.Errorf("ParseFingerprint(%q) err = %v, want ErrFingerprint", c, err)
			}
		})
	}
}

func TestFormatFingerprintMtimes(t *testing.T) {
	var crc [16]byte
	for _, m := range []int64{0, 1, 255, 256, 1700000000, 1<<40 + 3, -1, -1700000000} {
		crc[0] = byte(m)
		_, got, err := ParseFingerprint(FormatFingerprint(crc, m))
		if err != nil || got != m {
			t.Errorf("mtime %d: round trip gave %d, %v", m, got, err)
		}
	}
}

func TestFingerprintHugeSizeOffsets(t *testing.T) {
	// Offsets stay sorted and in range even where 64-bit products overflow.
	for _, size := range []int64{8193, 1 << 32, 1<<56 + 12345, 1<<63 - 1} {
		f := NewFingerprinter(size)
		for k := 1; k < fpWindows; k++ {
			if f.offs[k] < f.offs[k-1] {
				t.Errorf("size %d: offset %d (%d) < offset %d (%d)", size, k, f.offs[k], k-1, f.offs[k-1])
			}
		}
		if got, want := f.offs[fpWindows-1], size-fpWindow; got != want {
			t.Errorf("size %d: last window at %d, want %d", size, got, want)
		}
	}
}
