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
// A Chunker reads through a buffer of at most Max plus Avg bytes (it
// starts small and grows only for inputs that need it), and never holds
// more of the input. Next copies each chunk into the caller's buffer.
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

// initialBuffer is the size of a new Chunker's read buffer; it grows up to
// Max+Avg for inputs longer than that.
const initialBuffer = 64 << 10

// Chunker cuts the stream of one reader into chunks. It is not safe for
// concurrent use.
type Chunker struct {
	r    io.Reader
	gear [256]uint64
	cp   cutPoints

	// buf[start:end] is read but not yet returned; the chunk being looked
	// for starts at start.
	buf        []byte
	start, end int
	limit      int // the most buf grows to: Max+Avg
	// pos and h are where the scan of the current chunk stopped (relative
	// to start) and the hash there, so a scan that ran out of data goes on
	// after the next read instead of starting over.
	pos int
	h   uint64
	eof bool  // r returned io.EOF
	err error // sticky: a bad key or Params, a read error, or io.EOF at the end
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
	c.limit = p.Max + p.Avg
	c.pos = c.cp.min
	return c
}

// Reset makes c read r from its start, keeping the key, Params and
// buffer, so one Chunker can cut many files without allocating. A Chunker
// whose New failed stays failed.
func (c *Chunker) Reset(r io.Reader) {
	if c.limit == 0 { // New failed: keep its error
		return
	}
	c.r = r
	c.start, c.end = 0, 0
	c.pos, c.h = c.cp.min, 0
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
	for {
		if n, ok := c.scan(c.buf[c.start:c.end]); ok {
			return c.take(buf, n), nil
		}
		if c.eof {
			if c.start == c.end {
				c.err = io.EOF
				return nil, io.EOF
			}
			return c.take(buf, c.end-c.start), nil
		}
		if err := c.fill(); err != nil {
			c.err = err
			return nil, err
		}
	}
}

// take copies the first n unread bytes into buf and starts the next chunk
// after them.
func (c *Chunker) take(buf []byte, n int) []byte {
	buf = append(buf[:0], c.buf[c.start:c.start+n]...)
	c.start += n
	c.pos, c.h = c.cp.min, 0
	return buf
}

// fill reads more input after moving the unread bytes to the front of buf,
// growing buf up to its limit when the unread bytes fill it. It reads until
// buf is full or the input ends.
func (c *Chunker) fill() error {
	if c.start > 0 {
		c.end = copy(c.buf, c.buf[c.start:c.end])
		c.start = 0
	}
	if c.end == len(c.buf) {
		n := min(max(2*len(c.buf), initialBuffer), c.limit)
		nb := make([]byte, n)
		copy(nb, c.buf[:c.end])
		c.buf = nb
	}
	for c.end < len(c.buf) {
		n, err := c.r.Read(c.buf[c.end:])
		if n < 0 || n > len(c.buf)-c.end {
			return errors.New("chunker: reader returned an invalid count")
		}
		c.end += n
		if err == io.EOF {
			c.eof = true
			return nil
		}
		if err != nil {
			return err
		}
		if n == 0 && c.end < len(c.buf) {
			// A reader may return 0, nil; keep reading, as io.ReadFull does.
			continue
		}
	}
	return nil
}

// scan looks for the end of the chunk starting at data[0], going on from
// where the last scan of this chunk stopped. It returns the chunk's length
// and true if the end is within data (a cut, or Max reached), or false if
// more data is needed.
func (c *Chunker) scan(data []byte) (int, bool) {
	i, h := c.pos, c.h
	if end := min(c.cp.normal, len(data)); i < end {
		n, hh, ok := gearScan(&c.gear, data[i:end], h, c.cp.maskS)
		if ok {
			return i + n, true
		}
		i, h = end, hh
	}
	if end := min(c.cp.max, len(data)); i < end {
		n, hh, ok := gearScan(&c.gear, data[i:end], h, c.cp.maskL)
		if ok {
			return i + n, true
		}
		i, h = end, hh
	}
	if len(data) >= c.cp.max {
		return c.cp.max, true
	}
	c.pos, c.h = i, h
	return 0, false
}

// gearScan rolls the gear hash h over d and returns the length of the
// prefix of d after which h&mask is first zero, or false and the hash
// after all of d. It handles two bytes per step: the hash after both,
// (h<<2) + (gear[a]<<1 + gear[b]), depends on h through one shift and one
// add, while the hash between them is computed beside it, which halves
// the loop's dependency chain.
func gearScan(gear *[256]uint64, d []byte, h, mask uint64) (int, uint64, bool) {
	g := gear[:] // one nil check here, not one per byte
	j := 0
	for ; j < len(d)-1; j += 2 {
		a, b := g[d[j]], g[d[j+1]]
		h1 := h<<1 + a
		h = h<<2 + (a<<1 + b)
		if h1&mask == 0 {
			return j + 1, h1, true
		}
		if h&mask == 0 {
			return j + 2, h, true
		}
	}
	if j < len(d) {
		h = h<<1 + g[d[j]]
		if h&mask == 0 {
			return j + 1, h, true
		}
	}
	return len(d), h, false
}
