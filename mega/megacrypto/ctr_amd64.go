//go:build amd64 && !purego

package megacrypto

import (
	"crypto/cipher"
	"encoding/binary"

	"golang.org/x/sys/cpu"
)

// ctrVAES sets dst to src xor the keystream of nblocks whole blocks from
// the counter pair ctr (see ctr_amd64.s); keys is the AES-128 schedule with
// every round key twice in a row. It does not advance ctr.
//
//go:noescape
func ctrVAES(keys *[11][32]byte, ctr *[32]byte, dst, src *byte, nblocks int)

// cpuid7ecx returns ECX of CPUID leaf 7, subleaf 0 (bit 9: VAES).
func cpuid7ecx() uint32

// ctrHasVAES gates the kernel: VAES on 256-bit registers needs AVX2 with
// the OS saving YMM state (cpu.X86.HasAVX2 says both) and the VAES bit,
// which x/sys/cpu reports only on AVX-512 machines, hence the own CPUID.
var ctrHasVAES = cpu.X86.HasAVX2 && cpu.X86.HasAES && cpuid7ecx()&(1<<9) != 0

// ctrRun bounds the blocks per kernel call (64 KiB): the kernel cannot be
// preempted, and this keeps a call to a few microseconds.
const ctrRun = 4096

// vaesCTR is MEGA's AES-128-CTR (N || BE64(block)) through ctrVAES.
type vaesCTR struct {
	keys  [11][32]byte
	nonce [8]byte
	ctr   uint64   // the next block's counter
	ks    [16]byte // keystream of the block before ctr
	used  int      // bytes of ks already used; 16 when none are left
}

// newFastCTR returns the VAES stream at byte offset off, or false when the
// kernel is not available (or a test turned it off).
func newFastCTR(fk *FileKey, off int64) (cipher.Stream, bool) {
	if !ctrHasVAES || ctrPortable {
		return nil, false
	}
	s := &vaesCTR{nonce: fk.Nonce, ctr: uint64(off) / 16, used: 16}
	rk := expandKey128(&fk.Key)
	for i := range rk {
		copy(s.keys[i][:16], rk[i][:])
		copy(s.keys[i][16:], rk[i][:])
	}
	if skip := int(off % 16); skip != 0 {
		s.refill()
		s.used = skip
	}
	return s, true
}

// pair lays out the counter pair for the kernel, starting at s.ctr.
func (s *vaesCTR) pair() *[32]byte {
	var c [32]byte
	copy(c[0:8], s.nonce[:])
	binary.LittleEndian.PutUint64(c[8:16], s.ctr)
	copy(c[16:24], s.nonce[:])
	binary.LittleEndian.PutUint64(c[24:32], s.ctr+1)
	return &c
}

// refill computes the keystream block of s.ctr into s.ks and steps on.
func (s *vaesCTR) refill() {
	s.ks = [16]byte{}
	ctrVAES(&s.keys, s.pair(), &s.ks[0], &s.ks[0], 1)
	s.ctr++
	s.used = 0
}

// XORKeyStream implements cipher.Stream. dst and src may be the same
// buffer; like every cipher.Stream it panics if dst is shorter than src.
func (s *vaesCTR) XORKeyStream(dst, src []byte) {
	if len(dst) < len(src) {
		panic("megacrypto: CTR output smaller than input")
	}
	for len(src) > 0 && s.used < 16 {
		dst[0] = src[0] ^ s.ks[s.used]
		s.used++
		dst, src = dst[1:], src[1:]
	}
	for len(src) >= 16 {
		n := min(len(src)/16, ctrRun)
		ctrVAES(&s.keys, s.pair(), &dst[0], &src[0], n)
		s.ctr += uint64(n)
		dst, src = dst[16*n:], src[16*n:]
	}
	if len(src) > 0 {
		s.refill()
		for i := range src {
			dst[i] = src[i] ^ s.ks[i]
		}
		s.used = len(src)
	}
}
