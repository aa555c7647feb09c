package megacrypto

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// hashcashRepeat is how often the token is repeated in the hashed buffer.
const hashcashRepeat = 262144

// hashcashGroup is how many token copies one SHA-256 Write carries.
const hashcashGroup = 1024

// HashcashThreshold is the acceptance threshold for easiness e.
func HashcashThreshold(e byte) uint32 {
	return (uint32(e&63)<<1 + 1) << ((e>>6)*7 + 3)
}

// ParseHashcash parses an X-Hashcash challenge "1:<easiness>:<ts>:<token>".
// The token must be 48 bytes; the timestamp is not interpreted.
func ParseHashcash(header string) (easiness byte, token []byte, err error) {
	parts := strings.Split(strings.TrimSpace(header), ":")
	if len(parts) != 4 {
		return 0, nil, fmt.Errorf("hashcash %q: want 4 fields: %w", abbrev(header), ErrHashcash)
	}
	if parts[0] != "1" {
		return 0, nil, fmt.Errorf("hashcash version %q: %w", abbrev(parts[0]), ErrHashcash)
	}
	e, err := strconv.ParseUint(parts[1], 10, 8)
	if err != nil {
		return 0, nil, fmt.Errorf("hashcash easiness %q: %w", abbrev(parts[1]), ErrHashcash)
	}
	token, err = B64Decode(parts[3])
	if err != nil {
		return 0, nil, fmt.Errorf("hashcash token: %w: %w", ErrHashcash, err)
	}
	if len(token) != 48 {
		return 0, nil, fmt.Errorf("hashcash token of %d bytes, want 48: %w", len(token), ErrHashcash)
	}
	return byte(e), token, nil
}

// hashcasher hashes nonce || token*262144 with a reusable buffer.
type hashcasher struct {
	group []byte // token repeated hashcashGroup times
}

func newHashcasher(token []byte) *hashcasher {
	return &hashcasher{group: bytes.Repeat(token, hashcashGroup)}
}

// word returns the first big-endian word of the proof-of-work hash.
func (h *hashcasher) word(nonce [4]byte) uint32 {
	d := sha256.New()
	d.Write(nonce[:])
	for range hashcashRepeat / hashcashGroup {
		d.Write(h.group)
	}
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint32(d.Sum(sum[:0]))
}

// HashcashValid reports whether nonce solves token at easiness.
func HashcashValid(token []byte, nonce [4]byte, easiness byte) bool {
	return newHashcasher(token).word(nonce) <= HashcashThreshold(easiness)
}

// SolveHashcash searches nonces on workers goroutines until one is valid or
// ctx ends. Returns the reply header value "1:<token b64>:<nonce b64>".
//
// Worker w tries the big-endian nonces w, w+workers, ... (the SDK's
// order). All workers have returned when SolveHashcash returns.
func SolveHashcash(ctx context.Context, token []byte, easiness byte, workers int) (string, error) {
	workers = max(workers, 1)
	threshold := HashcashThreshold(easiness)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		wg    sync.WaitGroup
		once  sync.Once
		found [4]byte // set once; read after wg.Wait
		ok    bool
	)
	for w := range workers {
		wg.Go(func() {
			h := newHashcasher(token)
			for n := uint64(w); n <= 0xffffffff; n += uint64(workers) {
				if ctx.Err() != nil {
					return
				}
				var nonce [4]byte
				binary.BigEndian.PutUint32(nonce[:], uint32(n))
				if h.word(nonce) <= threshold {
					once.Do(func() {
						found = nonce
						ok = true
						cancel()
					})
					return
				}
			}
		})
	}
	wg.Wait()
	if ok {
		return "1:" + B64Encode(token) + ":" + B64Encode(found[:]), nil
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("solve hashcash: %w", err)
	}
	return "", fmt.Errorf("solve hashcash: no nonce solves easiness %d", easiness)
}
