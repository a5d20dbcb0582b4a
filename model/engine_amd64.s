#include "textflag.h"

// func engSum9AVX2(dst *float32, rows *[9]*float32, n int, floor float32)
// dst[i] = max(rows[0][i] + … + rows[8][i], floor) for i < n&^7.
TEXT ·engSum9AVX2(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ rows+8(FP), R8
	MOVQ n+16(FP), CX
	VBROADCASTSS floor+24(FP), Y7
	SHRQ $3, CX
	SHLQ $5, CX
	MOVQ 8(R8), R9
	MOVQ 16(R8), R10
	MOVQ 24(R8), R11
	MOVQ 32(R8), R12
	MOVQ 40(R8), R13
	MOVQ 48(R8), AX
	MOVQ 56(R8), BX
	MOVQ 64(R8), SI
	MOVQ 0(R8), R8
	XORQ DX, DX
loop:
	CMPQ DX, CX
	JGE done
	VMOVUPS (R8)(DX*1), Y0
	VMOVUPS (R9)(DX*1), Y1
	VADDPS (R10)(DX*1), Y0, Y0
	VADDPS (R11)(DX*1), Y1, Y1
	VADDPS (R12)(DX*1), Y0, Y0
	VADDPS (R13)(DX*1), Y1, Y1
	VADDPS (AX)(DX*1), Y0, Y0
	VADDPS (BX)(DX*1), Y1, Y1
	VADDPS (SI)(DX*1), Y0, Y0
	VADDPS Y1, Y0, Y0
	VMAXPS Y7, Y0, Y0
	VMOVUPS Y0, (DI)(DX*1)
	ADDQ $32, DX
	JMP loop
done:
	VZEROUPPER
	RET
