//go:build amd64 && !purego

#include "textflag.h"

// Fused AES-128-CTR decryption (or encryption) and CBC-MAC of eight
// chunks (VAES on 512-bit registers, AVX-512F and BW).
//
// A CBC-MAC chain is one dependent AES after another: with eight chains
// on two Z registers (four lanes each) the AES units idle through most of
// every round's latency. The keystream of the same chunks has no such
// chain, so computing it in the same loop fills those idle issue slots:
// one pass over the data does both jobs at about the cost of the MAC
// alone.
//
// Each step takes four consecutive blocks (64 bytes) of every lane. The
// keystream of a lane's four blocks is one Z register (its counters are
// consecutive), so the loads and stores of the data are whole 64-byte
// rows. The MAC needs block j of each lane side by side instead:
// a 4x4 transpose of 128-bit elements (VSHUFI64X2) turns the rows of
// lanes 0-3 and of lanes 4-7 into those columns, and four MAC steps
// consume them.
//
// Key schedule (keys): MultiMAC.keys, rk0..rk9 then rk10^rk0; the kernel
// broadcasts every round key to all four 128-bit lanes of a register and
// restores rk10 from the last two.
//
// Counters (ctrs): per lane 64 bytes, four counter blocks of the lane's
// next four blocks, each the nonce (8 bytes as they are) followed by a
// native little-endian uint64 block counter. The kernel adds 4 per step
// to the counter halves and byte-swaps them into MEGA's BE64(off/16) with
// VPSHUFB (the same layout as ctr_amd64.s, four lanes wide). The caller
// steps the counters on; the kernel does not write them.
//
// MAC states (states): eight plain CBC-MAC states, read on entry and
// written back on exit.

// The shuffle: bytes 0-7 stay, bytes 8-15 reverse, in each 128-bit lane.
DATA fusedSwap<>+0(SB)/8, $0x0706050403020100
DATA fusedSwap<>+8(SB)/8, $0x08090a0b0c0d0e0f
DATA fusedSwap<>+16(SB)/8, $0x0706050403020100
DATA fusedSwap<>+24(SB)/8, $0x08090a0b0c0d0e0f
DATA fusedSwap<>+32(SB)/8, $0x0706050403020100
DATA fusedSwap<>+40(SB)/8, $0x08090a0b0c0d0e0f
DATA fusedSwap<>+48(SB)/8, $0x0706050403020100
DATA fusedSwap<>+56(SB)/8, $0x08090a0b0c0d0e0f
GLOBL fusedSwap<>(SB), RODATA|NOPTR, $64

// The step: +4 in the counter half of every 128-bit lane.
DATA fusedInc<>+0(SB)/8, $0
DATA fusedInc<>+8(SB)/8, $4
DATA fusedInc<>+16(SB)/8, $0
DATA fusedInc<>+24(SB)/8, $4
DATA fusedInc<>+32(SB)/8, $0
DATA fusedInc<>+40(SB)/8, $4
DATA fusedInc<>+48(SB)/8, $0
DATA fusedInc<>+56(SB)/8, $4
GLOBL fusedInc<>(SB), RODATA|NOPTR, $64

// Apply OP with operand K to the eight keystream registers.
#define ROUND8(OP, K) \
	OP K, Z0, Z0; OP K, Z1, Z1; OP K, Z2, Z2; OP K, Z3, Z3; \
	OP K, Z4, Z4; OP K, Z5, Z5; OP K, Z6, Z6; OP K, Z7, Z7

// Apply one round with key K to both MAC state registers.
#define MACROUND(OP, K) OP K, Z8, Z8; OP K, Z9, Z9

// Start a MAC block for all eight lanes: X holds the next block of lanes
// 0-3, Y of lanes 4-7. The xor with the block and the whitening key rk0
// is one VPTERNLOGQ (0x96: a xor b xor c).
#define MACXOR(X, Y) \
	VPTERNLOGQ $0x96, Z10, X, Z8; \
	VPTERNLOGQ $0x96, Z10, Y, Z9

// One whole MAC block: state = AES(state xor block).
#define MACSTEP(X, Y) \
	MACXOR(X, Y); \
	MACROUND(VAESENC, Z11); \
	MACROUND(VAESENC, Z12); \
	MACROUND(VAESENC, Z13); \
	MACROUND(VAESENC, Z14); \
	MACROUND(VAESENC, Z15); \
	MACROUND(VAESENC, Z16); \
	MACROUND(VAESENC, Z17); \
	MACROUND(VAESENC, Z18); \
	MACROUND(VAESENC, Z19); \
	MACROUND(VAESENCLAST, Z20)

// One round of the MAC states (MOP with key MK) and one of a pair of
// keystream registers A, B (COP with key CK): the keystream work that
// fills the MAC chain's latency.
#define SLOT(MOP, MK, COP, CK, A, B) \
	MOP MK, Z8, Z8; MOP MK, Z9, Z9; COP CK, A, A; COP CK, B, B

// The counter blocks of the next step into Z0-Z7, whitened with rk0.
// AX points at ctrs, Z21 is the counter step so far.
#define CTRSETUP \
	VPADDQ 0(AX), Z21, Z0; \
	VPADDQ 64(AX), Z21, Z1; \
	VPADDQ 128(AX), Z21, Z2; \
	VPADDQ 192(AX), Z21, Z3; \
	VPADDQ 256(AX), Z21, Z4; \
	VPADDQ 320(AX), Z21, Z5; \
	VPADDQ 384(AX), Z21, Z6; \
	VPADDQ 448(AX), Z21, Z7; \
	VPADDQ Z22, Z21, Z21; \
	ROUND8(VPSHUFB, Z23); \
	ROUND8(VPXORQ, Z10)

// Decrypt the step at offset CX: all eight loads first, then the stores
// (see openLanes8 on lanes that share memory).
#define DECRYPT \
	VPXORQ (R8)(CX*1), Z0, Z0; \
	VPXORQ (R9)(CX*1), Z1, Z1; \
	VPXORQ (R10)(CX*1), Z2, Z2; \
	VPXORQ (R11)(CX*1), Z3, Z3; \
	VPXORQ (R12)(CX*1), Z4, Z4; \
	VPXORQ (R13)(CX*1), Z5, Z5; \
	VPXORQ (SI)(CX*1), Z6, Z6; \
	VPXORQ (DI)(CX*1), Z7, Z7; \
	VMOVDQU64 Z0, (R8)(CX*1); \
	VMOVDQU64 Z1, (R9)(CX*1); \
	VMOVDQU64 Z2, (R10)(CX*1); \
	VMOVDQU64 Z3, (R11)(CX*1); \
	VMOVDQU64 Z4, (R12)(CX*1); \
	VMOVDQU64 Z5, (R13)(CX*1); \
	VMOVDQU64 Z6, (SI)(CX*1); \
	VMOVDQU64 Z7, (DI)(CX*1)

// Transpose the 4x4 matrix of 128-bit blocks in rows R0..R3 (row i: four
// consecutive blocks of lane i) into columns O0..O3 (column j: block j of
// lanes 0..3) through T0..T3. A register may serve as a T once the rows
// it held are read, and as an O once the Ts it held are, so the transpose
// needs no registers beyond its rows and outputs.
#define TRANSPOSE4(R0, R1, R2, R3, T0, T1, T2, T3, O0, O1, O2, O3) \
	VSHUFI64X2 $0x44, R1, R0, T0; \
	VSHUFI64X2 $0xee, R1, R0, T1; \
	VSHUFI64X2 $0x44, R3, R2, T2; \
	VSHUFI64X2 $0xee, R3, R2, T3; \
	VSHUFI64X2 $0x88, T2, T0, O0; \
	VSHUFI64X2 $0xdd, T2, T0, O1; \
	VSHUFI64X2 $0x88, T3, T1, O2; \
	VSHUFI64X2 $0xdd, T3, T1, O3

// The plaintext rows in Z0-Z7 into the MAC's columns: block j of lanes
// 0-3 in Z24+j, of lanes 4-7 in Z28+j.
#define COLUMNS \
	TRANSPOSE4(Z0, Z1, Z2, Z3, Z26, Z27, Z0, Z1, Z24, Z25, Z26, Z27); \
	TRANSPOSE4(Z4, Z5, Z6, Z7, Z30, Z31, Z4, Z5, Z28, Z29, Z30, Z31)

// Encrypt the step at offset CX: the plaintext rows into Z24-Z31 (all
// eight loads before any store, as in DECRYPT), the ciphertext stored
// from Z0-Z7, then the rows into the MAC's columns, in place, with Z0-Z7
// as scratch.
#define ENCRYPT \
	VMOVDQU64 (R8)(CX*1), Z24; \
	VMOVDQU64 (R9)(CX*1), Z25; \
	VMOVDQU64 (R10)(CX*1), Z26; \
	VMOVDQU64 (R11)(CX*1), Z27; \
	VMOVDQU64 (R12)(CX*1), Z28; \
	VMOVDQU64 (R13)(CX*1), Z29; \
	VMOVDQU64 (SI)(CX*1), Z30; \
	VMOVDQU64 (DI)(CX*1), Z31; \
	VPXORQ Z24, Z0, Z0; \
	VPXORQ Z25, Z1, Z1; \
	VPXORQ Z26, Z2, Z2; \
	VPXORQ Z27, Z3, Z3; \
	VPXORQ Z28, Z4, Z4; \
	VPXORQ Z29, Z5, Z5; \
	VPXORQ Z30, Z6, Z6; \
	VPXORQ Z31, Z7, Z7; \
	VMOVDQU64 Z0, (R8)(CX*1); \
	VMOVDQU64 Z1, (R9)(CX*1); \
	VMOVDQU64 Z2, (R10)(CX*1); \
	VMOVDQU64 Z3, (R11)(CX*1); \
	VMOVDQU64 Z4, (R12)(CX*1); \
	VMOVDQU64 Z5, (R13)(CX*1); \
	VMOVDQU64 Z6, (SI)(CX*1); \
	VMOVDQU64 Z7, (DI)(CX*1); \
	TRANSPOSE4(Z24, Z25, Z26, Z27, Z0, Z1, Z2, Z3, Z24, Z25, Z26, Z27); \
	TRANSPOSE4(Z28, Z29, Z30, Z31, Z4, Z5, Z6, Z7, Z28, Z29, Z30, Z31)

// The forty rounds of MAC step k-1 from the columns, each with a round
// of two keystream registers of step k (see openLanes8).
#define SHADOW \
	MACXOR(Z24, Z28); \
	SLOT(VAESENC, Z11, VAESENC, Z11, Z0, Z1); \
	SLOT(VAESENC, Z12, VAESENC, Z11, Z2, Z3); \
	SLOT(VAESENC, Z13, VAESENC, Z11, Z4, Z5); \
	SLOT(VAESENC, Z14, VAESENC, Z11, Z6, Z7); \
	SLOT(VAESENC, Z15, VAESENC, Z12, Z0, Z1); \
	SLOT(VAESENC, Z16, VAESENC, Z12, Z2, Z3); \
	SLOT(VAESENC, Z17, VAESENC, Z12, Z4, Z5); \
	SLOT(VAESENC, Z18, VAESENC, Z12, Z6, Z7); \
	SLOT(VAESENC, Z19, VAESENC, Z13, Z0, Z1); \
	SLOT(VAESENCLAST, Z20, VAESENC, Z13, Z2, Z3); \
	MACXOR(Z25, Z29); \
	SLOT(VAESENC, Z11, VAESENC, Z13, Z4, Z5); \
	SLOT(VAESENC, Z12, VAESENC, Z13, Z6, Z7); \
	SLOT(VAESENC, Z13, VAESENC, Z14, Z0, Z1); \
	SLOT(VAESENC, Z14, VAESENC, Z14, Z2, Z3); \
	SLOT(VAESENC, Z15, VAESENC, Z14, Z4, Z5); \
	SLOT(VAESENC, Z16, VAESENC, Z14, Z6, Z7); \
	SLOT(VAESENC, Z17, VAESENC, Z15, Z0, Z1); \
	SLOT(VAESENC, Z18, VAESENC, Z15, Z2, Z3); \
	SLOT(VAESENC, Z19, VAESENC, Z15, Z4, Z5); \
	SLOT(VAESENCLAST, Z20, VAESENC, Z15, Z6, Z7); \
	MACXOR(Z26, Z30); \
	SLOT(VAESENC, Z11, VAESENC, Z16, Z0, Z1); \
	SLOT(VAESENC, Z12, VAESENC, Z16, Z2, Z3); \
	SLOT(VAESENC, Z13, VAESENC, Z16, Z4, Z5); \
	SLOT(VAESENC, Z14, VAESENC, Z16, Z6, Z7); \
	SLOT(VAESENC, Z15, VAESENC, Z17, Z0, Z1); \
	SLOT(VAESENC, Z16, VAESENC, Z17, Z2, Z3); \
	SLOT(VAESENC, Z17, VAESENC, Z17, Z4, Z5); \
	SLOT(VAESENC, Z18, VAESENC, Z17, Z6, Z7); \
	SLOT(VAESENC, Z19, VAESENC, Z18, Z0, Z1); \
	SLOT(VAESENCLAST, Z20, VAESENC, Z18, Z2, Z3); \
	MACXOR(Z27, Z31); \
	SLOT(VAESENC, Z11, VAESENC, Z18, Z4, Z5); \
	SLOT(VAESENC, Z12, VAESENC, Z18, Z6, Z7); \
	SLOT(VAESENC, Z13, VAESENC, Z19, Z0, Z1); \
	SLOT(VAESENC, Z14, VAESENC, Z19, Z2, Z3); \
	SLOT(VAESENC, Z15, VAESENC, Z19, Z4, Z5); \
	SLOT(VAESENC, Z16, VAESENC, Z19, Z6, Z7); \
	SLOT(VAESENC, Z17, VAESENCLAST, Z20, Z0, Z1); \
	SLOT(VAESENC, Z18, VAESENCLAST, Z20, Z2, Z3); \
	SLOT(VAESENC, Z19, VAESENCLAST, Z20, Z4, Z5); \
	SLOT(VAESENCLAST, Z20, VAESENCLAST, Z20, Z6, Z7)

// Load the lane pointers (CX: dst), the broadcast round keys (AX: keys;
// rk10 restored from rk10^rk0), the MAC states (BX) and the counter
// constants; then AX points at ctrs and CX is the offset 0.
#define SETUP \
	MOVQ 0(CX), R8; \
	MOVQ 8(CX), R9; \
	MOVQ 16(CX), R10; \
	MOVQ 24(CX), R11; \
	MOVQ 32(CX), R12; \
	MOVQ 40(CX), R13; \
	MOVQ 48(CX), SI; \
	MOVQ 56(CX), DI; \
	VBROADCASTI32X4 0(AX), Z10; \
	VBROADCASTI32X4 16(AX), Z11; \
	VBROADCASTI32X4 32(AX), Z12; \
	VBROADCASTI32X4 48(AX), Z13; \
	VBROADCASTI32X4 64(AX), Z14; \
	VBROADCASTI32X4 80(AX), Z15; \
	VBROADCASTI32X4 96(AX), Z16; \
	VBROADCASTI32X4 112(AX), Z17; \
	VBROADCASTI32X4 128(AX), Z18; \
	VBROADCASTI32X4 144(AX), Z19; \
	VBROADCASTI32X4 160(AX), Z20; \
	VPXORQ Z10, Z20, Z20; \
	VMOVDQU64 0(BX), Z8; \
	VMOVDQU64 64(BX), Z9; \
	MOVQ ctrs+16(FP), AX; \
	VPXORQ Z21, Z21, Z21; \
	VMOVDQU64 fusedInc<>(SB), Z22; \
	VMOVDQU64 fusedSwap<>(SB), Z23; \
	XORQ CX, CX

// The keystream of the first step alone (the pipeline's prologue).
#define KEYSTREAM \
	CTRSETUP; \
	ROUND8(VAESENC, Z11); \
	ROUND8(VAESENC, Z12); \
	ROUND8(VAESENC, Z13); \
	ROUND8(VAESENC, Z14); \
	ROUND8(VAESENC, Z15); \
	ROUND8(VAESENC, Z16); \
	ROUND8(VAESENC, Z17); \
	ROUND8(VAESENC, Z18); \
	ROUND8(VAESENC, Z19); \
	ROUND8(VAESENCLAST, Z20)

// MAC the last step alone (the pipeline's epilogue) and store the states.
#define FINISH \
	MACSTEP(Z24, Z28); \
	MACSTEP(Z25, Z29); \
	MACSTEP(Z26, Z30); \
	MACSTEP(Z27, Z31); \
	VMOVDQU64 Z8, 0(BX); \
	VMOVDQU64 Z9, 64(BX)

// func openLanes8(keys *[11][16]byte, states *[8][16]byte, ctrs *[8][64]byte, dst *[8]*byte, nquads int)
//
// Decrypts 64*nquads bytes in place at each dst[i] and advances MAC
// state i over the plaintext. nquads must be at least 1. Two lanes may
// share a pointer (and counters): every step loads all eight lanes'
// input before it stores any output, so both store the same.
//
// The loop is software-pipelined: while the MAC chains work through
// step k-1 (four blocks per lane, in the columns), the keystream of step
// k is computed in their shadow, two registers per MAC round (SLOT), so
// the ten rounds of eight keystream registers fill the forty MAC rounds.
// A prologue computes step 0's keystream alone, an epilogue MACs the last
// step alone.
//
// Register plan:
//   AX keys, then ctrs; BX states; CX byte offset into every lane,
//   DX end offset; R8-R13, SI, DI lane pointers
//   Z0-Z7 keystream, then output rows
//   Z8, Z9 MAC states of lanes 0-3 and 4-7
//   Z10-Z20 rk0..rk10, broadcast
//   Z21 counter step so far, Z22 its increment, Z23 byte shuffle
//   Z24-Z31 plaintext columns of the step being MACed
TEXT ·openLanes8(SB), NOSPLIT, $0-40
	MOVQ keys+0(FP), AX
	MOVQ states+8(FP), BX
	MOVQ dst+24(FP), CX
	MOVQ nquads+32(FP), DX
	SHLQ $6, DX
	JZ   done
	SETUP
	KEYSTREAM
	DECRYPT
	COLUMNS
	ADDQ $64, CX
	CMPQ CX, DX
	JAE  last

loop:
	// MAC step k-1 from the columns, keystream of step k in its shadow.
	CTRSETUP
	SHADOW
	DECRYPT
	COLUMNS
	ADDQ $64, CX
	CMPQ CX, DX
	JB   loop

last:
	FINISH

done:
	VZEROUPPER
	RET

// func sealLanes8(keys *[11][16]byte, states *[8][16]byte, ctrs *[8][64]byte, dst *[8]*byte, nquads int)
//
// The mirror of openLanes8 for uploads: advances MAC state i over the
// plaintext at dst[i] and encrypts it in place, 64*nquads bytes per lane.
// Same pipeline and registers; the columns come from the plaintext rows
// loaded before the ciphertext is stored (ENCRYPT).
TEXT ·sealLanes8(SB), NOSPLIT, $0-40
	MOVQ keys+0(FP), AX
	MOVQ states+8(FP), BX
	MOVQ dst+24(FP), CX
	MOVQ nquads+32(FP), DX
	SHLQ $6, DX
	JZ   done
	SETUP
	KEYSTREAM
	ENCRYPT
	ADDQ $64, CX
	CMPQ CX, DX
	JAE  last

loop:
	CTRSETUP
	SHADOW
	ENCRYPT
	ADDQ $64, CX
	CMPQ CX, DX
	JB   loop

last:
	FINISH

done:
	VZEROUPPER
	RET
