//go:build amd64 && !purego

package megacrypto

import "golang.org/x/sys/cpu"

// The kernels in multimac_amd64.s advance 4 or 8 independent CBC-MAC lanes
// by nblocks whole blocks each. Lane i starts from states[i] and reads
// 16*nblocks bytes at src[i]; its new state is written back to states[i].
// keys is MultiMAC.keys. nblocks must be at least 1.
//
//go:noescape
func macLanes4(keys *[11][16]byte, states *[4][16]byte, src *[4]*byte, nblocks int)

//go:noescape
func macLanes8(keys *[11][16]byte, states *[8][16]byte, src *[8]*byte, nblocks int)

// multiMACHasAES gates the kernels (AESENC, AESENCLAST; the rest is SSE2).
var multiMACHasAES = cpu.X86.HasAES

// Lane policy, by measurement on this project's machine (AMD EPYC with
// AVX-512 and VAES, under KVM): one kernel step costs about the AESENC
// latency chain of one block (10 rounds) for 4 lanes and barely more for 8,
// so 8 lanes nearly double the rate. Sum over 8 x 1 MiB runs at 10.4 GB/s
// with 8 lanes against 5.7 GB/s with 4. With at most 4 active chains
// macLanes4 is faster than macLanes8 with spare lanes (4 x 1 MiB: 5.6
// against 5.3 GB/s) and does half the AES work. A single chain goes through
// macLanes4 too: 1.4 GB/s, faster than the standard library's CBC (1.0).
const multiMACLanes = 8 // most lanes in flight: the wide kernel's

// Tests and benchmarks change these to exercise both kernels; nothing else
// writes them.
var (
	multiMACFill   = multiMACLanes // lanes kept busy from the queue of chunks
	multiMACNarrow = 4             // up to this many active lanes use macLanes4
)

// multiMACRun bounds the blocks per kernel call. The kernels cannot be
// preempted; 2048 blocks per lane is at most 256 KiB of input per call,
// tens of microseconds.
const multiMACRun = 2048

func (m *MultiMAC) initFast(fk *FileKey) bool {
	if !multiMACHasAES {
		return false
	}
	rk := expandKey128(&fk.Key)
	m.keys = rk
	for i := range 16 {
		m.keys[10][i] = rk[10][i] ^ rk[0][i]
	}
	return true
}

// macLanes is the per-call state of sumFast: one slot per lane.
type macLanes struct {
	idx   [multiMACLanes]int    // chunk in the slot, -1 if the slot is free
	rest  [multiMACLanes][]byte // whole blocks still to MAC (the chunk or pad)
	tail  [multiMACLanes][]byte // final partial block, still to be padded
	state [multiMACLanes][16]byte
	pad   [multiMACLanes][16]byte // the zero-padded final block
}

// sumFast keeps up to multiMACLanes chunks in flight. Each round it refills
// the free slots from the queue of chunks, then advances every active lane
// by the whole blocks that all of them have left (the shortest lane's
// remainder, capped at multiMACRun). A lane whose whole blocks are done
// moves on to its zero-padded final block, if any, then retires.
func (m *MultiMAC) sumFast(chunks [][]byte, macs [][16]byte) {
	var l macLanes
	for s := range l.idx {
		l.idx[s] = -1
	}
	next := 0
	for {
		// Refill: give every slot whole blocks to work on, if any are left.
		for s := range l.idx[:multiMACFill] {
			for len(l.rest[s]) == 0 {
				if i := l.idx[s]; i >= 0 {
					if len(l.tail[s]) > 0 {
						l.pad[s] = [16]byte{}
						copy(l.pad[s][:], l.tail[s])
						l.rest[s], l.tail[s] = l.pad[s][:], nil
						break
					}
					macs[i] = l.state[s]
					l.idx[s] = -1
				}
				if next == len(chunks) {
					break
				}
				c := chunks[next]
				w := len(c) &^ 15
				l.idx[s], l.rest[s], l.tail[s], l.state[s] = next, c[:w], c[w:], m.iv
				next++
			}
		}

		act, na, n := activeLanes(&l.idx, &l.rest, multiMACRun, 16)
		if na == 0 {
			return
		}

		// Run a kernel. Spare lanes repeat the last active lane; their
		// results are dropped.
		width := 8
		if na <= min(multiMACNarrow, 4) {
			width = 4
		}
		var st [8][16]byte
		var src [8]*byte
		for k := range width {
			s := act[min(k, na-1)]
			st[k], src[k] = l.state[s], &l.rest[s][0]
		}
		if width == 4 {
			macLanes4(&m.keys, (*[4][16]byte)(st[:4]), (*[4]*byte)(src[:4]), n)
		} else {
			macLanes8(&m.keys, &st, &src, n)
		}
		for k, s := range act[:na] {
			l.state[s] = st[k]
		}
		for _, s := range act[:na] {
			l.rest[s] = l.rest[s][16*n:]
		}
	}
}

// activeLanes returns the slots of the lanes in use (idx[s] >= 0), how
// many there are, and the whole units of unit bytes that all of them have
// left, at most run: what one kernel call may advance every lane by.
func activeLanes(idx *[multiMACLanes]int, rest *[multiMACLanes][]byte, run, unit int) (act [multiMACLanes]int, na, n int) {
	n = run
	for s, i := range idx {
		if i >= 0 {
			act[na] = s
			na++
			n = min(n, len(rest[s])/unit)
		}
	}
	return act, na, n
}

// expandKey128 is the AES-128 key expansion of FIPS 197 §5.2: the eleven
// round keys, each in the byte order AESENC takes from memory.
func expandKey128(key *[16]byte) [11][16]byte {
	var w [44][4]byte
	for i := range 4 {
		w[i] = [4]byte(key[4*i:])
	}
	rcon := byte(1)
	for i := 4; i < 44; i++ {
		t := w[i-1]
		if i%4 == 0 {
			// RotWord, SubWord, then the round constant.
			t = [4]byte{sbox[t[1]] ^ rcon, sbox[t[2]], sbox[t[3]], sbox[t[0]]}
			rcon = gfMul(rcon, 2)
		}
		for j := range 4 {
			w[i][j] = w[i-4][j] ^ t[j]
		}
	}
	var rk [11][16]byte
	for i := range w {
		copy(rk[i/4][4*(i%4):], w[i][:])
	}
	return rk
}

// gfMul multiplies in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1.
func gfMul(a, b byte) byte {
	var p byte
	for ; b != 0; b >>= 1 {
		if b&1 != 0 {
			p ^= a
		}
		carry := a & 0x80
		a <<= 1
		if carry != 0 {
			a ^= 0x1b
		}
	}
	return p
}

// sbox is the AES S-box as a table, built once: NewCTR expands a key for
// every stream, and computing 40 S-box values from scratch each time cost
// more than encrypting 32 KiB.
var sbox = func() (t [256]byte) {
	for x := range t {
		t[x] = aesSbox(byte(x))
	}
	return t
}()

// aesSbox computes the AES S-box (FIPS 197 §5.1.1): the multiplicative
// inverse in GF(2^8) (as x^254, so 0 maps to 0) followed by the affine map.
// Only the key expansion needs it, 40 times per key, so there is no table.
func aesSbox(x byte) byte {
	inv := byte(1)
	for e, y := 254, x; e != 0; e >>= 1 {
		if e&1 != 0 {
			inv = gfMul(inv, y)
		}
		y = gfMul(y, y)
	}
	rotl := func(b byte, k uint) byte { return b<<k | b>>(8-k) }
	return inv ^ rotl(inv, 1) ^ rotl(inv, 2) ^ rotl(inv, 3) ^ rotl(inv, 4) ^ 0x63
}
