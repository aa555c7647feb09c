package chunker

import (
	"fmt"
	"math/bits"
)

// Params are the chunk size bounds, in bytes: no chunk is shorter than
// Min (except the last one of a stream) or longer than Max, and chunks of
// random data are Avg long on average. DefaultParams: Min 512 KiB, Avg
// 1 MiB, Max 8 MiB.
//
// A repository stores its Params in its config: changing them, like
// changing the key, moves every boundary, so the same data would be
// stored again.
type Params struct{ Min, Avg, Max int }

// DefaultParams returns the bounds backups use unless a repository's
// config says otherwise: Min 512 KiB, Avg 1 MiB, Max 8 MiB.
func DefaultParams() Params {
	return Params{Min: 512 << 10, Avg: 1 << 20, Max: 8 << 20}
}

// Bounds on Params, checked by Validate.
const (
	// MinSize is the smallest Min: shorter chunks cost more in index
	// entries than they can save.
	MinSize = 64
	// MaxSize is the largest Max: the chunker holds about two Max in
	// memory.
	MaxSize = 1 << 30
)

// Validate reports what is wrong with p, naming the field and value:
// MinSize <= Min <= Avg <= Max <= MaxSize is required.
func (p Params) Validate() error {
	switch {
	case p.Min < MinSize:
		return fmt.Errorf("chunker: Min %d is below %d", p.Min, MinSize)
	case p.Avg < p.Min:
		return fmt.Errorf("chunker: Avg %d is below Min %d", p.Avg, p.Min)
	case p.Max < p.Avg:
		return fmt.Errorf("chunker: Max %d is below Avg %d", p.Max, p.Avg)
	case p.Max > MaxSize:
		return fmt.Errorf("chunker: Max %d is above %d", p.Max, MaxSize)
	}
	return nil
}

// String formats p as "min/avg/max" byte counts.
func (p Params) String() string {
	return fmt.Sprintf("%d/%d/%d", p.Min, p.Avg, p.Max)
}

// windowBits is the number of low hash bits the masks draw from. Bit j of
// the gear hash depends on the last j+1 bytes only (each step shifts the
// hash left by one), so masks spread over bits 0..47 make every cut
// decision depend on the last 48 bytes, the window the FastCDC paper
// chooses.
const windowBits = 48

// cutPoints are the values derived from Params that the scan uses.
type cutPoints struct {
	min, normal, max int
	// maskS is used from min to normal: two bits more than Avg's, so
	// cuts there are rare; maskL from normal to max: two bits fewer, so a
	// cut soon follows. This "normalized chunking" (FastCDC, level 2)
	// keeps chunk sizes close to Avg.
	maskS, maskL uint64
}

// derive computes the cut points of valid Params. The normal size, where
// the scan switches from maskS to maskL, is Avg - Avg/4 (but at least
// Min): the chunks then average Avg on random data, since past the normal
// size maskL cuts after Avg/4 bytes on average. Only integer arithmetic is
// used, so boundaries are the same on every platform.
func (p Params) derive() cutPoints {
	b := bits.Len(uint(p.Avg)) - 1 // floor(log2(Avg))
	if b < 3 {
		b = 3
	}
	normal := max(p.Avg-p.Avg/4, p.Min)
	return cutPoints{
		min:    p.Min,
		normal: min(normal, p.Max),
		max:    p.Max,
		maskS:  spreadMask(b + 2),
		maskL:  spreadMask(b - 2),
	}
}

// spreadMask returns a mask of n one bits spread evenly over bits
// 0..windowBits-1, the highest at windowBits-1.
func spreadMask(n int) uint64 {
	n = min(max(n, 1), windowBits)
	var m uint64
	for i := range n {
		m |= 1 << (windowBits - 1 - i*windowBits/n)
	}
	return m
}
