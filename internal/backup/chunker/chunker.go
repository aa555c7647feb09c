// Package chunker splits a stream into content-defined chunks with
// FastCDC, so that data shifted by an insertion or a deletion is cut at
// the same places and a backup stores each chunk once.
//
// # Algorithm
//
// The scan keeps a gear hash: for each byte b, h = h<<1 + gear[b], where
// gear is a table of 256 random 64-bit values. A chunk ends after the
// first byte at which h&mask == 0. No cut is looked for in the first Min
// bytes of a chunk (they are not even hashed: the hash starts from zero at
// Min), a cut is forced at Max, and between Min and Max the scan uses
// FastCDC's normalized chunking with two masks: a harder one (two bits
// more than log2(Avg)) up to the normal size Avg - Avg/4 and an easier one
// (two bits fewer) after it. Chunk sizes then cluster around Avg rather
// than spreading out geometrically. The masks' bits are spread over the
// hash's low 48 bits, so a cut depends on the last 48 bytes.
//
// # Keyed boundaries
//
// The gear table is derived from a 32-byte key (the repository's chunker
// key): it is the first 2048 bytes of the AES-256-CTR keystream under that
// key with an all-zero IV, read as 256 little-endian uint64 values.
// Without the key, chunk sizes reveal nothing about which known content a
// repository holds. The same key, Params and input always give the same
// chunks, on every platform (only integer arithmetic decides).
//
// # Memory
//
// Next reads each chunk straight into the caller's buffer, which grows to
// at most Max bytes, in reads of up to 64 KiB once the chunk's first Min
// bytes are in: the bytes are hashed while they are still in the CPU's
// cache, and only what was read past a chunk's end (less than 64 KiB) is
// kept, and copied, for the next chunk. Nothing else of the input is
// held.
package chunker

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// KeySize is the length of a chunker key.
const KeySize = 32

// readBlock is the size of the reads after a chunk's first Min bytes: the
// most a chunk is read past its end.
const readBlock = 64 << 10

// Chunker cuts the stream of one reader into chunks. It is not safe for
// concurrent use.
type Chunker struct {
	r     io.Reader
	gear  [256]uint64
	cp    cutPoints
	block int // the read size after Min: readBlock, or less for small Params
	// carry holds what the last read brought in past the last chunk's end:
	// the start of the next chunk.
	carry []byte
	eof   bool  // r returned io.EOF
	err   error // sticky: a bad key or Params, a read error, or io.EOF at the end
}

// New returns a chunker reading r, with a gear table derived from key (32
// bytes, from the repository's master key) so chunk boundaries do not leak
// content to someone without the key. A key of the wrong length or invalid
// Params make the first Next fail with an error saying which.
func New(r io.Reader, key []byte, p Params) *Chunker {
	c := &Chunker{r: r}
	if len(key) != KeySize {
		c.err = fmt.Errorf("chunker: key is %d bytes, want %d", len(key), KeySize)
		return c
	}
	if err := p.Validate(); err != nil {
		c.err = err
		return c
	}
	c.gear = gearTable(key)
	c.cp = p.derive()
	c.block = min(readBlock, max(p.Min, 4<<10))
	return c
}

// Reset makes c read r from its start, keeping the key, Params and
// buffer, so one Chunker can cut many files without allocating. A Chunker
// whose New failed stays failed.
func (c *Chunker) Reset(r io.Reader) {
	if c.block == 0 { // New failed: keep its error
		return
	}
	c.r = r
	c.carry = c.carry[:0]
	c.eof, c.err = false, nil
}

// gearTable derives the gear table from key (see the package doc).
func gearTable(key []byte) [256]uint64 {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("chunker: " + err.Error()) // unreachable: the key is 32 bytes
	}
	var iv [aes.BlockSize]byte
	stream := make([]byte, 256*8)
	cipher.NewCTR(block, iv[:]).XORKeyStream(stream, stream)
	var g [256]uint64
	for i := range g {
		g[i] = binary.LittleEndian.Uint64(stream[i*8:])
	}
	return g
}

// Next returns the next chunk, stored in buf (grown if too small) and
// valid until the next call; io.EOF after the last chunk. An empty input
// has no chunks. Every chunk is between Min and Max bytes long except the
// last, which may be shorter than Min. A read error is returned as it is,
// and again by every later call.
func (c *Chunker) Next(buf []byte) ([]byte, error) {
	if c.err != nil {
		return nil, c.err
	}
	out := append(buf[:0], c.carry...)
	c.carry = c.carry[:0]
	// The scan of this chunk has hashed out[:i] (from Min on) into h.
	i, h := c.cp.min, uint64(0)
	for {
		n, ok := 0, false
		if n, i, h, ok = c.scan(out, i, h); ok {
			c.carry = append(c.carry, out[n:]...)
			return out[:n], nil
		}
		if c.eof {
			if len(out) == 0 {
				c.err = io.EOF
				return nil, io.EOF
			}
			return out, nil
		}
		var err error
		if out, err = c.read(out); err != nil {
			c.err = err
			return nil, err
		}
	}
}

// read appends input to out: up to Min bytes, or readBlock more, never
// past Max. It reads until it has them or the input ends.
func (c *Chunker) read(out []byte) ([]byte, error) {
	target := len(out) + c.block
	if len(out) < c.cp.min {
		target = c.cp.min
	}
	target = min(target, c.cp.max)
	if cap(out) < target {
		nb := make([]byte, len(out), min(max(target, 2*cap(out)), c.cp.max))
		copy(nb, out)
		out = nb
	}
	for len(out) < target {
		n, err := c.r.Read(out[len(out):target])
		if n < 0 || n > target-len(out) {
			return out, errors.New("chunker: reader returned an invalid count")
		}
		out = out[:len(out)+n]
		if err == io.EOF {
			c.eof = true
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// scan looks for the end of the chunk at the start of data, going on from
// offset i with hash h, where the last scan of it stopped. It returns the
// chunk's length and true if the end is within data (a cut, or Max
// reached), or false, the offset and the hash to go on from once more
// data is in.
func (c *Chunker) scan(data []byte, i int, h uint64) (int, int, uint64, bool) {
	if end := min(c.cp.normal, len(data)); i < end {
		n, hh, ok := gearScan(&c.gear, data[i:end], h, c.cp.maskS)
		if ok {
			return i + n, 0, 0, true
		}
		i, h = end, hh
	}
	if end := min(c.cp.max, len(data)); i < end {
		n, hh, ok := gearScan(&c.gear, data[i:end], h, c.cp.maskL)
		if ok {
			return i + n, 0, 0, true
		}
		i, h = end, hh
	}
	if len(data) >= c.cp.max {
		return c.cp.max, 0, 0, true
	}
	return 0, i, h, false
}

// gearScan rolls the gear hash h over d and returns the length of the
// prefix of d after which h&mask is first zero, or false and the hash
// after all of d. It takes four bytes a step: the hash after them,
// h<<4 + (gear[a]<<3 + gear[b]<<2 + gear[c]<<1 + gear[d]), depends on h
// through one shift and one add, and the three hashes between are
// computed beside it from h and the same partial sums. That shortens the
// loop's dependency chain and saves instructions per byte; cuts fall
// exactly where a byte-at-a-time loop puts them.
func gearScan(gear *[256]uint64, d []byte, h, mask uint64) (int, uint64, bool) {
	g := gear[:] // one nil check here, not one per byte
	j := 0
	for ; j < len(d)-3; j += 4 {
		a, b, c, e := g[d[j]], g[d[j+1]], g[d[j+2]], g[d[j+3]]
		t2 := a<<1 + b
		t3 := t2<<1 + c
		t4 := t3<<1 + e
		h1 := h<<1 + a
		h2 := h<<2 + t2
		h3 := h<<3 + t3
		h = h<<4 + t4
		if h1&mask == 0 {
			return j + 1, h1, true
		}
		if h2&mask == 0 {
			return j + 2, h2, true
		}
		if h3&mask == 0 {
			return j + 3, h3, true
		}
		if h&mask == 0 {
			return j + 4, h, true
		}
	}
	for ; j < len(d); j++ {
		h = h<<1 + g[d[j]]
		if h&mask == 0 {
			return j + 1, h, true
		}
	}
	return len(d), h, false
}
