//go:build amd64 && !purego

#include "textflag.h"

// AES-128 CTR keystream with VAES on 256-bit registers: each Y register
// holds two counter blocks, eight registers are sixteen blocks in flight,
// so the AES units never wait on one block's latency chain.
//
// Key schedule (keys): rk0..rk10, each 16-byte round key stored twice in
// a row (32 bytes), so one 256-bit memory operand applies it to both
// blocks of a register, and the first 16 bytes serve the 128-bit tail.
//
// Counter (ctr): two 128-bit lanes, each nonce bytes (8, as they are)
// followed by a native little-endian uint64 block counter, lane 1 one
// ahead of lane 0. The byte shuffle (swap) turns the counter half into
// MEGA's big-endian BE64(off/16); adding inc (2 in each counter half)
// steps both lanes two blocks on.

// The shuffle: bytes 0-7 stay, bytes 8-15 reverse, in each 128-bit lane.
DATA ctrSwap<>+0(SB)/8, $0x0706050403020100
DATA ctrSwap<>+8(SB)/8, $0x08090a0b0c0d0e0f
DATA ctrSwap<>+16(SB)/8, $0x0706050403020100
DATA ctrSwap<>+24(SB)/8, $0x08090a0b0c0d0e0f
GLOBL ctrSwap<>(SB), RODATA|NOPTR, $32

// The step: +2 in the counter half of both lanes.
DATA ctrInc<>+0(SB)/8, $0
DATA ctrInc<>+8(SB)/8, $2
DATA ctrInc<>+16(SB)/8, $0
DATA ctrInc<>+24(SB)/8, $2
GLOBL ctrInc<>(SB), RODATA|NOPTR, $32

// Encrypt register R through all rounds (keys at AX).
#define AESALL(R) \
	VPXOR 0(AX), R, R; \
	VAESENC 32(AX), R, R; \
	VAESENC 64(AX), R, R; \
	VAESENC 96(AX), R, R; \
	VAESENC 128(AX), R, R; \
	VAESENC 160(AX), R, R; \
	VAESENC 192(AX), R, R; \
	VAESENC 224(AX), R, R; \
	VAESENC 256(AX), R, R; \
	VAESENC 288(AX), R, R; \
	VAESENCLAST 320(AX), R, R

// Apply one round at key offset K to the eight data registers.
#define ROUND8(OP, K) \
	OP K(AX), Y0, Y0; OP K(AX), Y1, Y1; OP K(AX), Y2, Y2; OP K(AX), Y3, Y3; \
	OP K(AX), Y4, Y4; OP K(AX), Y5, Y5; OP K(AX), Y6, Y6; OP K(AX), Y7, Y7

// Next counter pair into register R.
#define NEXT(R) VPSHUFB Y12, Y8, R; VPADDQ Y9, Y8, Y8

// func ctrVAES(keys *[11][32]byte, ctr *[32]byte, dst, src *byte, nblocks int)
//
// dst = src xor keystream for nblocks whole blocks; ctr is advanced by
// nblocks (dst and src may be the same buffer).
//
// Register plan: AX keys, BX ctr, DI dst, SI src, CX blocks left,
// Y0-Y7 data, Y8 counter pair, Y9 step, Y12 shuffle.
TEXT ·ctrVAES(SB), NOSPLIT, $0-40
	MOVQ keys+0(FP), AX
	MOVQ ctr+8(FP), BX
	MOVQ dst+16(FP), DI
	MOVQ src+24(FP), SI
	MOVQ nblocks+32(FP), CX

	VMOVDQU (BX), Y8
	VMOVDQU ctrInc<>(SB), Y9
	VMOVDQU ctrSwap<>(SB), Y12

loop16:
	CMPQ CX, $16
	JB   loop2
	NEXT(Y0); NEXT(Y1); NEXT(Y2); NEXT(Y3)
	NEXT(Y4); NEXT(Y5); NEXT(Y6); NEXT(Y7)
	ROUND8(VPXOR, 0)
	ROUND8(VAESENC, 32)
	ROUND8(VAESENC, 64)
	ROUND8(VAESENC, 96)
	ROUND8(VAESENC, 128)
	ROUND8(VAESENC, 160)
	ROUND8(VAESENC, 192)
	ROUND8(VAESENC, 224)
	ROUND8(VAESENC, 256)
	ROUND8(VAESENC, 288)
	ROUND8(VAESENCLAST, 320)
	VPXOR 0(SI), Y0, Y0
	VPXOR 32(SI), Y1, Y1
	VPXOR 64(SI), Y2, Y2
	VPXOR 96(SI), Y3, Y3
	VPXOR 128(SI), Y4, Y4
	VPXOR 160(SI), Y5, Y5
	VPXOR 192(SI), Y6, Y6
	VPXOR 224(SI), Y7, Y7
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y1, 32(DI)
	VMOVDQU Y2, 64(DI)
	VMOVDQU Y3, 96(DI)
	VMOVDQU Y4, 128(DI)
	VMOVDQU Y5, 160(DI)
	VMOVDQU Y6, 192(DI)
	VMOVDQU Y7, 224(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $16, CX
	JMP  loop16

loop2:
	CMPQ CX, $2
	JB   tail
	NEXT(Y0)
	AESALL(Y0)
	VPXOR (SI), Y0, Y0
	VMOVDQU Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $2, CX
	JMP  loop2

tail:
	TESTQ CX, CX
	JZ    done
	// One block: the low lane of the counter pair, 128-bit operations.
	VPSHUFB X12, X8, X0
	VPXOR 0(AX), X0, X0
	VAESENC 32(AX), X0, X0
	VAESENC 64(AX), X0, X0
	VAESENC 96(AX), X0, X0
	VAESENC 128(AX), X0, X0
	VAESENC 160(AX), X0, X0
	VAESENC 192(AX), X0, X0
	VAESENC 224(AX), X0, X0
	VAESENC 256(AX), X0, X0
	VAESENC 288(AX), X0, X0
	VAESENCLAST 320(AX), X0, X0
	VPXOR (SI), X0, X0
	VMOVDQU X0, (DI)

done:
	VZEROUPPER
	RET

// func cpuid7ecx() uint32: CPUID leaf 7, subleaf 0, register ECX.
TEXT ·cpuid7ecx(SB), NOSPLIT, $0-4
	MOVL $7, AX
	MOVL $0, CX
	CPUID
	MOVL CX, ret+0(FP)
	RET

