//go:build amd64 && !purego

package megacrypto

import (
	"encoding/binary"
	"slices"

	"golang.org/x/sys/cpu"
)

// openLanes8 decrypts 64*nquads bytes in place at each of the eight lane
// pointers dst[i] and advances CBC-MAC state i over the plaintext (see
// open_amd64.s). keys is MultiMAC.keys; ctrs[i] holds the counter blocks
// of lane i's next four blocks, which the kernel does not advance.
// nquads must be at least 1.
//
//go:noescape
func openLanes8(keys *[11][16]byte, states *[8][16]byte, ctrs *[8][64]byte, dst *[8]*byte, nquads int)

// sealLanes8 is the mirror of openLanes8: it advances MAC state i over
// the plaintext at dst[i] and encrypts it in place.
//
//go:noescape
func sealLanes8(keys *[11][16]byte, states *[8][16]byte, ctrs *[8][64]byte, dst *[8]*byte, nquads int)

// openHasFused gates the fused kernel: VAES on 512-bit registers needs
// AVX-512F with the OS saving ZMM state (x/sys/cpu checks XCR0 before it
// reports any AVX-512 feature), and VPSHUFB on them AVX-512BW. The kernel
// uses no 128- or 256-bit EVEX forms, so it does not need AVX-512VL.
var openHasFused = multiMACHasAES && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW &&
	cpu.X86.HasAVX512VAES

// openRun bounds the 64-byte steps per lane of one kernel call: the
// kernel cannot be preempted, and 512 steps are 256 KiB over the eight
// lanes, tens of microseconds.
const openRun = 512

// openFill is how many lanes openFused keeps busy from the queue of
// chunks. Only tests change it, to run with spare lanes.
var openFill = 8

// openLanes is the per-call state of cryptFused: one slot per lane.
type openLanes struct {
	idx   [8]int    // chunk in the slot, -1 if the slot is free
	rest  [8][]byte // the part of the chunk still to open
	ctr   [8]uint64 // block counter of rest[0]
	state [8][16]byte
}

// cryptFused is Open (Seal if seal is set) through the fused kernel. It
// keeps up to eight chunks in flight, like sumFast. Each round it refills
// the free slots from the queue (longest chunk first), then runs the kernel over the 64-byte
// steps that all active lanes have left (capped at openRun); spare lanes
// repeat the last active one. A lane with less than 64 bytes left
// finishes in cryptTail and frees its slot. Chunks at offsets that are
// not a multiple of 16 take the two-pass path on their own: their
// keystream blocks do not line up with their MAC blocks.
func (m *MultiMAC) cryptFused(chunks [][]byte, offs []int64, macs [][16]byte, seal bool) {
	var l openLanes
	for s := range l.idx {
		l.idx[s] = -1
	}
	// The queue, longest chunk first: a short chunk then fills the lane
	// that finishes first, and the lanes end closer together. In a file's
	// first piece (128 KiB up to 1 MiB, then 1 MiB chunks) taking them in
	// file order leaves one lane with 1.375 MiB to go while the others
	// idle; longest first, none has more than 1 MiB.
	var small [16]int
	order := longestFirst(chunks, small[:0])
	next := 0
	for {
		for s := range l.idx[:openFill] {
			for len(l.rest[s]) < 64 {
				if i := l.idx[s]; i >= 0 {
					macs[i] = m.cryptTail(l.state[s], l.rest[s], l.ctr[s], seal)
					l.idx[s], l.rest[s] = -1, nil
				}
				for next < len(order) && offs[order[next]]%16 != 0 {
					i := order[next]
					m.cryptTwoPass(chunks[i:i+1], offs[i:i+1], macs[i:i+1], seal)
					next++
				}
				if next == len(order) {
					break
				}
				i := order[next]
				l.idx[s], l.rest[s], l.ctr[s], l.state[s] = i, chunks[i], uint64(offs[i])/16, m.iv
				next++
			}
		}

		act, na, n := activeLanes(&l.idx, &l.rest, openRun, 64)
		if na == 0 {
			return
		}

		var st [8][16]byte
		var ctrs [8][64]byte
		var dst [8]*byte
		for k := range 8 {
			s := act[min(k, na-1)]
			st[k], dst[k] = l.state[s], &l.rest[s][0]
			for j := range 4 {
				b := ctrs[k][16*j : 16*j+16]
				copy(b[:8], m.iv[:8])
				binary.LittleEndian.PutUint64(b[8:], l.ctr[s]+uint64(j))
			}
		}
		if seal {
			sealLanes8(&m.keys, &st, &ctrs, &dst, n)
		} else {
			openLanes8(&m.keys, &st, &ctrs, &dst, n)
		}
		for k, s := range act[:na] {
			l.state[s] = st[k]
			l.rest[s] = l.rest[s][64*n:]
			l.ctr[s] += 4 * uint64(n)
		}
	}
}

// longestFirst appends to order the indices of chunks, longest chunk
// first (equal lengths in index order), and returns it.
func longestFirst(chunks [][]byte, order []int) []int {
	for i := range chunks {
		order = append(order, i)
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(chunks[b]) - len(chunks[a]) })
	return order
}

// cryptTail decrypts (encrypts if seal is set) the last bytes r (fewer
// than 64) of a chunk in place, their first block at counter ctr, and
// returns the chunk's MAC of the plaintext from state on. Both use
// macLanes4: encrypting a counter block is a MAC step from that block
// over a zero block, and the MAC runs over the plaintext of r zero-padded
// to whole blocks, as ChunkMAC pads the final partial block.
func (m *MultiMAC) cryptTail(state [16]byte, r []byte, ctr uint64, seal bool) [16]byte {
	if len(r) == 0 {
		return state
	}
	nb := (len(r) + 15) / 16
	var ks [4][16]byte
	for j := range nb {
		copy(ks[j][:8], m.iv[:8])
		binary.BigEndian.PutUint64(ks[j][8:], ctr+uint64(j))
	}
	var zero [16]byte
	z := &zero[0]
	macLanes4(&m.keys, &ks, &[4]*byte{z, z, z, z}, 1)
	var pad [64]byte
	if seal {
		copy(pad[:], r)
	}
	for i := range r {
		r[i] ^= ks[i/16][i%16]
	}
	if !seal {
		copy(pad[:], r)
	}
	st := [4][16]byte{state}
	p := &pad[0]
	macLanes4(&m.keys, &st, &[4]*byte{p, p, p, p}, nb)
	return st[0]
}
