//go:build amd64 && !purego

#include "textflag.h"

// Multi-lane AES-128 CBC-MAC kernels (AES-NI, SSE encoding only).
//
// Each lane is one chunk's CBC-MAC: state = AES_K(state xor block), block
// after block. One lane is a chain of dependent AESENCs; interleaving
// independent lanes round by round keeps several AESENCs in flight.
//
// Key schedule (keys, 11 x 16 bytes): rk0, rk1, ..., rk9, then rk10^rk0.
// Inside the loop a lane holds its state pre-whitened, t = state ^ rk0.
// Then t ^ block is the input of round 1, and AESENCLAST with rk10^rk0
// yields AES(state ^ block) ^ rk0, the next t: the whitening xor of every
// block is folded into the last round. rk0 is xored in once on entry and
// once more on exit.
//
// Arguments (ABI0): keys, states, src (lane pointers), nblocks >= 1.
// Lane i reads nblocks*16 bytes at src[i]; all lanes share one offset
// register, so the loop advances a single index.

// Apply one round (AESENC or AESENCLAST) with key register K to the lanes.
#define ROUND4(OP, K) OP K, X0; OP K, X1; OP K, X2; OP K, X3
#define ROUND8(OP, K) ROUND4(OP, K); OP K, X4; OP K, X5; OP K, X6; OP K, X7

// Xor the next block of the lane at pointer P into its state S, via T.
#define XORBLOCK(P, S, T) MOVOU (P)(CX*1), T; PXOR T, S

// func macLanes4(keys *[11][16]byte, states *[4][16]byte, src *[4]*byte, nblocks int)
//
// Register plan:
//   AX keys, BX states, CX byte offset into every lane, DX end offset
//   R8-R11 lane pointers
//   X0-X3 lane states (pre-whitened), X4-X12 rk1..rk9, X13 rk10^rk0,
//   X14 input block, X15 rk0 (entry and exit only)
TEXT ·macLanes4(SB), NOSPLIT, $0-32
	MOVQ keys+0(FP), AX
	MOVQ states+8(FP), BX
	MOVQ src+16(FP), CX
	MOVQ nblocks+24(FP), DX
	SHLQ $4, DX
	JZ   done4

	MOVQ 0(CX), R8
	MOVQ 8(CX), R9
	MOVQ 16(CX), R10
	MOVQ 24(CX), R11

	// Load and pre-whiten the states.
	MOVOU 0(AX), X15
	MOVOU 0(BX), X0
	MOVOU 16(BX), X1
	MOVOU 32(BX), X2
	MOVOU 48(BX), X3
	ROUND4(PXOR, X15)

	// All ten round keys stay in registers.
	MOVOU 16(AX), X4
	MOVOU 32(AX), X5
	MOVOU 48(AX), X6
	MOVOU 64(AX), X7
	MOVOU 80(AX), X8
	MOVOU 96(AX), X9
	MOVOU 112(AX), X10
	MOVOU 128(AX), X11
	MOVOU 144(AX), X12
	MOVOU 160(AX), X13

	XORQ CX, CX

loop4:
	// One block per lane: xor the input in, then rounds 1..10 on all lanes.
	XORBLOCK(R8, X0, X14)
	XORBLOCK(R9, X1, X14)
	XORBLOCK(R10, X2, X14)
	XORBLOCK(R11, X3, X14)
	ROUND4(AESENC, X4)
	ROUND4(AESENC, X5)
	ROUND4(AESENC, X6)
	ROUND4(AESENC, X7)
	ROUND4(AESENC, X8)
	ROUND4(AESENC, X9)
	ROUND4(AESENC, X10)
	ROUND4(AESENC, X11)
	ROUND4(AESENC, X12)
	ROUND4(AESENCLAST, X13)
	ADDQ $16, CX
	CMPQ CX, DX
	JB   loop4

	// Undo the whitening and store the states.
	ROUND4(PXOR, X15)
	MOVOU X0, 0(BX)
	MOVOU X1, 16(BX)
	MOVOU X2, 32(BX)
	MOVOU X3, 48(BX)

done4:
	RET

// func macLanes8(keys *[11][16]byte, states *[8][16]byte, src *[8]*byte, nblocks int)
//
// Register plan:
//   AX keys, BX states, CX byte offset into every lane, DX end offset
//   R8-R13, SI, DI lane pointers
//   X0-X7 lane states (pre-whitened), X8-X13 rk1..rk6,
//   X14 rk7, rk8, rk9 and rk10^rk0 in turn, reloaded every block (there are
//   not registers enough; a load per key per 8 blocks is cheap),
//   X15 input block, and rk0 on entry and exit
TEXT ·macLanes8(SB), NOSPLIT, $0-32
	MOVQ keys+0(FP), AX
	MOVQ states+8(FP), BX
	MOVQ src+16(FP), CX
	MOVQ nblocks+24(FP), DX
	SHLQ $4, DX
	JZ   done8

	MOVQ 0(CX), R8
	MOVQ 8(CX), R9
	MOVQ 16(CX), R10
	MOVQ 24(CX), R11
	MOVQ 32(CX), R12
	MOVQ 40(CX), R13
	MOVQ 48(CX), SI
	MOVQ 56(CX), DI

	// Load and pre-whiten the states.
	MOVOU 0(AX), X15
	MOVOU 0(BX), X0
	MOVOU 16(BX), X1
	MOVOU 32(BX), X2
	MOVOU 48(BX), X3
	MOVOU 64(BX), X4
	MOVOU 80(BX), X5
	MOVOU 96(BX), X6
	MOVOU 112(BX), X7
	ROUND8(PXOR, X15)

	// Round keys 1..6 stay in registers.
	MOVOU 16(AX), X8
	MOVOU 32(AX), X9
	MOVOU 48(AX), X10
	MOVOU 64(AX), X11
	MOVOU 80(AX), X12
	MOVOU 96(AX), X13

	XORQ CX, CX

loop8:
	// One block per lane: xor the input in, then rounds 1..10 on all lanes.
	XORBLOCK(R8, X0, X15)
	XORBLOCK(R9, X1, X15)
	XORBLOCK(R10, X2, X15)
	XORBLOCK(R11, X3, X15)
	XORBLOCK(R12, X4, X15)
	XORBLOCK(R13, X5, X15)
	XORBLOCK(SI, X6, X15)
	XORBLOCK(DI, X7, X15)
	ROUND8(AESENC, X8)
	ROUND8(AESENC, X9)
	ROUND8(AESENC, X10)
	ROUND8(AESENC, X11)
	ROUND8(AESENC, X12)
	ROUND8(AESENC, X13)
	MOVOU 112(AX), X14
	ROUND8(AESENC, X14)
	MOVOU 128(AX), X14
	ROUND8(AESENC, X14)
	MOVOU 144(AX), X14
	ROUND8(AESENC, X14)
	MOVOU 160(AX), X14
	ROUND8(AESENCLAST, X14)
	ADDQ $16, CX
	CMPQ CX, DX
	JB   loop8

	// Undo the whitening and store the states.
	MOVOU 0(AX), X15
	ROUND8(PXOR, X15)
	MOVOU X0, 0(BX)
	MOVOU X1, 16(BX)
	MOVOU X2, 32(BX)
	MOVOU X3, 48(BX)
	MOVOU X4, 64(BX)
	MOVOU X5, 80(BX)
	MOVOU X6, 96(BX)
	MOVOU X7, 112(BX)

done8:
	RET
