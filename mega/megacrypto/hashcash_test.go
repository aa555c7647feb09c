package megacrypto

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTV14HashcashThreshold(t *testing.T) {
	tests := []struct {
		e    byte
		want uint32
	}{
		{0, 8}, {1, 24}, {63, 1016}, {64, 1024}, {100, 74752},
		{128, 131072}, {192, 16777216}, {255, 0x7f000000},
	}
	for _, tt := range tests {
		t.Run(itoa(int64(tt.e)), func(t *testing.T) {
			if got := HashcashThreshold(tt.e); got != tt.want {
				t.Errorf("HashcashThreshold(%d) = %d, want %d", tt.e, got, tt.want)
			}
		})
	}
}

// slowHashcashWord hashes the literal 12 MiB buffer of §1.5.
func slowHashcashWord(token []byte, nonce [4]byte) uint32 {
	buf := append([]byte{}, nonce[:]...)
	buf = append(buf, []byte(strings.Repeat(string(token), hashcashRepeat))...)
	sum := sha256.Sum256(buf)
	return binary.BigEndian.Uint32(sum[:])
}

func TestTV14HashcashNonces(t *testing.T) {
	token := seq(0, 48)
	if got, want := B64Encode(token), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v"; got != want {
		t.Fatalf("b64(token) = %s, want %s", got, want)
	}
	tests := []struct {
		nonce [4]byte
		b64   string
		word  uint32
		valid bool
	}{
		{[4]byte{0, 0, 0, 0}, "AAAAAA", 0xc2425050, false},
		{[4]byte{0, 0, 0, 1}, "AAAAAQ", 0x1c095eee, true},
		{[4]byte{1, 0, 0, 0}, "AQAAAA", 0x24f4bfc1, true},
	}
	h := newHashcasher(token)
	for _, tt := range tests {
		t.Run(tt.b64, func(t *testing.T) {
			if got := B64Encode(tt.nonce[:]); got != tt.b64 {
				t.Errorf("b64(nonce) = %s, want %s", got, tt.b64)
			}
			if got := h.word(tt.nonce); got != tt.word {
				t.Errorf("word = %08x, want %08x", got, tt.word)
			}
			if got := HashcashValid(token, tt.nonce, 255); got != tt.valid {
				t.Errorf("HashcashValid = %v, want %v", got, tt.valid)
			}
		})
	}
	t.Run("literal buffer", func(t *testing.T) {
		if got := slowHashcashWord(token, [4]byte{0, 0, 0, 1}); got != 0x1c095eee {
			t.Errorf("word = %08x, want 1c095eee", got)
		}
	})
}

func TestParseHashcash(t *testing.T) {
	const tok = "RUvIePV2PNO8ofg8xp1aT5ugBcKSEzwKoLBw9o4E6F_fmn44eC3oMpv388UtFl2K"
	e, token, err := ParseHashcash("1:100:1731410499:" + tok)
	if err != nil {
		t.Fatal(err)
	}
	if e != 100 || B64Encode(token) != tok {
		t.Errorf("ParseHashcash = %d, %s; want 100, %s", e, B64Encode(token), tok)
	}
	bad := []string{
		"", "1:100:1731410499", "2:100:1:" + tok, "1:256:1:" + tok, "1:-1:1:" + tok,
		"1:x:1:" + tok, "1:100:1:" + tok[:60], "1:100:1:" + tok + ":x", "1:100:1:!" + tok[1:],
	}
	for _, h := range bad {
		t.Run(h, func(t *testing.T) {
			if _, _, err := ParseHashcash(h); !errors.Is(err, ErrHashcash) {
				t.Errorf("ParseHashcash(%q) err = %v, want ErrHashcash", h, err)
			}
		})
	}
}

func TestSolveHashcash(t *testing.T) {
	token := seq(0, 48)
	for _, workers := range []int{0, 1, 2, 4} {
		t.Run("workers="+itoa(int64(workers)), func(t *testing.T) {
			got, err := SolveHashcash(t.Context(), token, 255, workers)
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(got, ":")
			if len(parts) != 3 || parts[0] != "1" || parts[1] != B64Encode(token) {
				t.Fatalf("SolveHashcash = %q, want 1:<token>:<nonce>", got)
			}
			nb, err := B64Decode(parts[2])
			if err != nil || len(nb) != 4 {
				t.Fatalf("nonce %q: %v", parts[2], err)
			}
			if !HashcashValid(token, [4]byte(nb), 255) {
				t.Errorf("nonce %x does not solve the challenge", nb)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, err := SolveHashcash(ctx, token, 0, 2) // threshold 8: effectively unsolvable
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
	})
}
