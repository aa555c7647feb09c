package megacrypto

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTV14HashcashThreshold(t *testing.T) {
	cases := vectors(t).HashcashThreshold.Cases
	nonEmpty(t, "hashcash_threshold.cases", len(cases))
	for _, tt := range cases {
		t.Run(itoa(int64(tt.Easiness)), func(t *testing.T) {
			if got := HashcashThreshold(tt.Easiness); got != tt.Threshold {
				t.Errorf("HashcashThreshold(%d) = %d, want %d", tt.Easiness, got, tt.Threshold)
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
	tv := vectors(t).HashcashNonces
	nonEmpty(t, "hashcash_nonces.cases", len(tv.Cases))
	token := []byte(tv.Token)
	if got := B64Encode(token); got != tv.TokenB64 {
		t.Fatalf("b64(token) = %s, want %s", got, tv.TokenB64)
	}
	// nonceOf checks that a data-file nonce is 4 bytes.
	nonceOf := func(t *testing.T, b []byte) [4]byte {
		t.Helper()
		if len(b) != 4 {
			t.Fatalf("nonce %x: want 4 bytes", b)
		}
		return [4]byte(b)
	}
	h := newHashcasher(token)
	words := map[[4]byte]uint32{}
	for _, tt := range tv.Cases {
		t.Run(tt.NonceB64, func(t *testing.T) {
			nonce := nonceOf(t, tt.Nonce)
			want, err := strconv.ParseUint(tt.Word, 16, 32)
			if err != nil {
				t.Fatalf("word %q: %v", tt.Word, err)
			}
			words[nonce] = uint32(want)
			if got := B64Encode(nonce[:]); got != tt.NonceB64 {
				t.Errorf("b64(nonce) = %s, want %s", got, tt.NonceB64)
			}
			if got := h.word(nonce); got != uint32(want) {
				t.Errorf("word = %08x, want %08x", got, want)
			}
			if got := HashcashValid(token, nonce, tv.Easiness); got != tt.Valid {
				t.Errorf("HashcashValid = %v, want %v", got, tt.Valid)
			}
		})
	}
	t.Run("literal buffer", func(t *testing.T) {
		nonce := nonceOf(t, tv.LiteralBufferNonce)
		want, ok := words[nonce]
		if !ok {
			t.Fatalf("literal_buffer_nonce %x is not one of the cases", nonce)
		}
		if got := slowHashcashWord(token, nonce); got != want {
			t.Errorf("word = %08x, want %08x", got, want)
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
