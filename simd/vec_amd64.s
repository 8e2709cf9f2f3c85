//go:build amd64 && !purego

// Hand-written vector kernels: dot, axpy, axpyTo, scale, exp, mix6, max, stride2, interleave,
// deinterleave, pack32, and the helpers of the distance kernels (dist.go), for AVX-512 and AVX2+FMA
// (interleave, deinterleave and pack32 for AVX-512 only). The Sandwich kernels, long unrolled
// code, are generated into kernels_amd64.s by internal/asmgen. Each has a pure-Go
// twin in vec.go or dist.go that states its contract. Tails are masked:
// AVX-512 with K1 (masked loads never fault on the lanes they skip), AVX2
// with VMASKMOVPS and a mask from the table below.

#include "textflag.h"

// Offsets into vecConsts. Each constant fills 32 bytes (8 lanes) so that the
// AVX2 kernels can use it as a memory operand; the AVX-512 kernels broadcast
// its first lane.
#define C_LO 0
#define C_HI 32
#define C_LOG2E 64
#define C_MAGIC 96
#define C_C1 128
#define C_C2 160
#define C_P5 192
#define C_P4 224
#define C_P3 256
#define C_P2 288
#define C_P1 320
#define C_P0 352
#define C_ONE 384
#define C_BIAS 416
#define C_INF 448
#define C_MAXINT 480
#define C_EIGHT 512
#define C_SIXTEEN 544
#define C_THIRTYTWO 576
#define C_IOTA 608
#define C_TAILMASK 672

// lo
DATA vecConsts<>+0(SB)/4, $0xc2d00000
DATA vecConsts<>+4(SB)/4, $0xc2d00000
DATA vecConsts<>+8(SB)/4, $0xc2d00000
DATA vecConsts<>+12(SB)/4, $0xc2d00000
DATA vecConsts<>+16(SB)/4, $0xc2d00000
DATA vecConsts<>+20(SB)/4, $0xc2d00000
DATA vecConsts<>+24(SB)/4, $0xc2d00000
DATA vecConsts<>+28(SB)/4, $0xc2d00000
// hi
DATA vecConsts<>+32(SB)/4, $0x42b20000
DATA vecConsts<>+36(SB)/4, $0x42b20000
DATA vecConsts<>+40(SB)/4, $0x42b20000
DATA vecConsts<>+44(SB)/4, $0x42b20000
DATA vecConsts<>+48(SB)/4, $0x42b20000
DATA vecConsts<>+52(SB)/4, $0x42b20000
DATA vecConsts<>+56(SB)/4, $0x42b20000
DATA vecConsts<>+60(SB)/4, $0x42b20000
// log2e
DATA vecConsts<>+64(SB)/4, $0x3fb8aa3b
DATA vecConsts<>+68(SB)/4, $0x3fb8aa3b
DATA vecConsts<>+72(SB)/4, $0x3fb8aa3b
DATA vecConsts<>+76(SB)/4, $0x3fb8aa3b
DATA vecConsts<>+80(SB)/4, $0x3fb8aa3b
DATA vecConsts<>+84(SB)/4, $0x3fb8aa3b
DATA vecConsts<>+88(SB)/4, $0x3fb8aa3b
DATA vecConsts<>+92(SB)/4, $0x3fb8aa3b
// magic
DATA vecConsts<>+96(SB)/4, $0x4b400000
DATA vecConsts<>+100(SB)/4, $0x4b400000
DATA vecConsts<>+104(SB)/4, $0x4b400000
DATA vecConsts<>+108(SB)/4, $0x4b400000
DATA vecConsts<>+112(SB)/4, $0x4b400000
DATA vecConsts<>+116(SB)/4, $0x4b400000
DATA vecConsts<>+120(SB)/4, $0x4b400000
DATA vecConsts<>+124(SB)/4, $0x4b400000
// c1
DATA vecConsts<>+128(SB)/4, $0x3f318000
DATA vecConsts<>+132(SB)/4, $0x3f318000
DATA vecConsts<>+136(SB)/4, $0x3f318000
DATA vecConsts<>+140(SB)/4, $0x3f318000
DATA vecConsts<>+144(SB)/4, $0x3f318000
DATA vecConsts<>+148(SB)/4, $0x3f318000
DATA vecConsts<>+152(SB)/4, $0x3f318000
DATA vecConsts<>+156(SB)/4, $0x3f318000
// c2
DATA vecConsts<>+160(SB)/4, $0xb95e8083
DATA vecConsts<>+164(SB)/4, $0xb95e8083
DATA vecConsts<>+168(SB)/4, $0xb95e8083
DATA vecConsts<>+172(SB)/4, $0xb95e8083
DATA vecConsts<>+176(SB)/4, $0xb95e8083
DATA vecConsts<>+180(SB)/4, $0xb95e8083
DATA vecConsts<>+184(SB)/4, $0xb95e8083
DATA vecConsts<>+188(SB)/4, $0xb95e8083
// p5
DATA vecConsts<>+192(SB)/4, $0x39506967
DATA vecConsts<>+196(SB)/4, $0x39506967
DATA vecConsts<>+200(SB)/4, $0x39506967
DATA vecConsts<>+204(SB)/4, $0x39506967
DATA vecConsts<>+208(SB)/4, $0x39506967
DATA vecConsts<>+212(SB)/4, $0x39506967
DATA vecConsts<>+216(SB)/4, $0x39506967
DATA vecConsts<>+220(SB)/4, $0x39506967
// p4
DATA vecConsts<>+224(SB)/4, $0x3ab743ce
DATA vecConsts<>+228(SB)/4, $0x3ab743ce
DATA vecConsts<>+232(SB)/4, $0x3ab743ce
DATA vecConsts<>+236(SB)/4, $0x3ab743ce
DATA vecConsts<>+240(SB)/4, $0x3ab743ce
DATA vecConsts<>+244(SB)/4, $0x3ab743ce
DATA vecConsts<>+248(SB)/4, $0x3ab743ce
DATA vecConsts<>+252(SB)/4, $0x3ab743ce
// p3
DATA vecConsts<>+256(SB)/4, $0x3c088908
DATA vecConsts<>+260(SB)/4, $0x3c088908
DATA vecConsts<>+264(SB)/4, $0x3c088908
DATA vecConsts<>+268(SB)/4, $0x3c088908
DATA vecConsts<>+272(SB)/4, $0x3c088908
DATA vecConsts<>+276(SB)/4, $0x3c088908
DATA vecConsts<>+280(SB)/4, $0x3c088908
DATA vecConsts<>+284(SB)/4, $0x3c088908
// p2
DATA vecConsts<>+288(SB)/4, $0x3d2aa9c1
DATA vecConsts<>+292(SB)/4, $0x3d2aa9c1
DATA vecConsts<>+296(SB)/4, $0x3d2aa9c1
DATA vecConsts<>+300(SB)/4, $0x3d2aa9c1
DATA vecConsts<>+304(SB)/4, $0x3d2aa9c1
DATA vecConsts<>+308(SB)/4, $0x3d2aa9c1
DATA vecConsts<>+312(SB)/4, $0x3d2aa9c1
DATA vecConsts<>+316(SB)/4, $0x3d2aa9c1
// p1
DATA vecConsts<>+320(SB)/4, $0x3e2aaaaa
DATA vecConsts<>+324(SB)/4, $0x3e2aaaaa
DATA vecConsts<>+328(SB)/4, $0x3e2aaaaa
DATA vecConsts<>+332(SB)/4, $0x3e2aaaaa
DATA vecConsts<>+336(SB)/4, $0x3e2aaaaa
DATA vecConsts<>+340(SB)/4, $0x3e2aaaaa
DATA vecConsts<>+344(SB)/4, $0x3e2aaaaa
DATA vecConsts<>+348(SB)/4, $0x3e2aaaaa
// p0
DATA vecConsts<>+352(SB)/4, $0x3f000000
DATA vecConsts<>+356(SB)/4, $0x3f000000
DATA vecConsts<>+360(SB)/4, $0x3f000000
DATA vecConsts<>+364(SB)/4, $0x3f000000
DATA vecConsts<>+368(SB)/4, $0x3f000000
DATA vecConsts<>+372(SB)/4, $0x3f000000
DATA vecConsts<>+376(SB)/4, $0x3f000000
DATA vecConsts<>+380(SB)/4, $0x3f000000
// one
DATA vecConsts<>+384(SB)/4, $0x3f800000
DATA vecConsts<>+388(SB)/4, $0x3f800000
DATA vecConsts<>+392(SB)/4, $0x3f800000
DATA vecConsts<>+396(SB)/4, $0x3f800000
DATA vecConsts<>+400(SB)/4, $0x3f800000
DATA vecConsts<>+404(SB)/4, $0x3f800000
DATA vecConsts<>+408(SB)/4, $0x3f800000
DATA vecConsts<>+412(SB)/4, $0x3f800000
// bias
DATA vecConsts<>+416(SB)/4, $0x0000007f
DATA vecConsts<>+420(SB)/4, $0x0000007f
DATA vecConsts<>+424(SB)/4, $0x0000007f
DATA vecConsts<>+428(SB)/4, $0x0000007f
DATA vecConsts<>+432(SB)/4, $0x0000007f
DATA vecConsts<>+436(SB)/4, $0x0000007f
DATA vecConsts<>+440(SB)/4, $0x0000007f
DATA vecConsts<>+444(SB)/4, $0x0000007f
// inf
DATA vecConsts<>+448(SB)/4, $0x7f800000
DATA vecConsts<>+452(SB)/4, $0x7f800000
DATA vecConsts<>+456(SB)/4, $0x7f800000
DATA vecConsts<>+460(SB)/4, $0x7f800000
DATA vecConsts<>+464(SB)/4, $0x7f800000
DATA vecConsts<>+468(SB)/4, $0x7f800000
DATA vecConsts<>+472(SB)/4, $0x7f800000
DATA vecConsts<>+476(SB)/4, $0x7f800000
// maxint
DATA vecConsts<>+480(SB)/4, $0x7fffffff
DATA vecConsts<>+484(SB)/4, $0x7fffffff
DATA vecConsts<>+488(SB)/4, $0x7fffffff
DATA vecConsts<>+492(SB)/4, $0x7fffffff
DATA vecConsts<>+496(SB)/4, $0x7fffffff
DATA vecConsts<>+500(SB)/4, $0x7fffffff
DATA vecConsts<>+504(SB)/4, $0x7fffffff
DATA vecConsts<>+508(SB)/4, $0x7fffffff
// eight
DATA vecConsts<>+512(SB)/4, $0x00000008
DATA vecConsts<>+516(SB)/4, $0x00000008
DATA vecConsts<>+520(SB)/4, $0x00000008
DATA vecConsts<>+524(SB)/4, $0x00000008
DATA vecConsts<>+528(SB)/4, $0x00000008
DATA vecConsts<>+532(SB)/4, $0x00000008
DATA vecConsts<>+536(SB)/4, $0x00000008
DATA vecConsts<>+540(SB)/4, $0x00000008
// sixteen
DATA vecConsts<>+544(SB)/4, $0x00000010
DATA vecConsts<>+548(SB)/4, $0x00000010
DATA vecConsts<>+552(SB)/4, $0x00000010
DATA vecConsts<>+556(SB)/4, $0x00000010
DATA vecConsts<>+560(SB)/4, $0x00000010
DATA vecConsts<>+564(SB)/4, $0x00000010
DATA vecConsts<>+568(SB)/4, $0x00000010
DATA vecConsts<>+572(SB)/4, $0x00000010
// thirtytwo
DATA vecConsts<>+576(SB)/4, $0x00000020
DATA vecConsts<>+580(SB)/4, $0x00000020
DATA vecConsts<>+584(SB)/4, $0x00000020
DATA vecConsts<>+588(SB)/4, $0x00000020
DATA vecConsts<>+592(SB)/4, $0x00000020
DATA vecConsts<>+596(SB)/4, $0x00000020
DATA vecConsts<>+600(SB)/4, $0x00000020
DATA vecConsts<>+604(SB)/4, $0x00000020
// iota: 0, 1, …, 15
DATA vecConsts<>+608(SB)/4, $0
DATA vecConsts<>+612(SB)/4, $1
DATA vecConsts<>+616(SB)/4, $2
DATA vecConsts<>+620(SB)/4, $3
DATA vecConsts<>+624(SB)/4, $4
DATA vecConsts<>+628(SB)/4, $5
DATA vecConsts<>+632(SB)/4, $6
DATA vecConsts<>+636(SB)/4, $7
DATA vecConsts<>+640(SB)/4, $8
DATA vecConsts<>+644(SB)/4, $9
DATA vecConsts<>+648(SB)/4, $10
DATA vecConsts<>+652(SB)/4, $11
DATA vecConsts<>+656(SB)/4, $12
DATA vecConsts<>+660(SB)/4, $13
DATA vecConsts<>+664(SB)/4, $14
DATA vecConsts<>+668(SB)/4, $15
// tail masks: 8 × -1 then 8 × 0; the mask of the first r lanes starts at lane 8-r
DATA vecConsts<>+672(SB)/4, $0xffffffff
DATA vecConsts<>+676(SB)/4, $0xffffffff
DATA vecConsts<>+680(SB)/4, $0xffffffff
DATA vecConsts<>+684(SB)/4, $0xffffffff
DATA vecConsts<>+688(SB)/4, $0xffffffff
DATA vecConsts<>+692(SB)/4, $0xffffffff
DATA vecConsts<>+696(SB)/4, $0xffffffff
DATA vecConsts<>+700(SB)/4, $0xffffffff
DATA vecConsts<>+704(SB)/4, $0x00000000
DATA vecConsts<>+708(SB)/4, $0x00000000
DATA vecConsts<>+712(SB)/4, $0x00000000
DATA vecConsts<>+716(SB)/4, $0x00000000
DATA vecConsts<>+720(SB)/4, $0x00000000
DATA vecConsts<>+724(SB)/4, $0x00000000
DATA vecConsts<>+728(SB)/4, $0x00000000
DATA vecConsts<>+732(SB)/4, $0x00000000
GLOBL vecConsts<>(SB), RODATA|NOPTR, $736

// ---------------------------------------------------------------------------
// Shared macros.

// TAILK sets K1 to the low CX bits (1 ≤ CX ≤ 15); clobbers AX.
#define TAILK \
	MOVL $1, AX; \
	SHLL CX, AX; \
	DECL AX; \
	KMOVW AX, K1

// TAILY loads into Y15 the AVX2 mask of the first CX lanes (1 ≤ CX ≤ 7);
// clobbers AX and DX.
#define TAILY \
	LEAQ vecConsts<>+C_TAILMASK(SB), AX; \
	MOVQ $8, DX; \
	SUBQ CX, DX; \
	VMOVDQU (AX)(DX*4), Y15

// HSUM512 sums the 16 lanes of Z0 into X0; clobbers Z1.
#define HSUM512 \
	VEXTRACTF64X4 $1, Z0, Y1; \
	VADDPS Y1, Y0, Y0; \
	HSUM256

// HSUM256 sums the 8 lanes of Y0 into X0; clobbers Y1.
#define HSUM256 \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VMOVHLPS X0, X0, X1; \
	VADDPS X1, X0, X0; \
	VMOVSHDUP X0, X1; \
	VADDSS X1, X0, X0

// ---------------------------------------------------------------------------
// Dot

// func dotAVX512(x, y *float32, n int) float32
TEXT ·dotAVX512(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	CMPQ CX, $64
	JLT dot512_16

dot512_64:
	VMOVUPS (SI), Z4
	VMOVUPS 64(SI), Z5
	VMOVUPS 128(SI), Z6
	VMOVUPS 192(SI), Z7
	VFMADD231PS (DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	CMPQ CX, $64
	JGE  dot512_64

dot512_16:
	CMPQ CX, $16
	JLT  dot512_tail
	VMOVUPS (SI), Z4
	VFMADD231PS (DI), Z4, Z0
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  dot512_16

dot512_tail:
	TESTQ CX, CX
	JEQ   dot512_sum
	TAILK
	VMOVUPS.Z (SI), K1, Z4
	VMOVUPS.Z (DI), K1, Z5
	VFMADD231PS Z5, Z4, Z1

dot512_sum:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	HSUM512
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotAVX2(x, y *float32, n int) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	CMPQ CX, $32
	JLT  dot256_8

dot256_32:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE  dot256_32

dot256_8:
	CMPQ CX, $8
	JLT  dot256_tail
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  dot256_8

dot256_tail:
	TESTQ CX, CX
	JEQ   dot256_sum
	TAILY
	VMASKMOVPS (SI), Y15, Y4
	VMASKMOVPS (DI), Y15, Y5
	VFMADD231PS Y5, Y4, Y1

dot256_sum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM256
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// Axpy: y += alpha·x

// func axpyAVX512(alpha float32, x, y *float32, n int)
TEXT ·axpyAVX512(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Z31
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
	CMPQ CX, $64
	JLT  axpy512_16

axpy512_64:
	VMOVUPS (DI), Z0
	VMOVUPS 64(DI), Z1
	VMOVUPS 128(DI), Z2
	VMOVUPS 192(DI), Z3
	VFMADD231PS (SI), Z31, Z0
	VFMADD231PS 64(SI), Z31, Z1
	VFMADD231PS 128(SI), Z31, Z2
	VFMADD231PS 192(SI), Z31, Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	CMPQ CX, $64
	JGE  axpy512_64

axpy512_16:
	CMPQ CX, $16
	JLT  axpy512_tail
	VMOVUPS (DI), Z0
	VFMADD231PS (SI), Z31, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  axpy512_16

axpy512_tail:
	TESTQ CX, CX
	JEQ   axpy512_done
	TAILK
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VFMADD231PS Z1, Z31, Z0
	VMOVUPS Z0, K1, (DI)

axpy512_done:
	VZEROUPPER
	RET

// func axpyAVX2(alpha float32, x, y *float32, n int)
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Y14
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
	CMPQ CX, $32
	JLT  axpy256_8

axpy256_32:
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VFMADD231PS (SI), Y14, Y0
	VFMADD231PS 32(SI), Y14, Y1
	VFMADD231PS 64(SI), Y14, Y2
	VFMADD231PS 96(SI), Y14, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE  axpy256_32

axpy256_8:
	CMPQ CX, $8
	JLT  axpy256_tail
	VMOVUPS (DI), Y0
	VFMADD231PS (SI), Y14, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  axpy256_8

axpy256_tail:
	TESTQ CX, CX
	JEQ   axpy256_done
	TAILY
	VMASKMOVPS (DI), Y15, Y0
	VMASKMOVPS (SI), Y15, Y1
	VFMADD231PS Y1, Y14, Y0
	VMASKMOVPS Y0, Y15, (DI)

axpy256_done:
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// AxpyTo: dst = y + alpha·x (dst may be x or y)

// func axpyToAVX512(alpha float32, x, y, dst *float32, n int)
TEXT ·axpyToAVX512(SB), NOSPLIT, $0-40
	VBROADCASTSS alpha+0(FP), Z31
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ dst+24(FP), DX
	MOVQ n+32(FP), CX
	CMPQ CX, $64
	JLT  axpyto512_16

axpyto512_64:
	VMOVUPS (DI), Z0
	VMOVUPS 64(DI), Z1
	VMOVUPS 128(DI), Z2
	VMOVUPS 192(DI), Z3
	VFMADD231PS (SI), Z31, Z0
	VFMADD231PS 64(SI), Z31, Z1
	VFMADD231PS 128(SI), Z31, Z2
	VFMADD231PS 192(SI), Z31, Z3
	VMOVUPS Z0, (DX)
	VMOVUPS Z1, 64(DX)
	VMOVUPS Z2, 128(DX)
	VMOVUPS Z3, 192(DX)
	ADDQ $256, SI
	ADDQ $256, DI
	ADDQ $256, DX
	SUBQ $64, CX
	CMPQ CX, $64
	JGE  axpyto512_64

axpyto512_16:
	CMPQ CX, $16
	JLT  axpyto512_tail
	VMOVUPS (DI), Z0
	VFMADD231PS (SI), Z31, Z0
	VMOVUPS Z0, (DX)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, DX
	SUBQ $16, CX
	JMP  axpyto512_16

axpyto512_tail:
	TESTQ CX, CX
	JEQ   axpyto512_done
	TAILK
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VFMADD231PS Z1, Z31, Z0
	VMOVUPS Z0, K1, (DX)

axpyto512_done:
	VZEROUPPER
	RET

// func axpyToAVX2(alpha float32, x, y, dst *float32, n int)
TEXT ·axpyToAVX2(SB), NOSPLIT, $0-40
	VBROADCASTSS alpha+0(FP), Y14
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ dst+24(FP), R8
	MOVQ n+32(FP), CX
	CMPQ CX, $32
	JLT  axpyto256_8

axpyto256_32:
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VFMADD231PS (SI), Y14, Y0
	VFMADD231PS 32(SI), Y14, Y1
	VFMADD231PS 64(SI), Y14, Y2
	VFMADD231PS 96(SI), Y14, Y3
	VMOVUPS Y0, (R8)
	VMOVUPS Y1, 32(R8)
	VMOVUPS Y2, 64(R8)
	VMOVUPS Y3, 96(R8)
	ADDQ $128, SI
	ADDQ $128, DI
	ADDQ $128, R8
	SUBQ $32, CX
	CMPQ CX, $32
	JGE  axpyto256_32

axpyto256_8:
	CMPQ CX, $8
	JLT  axpyto256_tail
	VMOVUPS (DI), Y0
	VFMADD231PS (SI), Y14, Y0
	VMOVUPS Y0, (R8)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R8
	SUBQ $8, CX
	JMP  axpyto256_8

axpyto256_tail:
	TESTQ CX, CX
	JEQ   axpyto256_done
	TAILY
	VMASKMOVPS (DI), Y15, Y0
	VMASKMOVPS (SI), Y15, Y1
	VFMADD231PS Y1, Y14, Y0
	VMASKMOVPS Y0, Y15, (R8)

axpyto256_done:
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// Scale: x *= alpha

// func scaleAVX512(alpha float32, x *float32, n int)
TEXT ·scaleAVX512(SB), NOSPLIT, $0-24
	VBROADCASTSS alpha+0(FP), Z31
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	CMPQ CX, $64
	JLT  scale512_16

scale512_64:
	VMULPS (SI), Z31, Z0
	VMULPS 64(SI), Z31, Z1
	VMULPS 128(SI), Z31, Z2
	VMULPS 192(SI), Z31, Z3
	VMOVUPS Z0, (SI)
	VMOVUPS Z1, 64(SI)
	VMOVUPS Z2, 128(SI)
	VMOVUPS Z3, 192(SI)
	ADDQ $256, SI
	SUBQ $64, CX
	CMPQ CX, $64
	JGE  scale512_64

scale512_16:
	CMPQ CX, $16
	JLT  scale512_tail
	VMULPS (SI), Z31, Z0
	VMOVUPS Z0, (SI)
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  scale512_16

scale512_tail:
	TESTQ CX, CX
	JEQ   scale512_done
	TAILK
	VMOVUPS.Z (SI), K1, Z0
	VMULPS Z0, Z31, Z0
	VMOVUPS Z0, K1, (SI)

scale512_done:
	VZEROUPPER
	RET

// func scaleAVX2(alpha float32, x *float32, n int)
TEXT ·scaleAVX2(SB), NOSPLIT, $0-24
	VBROADCASTSS alpha+0(FP), Y14
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	CMPQ CX, $32
	JLT  scale256_8

scale256_32:
	VMULPS (SI), Y14, Y0
	VMULPS 32(SI), Y14, Y1
	VMULPS 64(SI), Y14, Y2
	VMULPS 96(SI), Y14, Y3
	VMOVUPS Y0, (SI)
	VMOVUPS Y1, 32(SI)
	VMOVUPS Y2, 64(SI)
	VMOVUPS Y3, 96(SI)
	ADDQ $128, SI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE  scale256_32

scale256_8:
	CMPQ CX, $8
	JLT  scale256_tail
	VMULPS (SI), Y14, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  scale256_8

scale256_tail:
	TESTQ CX, CX
	JEQ   scale256_done
	TAILY
	VMASKMOVPS (SI), Y15, Y0
	VMULPS Y0, Y14, Y0
	VMASKMOVPS Y0, Y15, (SI)

scale256_done:
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// Exp. See exp32 in vec.go for the algorithm; the steps here are the same,
// with fused multiply-adds.

// EXP512 computes exp of the 16 lanes of X in place, using N, P and T as
// scratch and the constants in Z16–Z28 (see expAVX512).
#define EXP512(X, N, P, T) \
	VMAXPS X, Z16, X; \
	VMINPS X, Z17, X; \
	VMOVAPS X, N; \
	VFMADD213PS Z19, Z18, N; \
	VSUBPS Z19, N, N; \
	VFNMADD231PS N, Z20, X; \
	VFNMADD231PS N, Z21, X; \
	VMOVAPS Z22, P; \
	VFMADD213PS Z23, X, P; \
	VFMADD213PS Z24, X, P; \
	VFMADD213PS Z25, X, P; \
	VFMADD213PS Z26, X, P; \
	VFMADD213PS Z27, X, P; \
	VMULPS X, X, T; \
	VFMADD213PS X, T, P; \
	VADDPS Z28, P, P; \
	VSCALEFPS N, P, X

// func expAVX512(dst, src *float32, n int)
TEXT ·expAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS vecConsts<>+C_LO(SB), Z16
	VBROADCASTSS vecConsts<>+C_HI(SB), Z17
	VBROADCASTSS vecConsts<>+C_LOG2E(SB), Z18
	VBROADCASTSS vecConsts<>+C_MAGIC(SB), Z19
	VBROADCASTSS vecConsts<>+C_C1(SB), Z20
	VBROADCASTSS vecConsts<>+C_C2(SB), Z21
	VBROADCASTSS vecConsts<>+C_P5(SB), Z22
	VBROADCASTSS vecConsts<>+C_P4(SB), Z23
	VBROADCASTSS vecConsts<>+C_P3(SB), Z24
	VBROADCASTSS vecConsts<>+C_P2(SB), Z25
	VBROADCASTSS vecConsts<>+C_P1(SB), Z26
	VBROADCASTSS vecConsts<>+C_P0(SB), Z27
	VBROADCASTSS vecConsts<>+C_ONE(SB), Z28
	CMPQ CX, $32
	JLT  exp512_16

exp512_32:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z4
	EXP512(Z0, Z1, Z2, Z3)
	EXP512(Z4, Z5, Z6, Z7)
	VMOVUPS Z0, (DI)
	VMOVUPS Z4, 64(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE  exp512_32

exp512_16:
	CMPQ CX, $16
	JLT  exp512_tail
	VMOVUPS (SI), Z0
	EXP512(Z0, Z1, Z2, Z3)
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX

exp512_tail:
	TESTQ CX, CX
	JEQ   exp512_done
	TAILK
	VMOVUPS.Z (SI), K1, Z0
	EXP512(Z0, Z1, Z2, Z3)
	VMOVUPS Z0, K1, (DI)

exp512_done:
	VZEROUPPER
	RET

// EXP256 computes exp of the 8 lanes of X in place, using N, P, T and I as
// scratch and the constants in Y8–Y14 and vecConsts (see expAVX2). Without
// VSCALEFPS, 2ⁿ is applied as 2^(n>>1)·2^(n−n>>1), both normal, so the first
// product is exact and the second rounds once.
#define EXP256(X, N, P, T, I) \
	VMAXPS X, Y8, X; \
	VMINPS X, Y9, X; \
	VMOVAPS X, N; \
	VFMADD213PS Y11, Y10, N; \
	VPSUBD Y11, N, I; \
	VSUBPS Y11, N, N; \
	VFNMADD231PS N, Y12, X; \
	VFNMADD231PS N, Y13, X; \
	VMOVUPS vecConsts<>+C_P5(SB), P; \
	VFMADD213PS vecConsts<>+C_P4(SB), X, P; \
	VFMADD213PS vecConsts<>+C_P3(SB), X, P; \
	VFMADD213PS vecConsts<>+C_P2(SB), X, P; \
	VFMADD213PS vecConsts<>+C_P1(SB), X, P; \
	VFMADD213PS vecConsts<>+C_P0(SB), X, P; \
	VMULPS X, X, T; \
	VFMADD213PS X, T, P; \
	VADDPS Y14, P, P; \
	VPSRAD $1, I, T; \
	VPSUBD T, I, I; \
	VPADDD vecConsts<>+C_BIAS(SB), T, T; \
	VPSLLD $23, T, T; \
	VPADDD vecConsts<>+C_BIAS(SB), I, I; \
	VPSLLD $23, I, I; \
	VMULPS T, P, P; \
	VMULPS I, P, X

// func expAVX2(dst, src *float32, n int)
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VMOVUPS vecConsts<>+C_LO(SB), Y8
	VMOVUPS vecConsts<>+C_HI(SB), Y9
	VMOVUPS vecConsts<>+C_LOG2E(SB), Y10
	VMOVUPS vecConsts<>+C_MAGIC(SB), Y11
	VMOVUPS vecConsts<>+C_C1(SB), Y12
	VMOVUPS vecConsts<>+C_C2(SB), Y13
	VMOVUPS vecConsts<>+C_ONE(SB), Y14

exp256_8:
	CMPQ CX, $8
	JLT  exp256_tail
	VMOVUPS (SI), Y0
	EXP256(Y0, Y1, Y2, Y3, Y4)
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  exp256_8

exp256_tail:
	TESTQ CX, CX
	JEQ   exp256_done
	TAILY
	VMASKMOVPS (SI), Y15, Y0
	EXP256(Y0, Y1, Y2, Y3, Y4)
	VMASKMOVPS Y0, Y15, (DI)

exp256_done:
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// Row minimum with index (dist.go). Each kernel keeps two lane-wise states,
// (Z0 value, Z1 index) for even 16-blocks and (Z5, Z6) for odd ones; a lane
// takes a new value only when it is strictly less (so a NaN never enters and
// the first of equal values stays). The reduction takes the least value m of
// the 32 lanes and then the least index among lanes whose value equals m,
// which is the lowest index of the least value. Lanes start at (+Inf, 0), so
// a row with no value below +Inf gives index 0.

// ARGMIN512_INIT sets up the states, Z2 (the indices of the current block)
// and Z3, Z12 (the increments 16 and 32).
#define ARGMIN512_INIT \
	VBROADCASTSS vecConsts<>+C_INF(SB), Z0; \
	VMOVAPS Z0, Z5; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z6, Z6, Z6; \
	VMOVDQU32 vecConsts<>+C_IOTA(SB), Z2; \
	VPBROADCASTD vecConsts<>+C_SIXTEEN(SB), Z3; \
	VPBROADCASTD vecConsts<>+C_THIRTYTWO(SB), Z12

// ARGMIN512_STEP folds the 16 values in V into state (M, I) under mask K
// (K0 is not usable as a write mask, so the unmasked step uses K2 = all).
#define ARGMIN512_STEP(V, M, I, CUR, KIN, KT) \
	VCMPPS $1, M, V, KIN, KT; \
	VMOVAPS V, KT, M; \
	VMOVDQA32 CUR, KT, I

// ARGMIN512_REDUCE writes the least value to X7 and its index to AX.
#define ARGMIN512_REDUCE \
	VMINPS Z5, Z0, Z7; \
	VSHUFF32X4 $0x4E, Z7, Z7, Z8; \
	VMINPS Z8, Z7, Z7; \
	VSHUFF32X4 $0xB1, Z7, Z7, Z8; \
	VMINPS Z8, Z7, Z7; \
	VPERMILPS $0x4E, Z7, Z8; \
	VMINPS Z8, Z7, Z7; \
	VPERMILPS $0xB1, Z7, Z8; \
	VMINPS Z8, Z7, Z7; \
	VCMPPS $0, Z7, Z0, K1; \
	VCMPPS $0, Z7, Z5, K2; \
	VPBROADCASTD vecConsts<>+C_MAXINT(SB), Z8; \
	VMOVDQA32 Z8, Z9; \
	VMOVDQA32 Z1, K1, Z8; \
	VMOVDQA32 Z6, K2, Z9; \
	VPMINSD Z9, Z8, Z8; \
	VSHUFI32X4 $0x4E, Z8, Z8, Z9; \
	VPMINSD Z9, Z8, Z8; \
	VSHUFI32X4 $0xB1, Z8, Z8, Z9; \
	VPMINSD Z9, Z8, Z8; \
	VPSHUFD $0x4E, Z8, Z9; \
	VPMINSD Z9, Z8, Z8; \
	VPSHUFD $0xB1, Z8, Z9; \
	VPMINSD Z9, Z8, Z8; \
	VMOVD X8, AX

// func argminAVX512(x *float32, n int) (val float32, idx int)
TEXT ·argminAVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	ARGMIN512_INIT
	KXNORW K2, K2, K2
	CMPQ CX, $32
	JLT  argmin512_16

argmin512_32:
	VMOVUPS (SI), Z4
	VMOVUPS 64(SI), Z10
	VPADDD Z3, Z2, Z11
	ARGMIN512_STEP(Z4, Z0, Z1, Z2, K2, K3)
	ARGMIN512_STEP(Z10, Z5, Z6, Z11, K2, K4)
	VPADDD Z12, Z2, Z2
	ADDQ $128, SI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE  argmin512_32

argmin512_16:
	CMPQ CX, $16
	JLT  argmin512_tail
	VMOVUPS (SI), Z4
	ARGMIN512_STEP(Z4, Z0, Z1, Z2, K2, K3)
	VPADDD Z3, Z2, Z2
	ADDQ $64, SI
	SUBQ $16, CX

argmin512_tail:
	TESTQ CX, CX
	JEQ   argmin512_reduce
	TAILK
	VMOVUPS.Z (SI), K1, Z4
	ARGMIN512_STEP(Z4, Z5, Z6, Z2, K1, K3)

argmin512_reduce:
	ARGMIN512_REDUCE
	VMOVSS X7, val+16(FP)
	MOVQ AX, idx+24(FP)
	VZEROUPPER
	RET

// MAC512 loads into V the 16 values max(0, c + (y[j] + x[j])) at byte
// offset OFF, with c in Z31 and zero in Z30; the max keeps a NaN.
#define MAC512(V, OFF) \
	VMOVUPS OFF(DI), V; \
	VADDPS OFF(SI), V, V; \
	VADDPS Z31, V, V; \
	VMAXPS V, Z30, V

// func minAddClampAVX512(c float32, x, y *float32, n int) (val float32, idx int)
TEXT ·minAddClampAVX512(SB), NOSPLIT, $0-48
	VBROADCASTSS c+0(FP), Z31
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
	VPXORD Z30, Z30, Z30
	ARGMIN512_INIT
	KXNORW K2, K2, K2
	CMPQ CX, $32
	JLT  mac512_16

mac512_32:
	MAC512(Z4, 0)
	MAC512(Z10, 64)
	VPADDD Z3, Z2, Z11
	ARGMIN512_STEP(Z4, Z0, Z1, Z2, K2, K3)
	ARGMIN512_STEP(Z10, Z5, Z6, Z11, K2, K4)
	VPADDD Z12, Z2, Z2
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE  mac512_32

mac512_16:
	CMPQ CX, $16
	JLT  mac512_tail
	MAC512(Z4, 0)
	ARGMIN512_STEP(Z4, Z0, Z1, Z2, K2, K3)
	VPADDD Z3, Z2, Z2
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX

mac512_tail:
	TESTQ CX, CX
	JEQ   mac512_reduce
	TAILK
	VMOVUPS.Z (DI), K1, Z4
	VMOVUPS.Z (SI), K1, Z10
	VADDPS Z10, Z4, Z4
	VADDPS Z31, Z4, Z4
	VMAXPS Z4, Z30, Z4
	ARGMIN512_STEP(Z4, Z5, Z6, Z2, K1, K3)

mac512_reduce:
	ARGMIN512_REDUCE
	VMOVSS X7, val+32(FP)
	MOVQ AX, idx+40(FP)
	VZEROUPPER
	RET

// ARGMIN256_INIT sets up the states (Y0, Y1) and (Y5, Y6), the indices of
// the current block Y2, the increments 8 (Y3) and 16 (Y12), and +Inf (Y14).
#define ARGMIN256_INIT \
	VMOVUPS vecConsts<>+C_INF(SB), Y0; \
	VMOVAPS Y0, Y5; \
	VMOVAPS Y0, Y14; \
	VPXOR Y1, Y1, Y1; \
	VPXOR Y6, Y6, Y6; \
	VMOVDQU vecConsts<>+C_IOTA(SB), Y2; \
	VMOVDQU vecConsts<>+C_EIGHT(SB), Y3; \
	VMOVDQU vecConsts<>+C_SIXTEEN(SB), Y12

// ARGMIN256_STEP folds the 8 values in V into state (M, I); T is scratch.
#define ARGMIN256_STEP(V, M, I, CUR, T) \
	VCMPPS $1, M, V, T; \
	VBLENDVPS T, V, M, M; \
	VBLENDVPS T, CUR, I, I

// ARGMIN256_REDUCE writes the least value to X7 and its index to AX.
#define ARGMIN256_REDUCE \
	VMINPS Y5, Y0, Y7; \
	VPERM2F128 $1, Y7, Y7, Y8; \
	VMINPS Y8, Y7, Y7; \
	VPERMILPS $0x4E, Y7, Y8; \
	VMINPS Y8, Y7, Y7; \
	VPERMILPS $0xB1, Y7, Y8; \
	VMINPS Y8, Y7, Y7; \
	VCMPPS $0, Y7, Y0, Y8; \
	VCMPPS $0, Y7, Y5, Y9; \
	VMOVDQU vecConsts<>+C_MAXINT(SB), Y10; \
	VBLENDVPS Y8, Y1, Y10, Y11; \
	VBLENDVPS Y9, Y6, Y10, Y10; \
	VPMINSD Y11, Y10, Y10; \
	VPERM2I128 $1, Y10, Y10, Y11; \
	VPMINSD Y11, Y10, Y10; \
	VPSHUFD $0x4E, Y10, Y11; \
	VPMINSD Y11, Y10, Y10; \
	VPSHUFD $0xB1, Y10, Y11; \
	VPMINSD Y11, Y10, Y10; \
	VMOVD X10, AX

// func argminAVX2(x *float32, n int) (val float32, idx int)
TEXT ·argminAVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	ARGMIN256_INIT
	CMPQ CX, $16
	JLT  argmin256_8

argmin256_16:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y9
	VPADDD Y3, Y2, Y11
	ARGMIN256_STEP(Y4, Y0, Y1, Y2, Y7)
	ARGMIN256_STEP(Y9, Y5, Y6, Y11, Y13)
	VPADDD Y12, Y2, Y2
	ADDQ $64, SI
	SUBQ $16, CX
	CMPQ CX, $16
	JGE  argmin256_16

argmin256_8:
	CMPQ CX, $8
	JLT  argmin256_tail
	VMOVUPS (SI), Y4
	ARGMIN256_STEP(Y4, Y0, Y1, Y2, Y7)
	VPADDD Y3, Y2, Y2
	ADDQ $32, SI
	SUBQ $8, CX

argmin256_tail:
	TESTQ CX, CX
	JEQ   argmin256_reduce
	TAILY
	VMASKMOVPS (SI), Y15, Y4
	VBLENDVPS Y15, Y4, Y14, Y4
	ARGMIN256_STEP(Y4, Y5, Y6, Y2, Y7)

argmin256_reduce:
	ARGMIN256_REDUCE
	VMOVSS X7, val+16(FP)
	MOVQ AX, idx+24(FP)
	VZEROUPPER
	RET

// MAC256 loads into V the 8 values max(0, c + (y[j] + x[j])) at byte offset
// OFF, with c in Y8 and zero in Y10.
#define MAC256(V, OFF) \
	VMOVUPS OFF(DI), V; \
	VADDPS OFF(SI), V, V; \
	VADDPS Y8, V, V; \
	VMAXPS V, Y10, V

// func minAddClampAVX2(c float32, x, y *float32, n int) (val float32, idx int)
TEXT ·minAddClampAVX2(SB), NOSPLIT, $0-48
	VBROADCASTSS c+0(FP), Y8
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
	VXORPS Y10, Y10, Y10
	ARGMIN256_INIT
	CMPQ CX, $16
	JLT  mac256_8

mac256_16:
	MAC256(Y4, 0)
	MAC256(Y9, 32)
	VPADDD Y3, Y2, Y11
	ARGMIN256_STEP(Y4, Y0, Y1, Y2, Y7)
	ARGMIN256_STEP(Y9, Y5, Y6, Y11, Y13)
	VPADDD Y12, Y2, Y2
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	CMPQ CX, $16
	JGE  mac256_16

mac256_8:
	CMPQ CX, $8
	JLT  mac256_tail
	MAC256(Y4, 0)
	ARGMIN256_STEP(Y4, Y0, Y1, Y2, Y7)
	VPADDD Y3, Y2, Y2
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX

mac256_tail:
	TESTQ CX, CX
	JEQ   mac256_reduce
	TAILY
	VMASKMOVPS (DI), Y15, Y4
	VMASKMOVPS (SI), Y15, Y9
	VADDPS Y9, Y4, Y4
	VADDPS Y8, Y4, Y4
	VMAXPS Y4, Y10, Y4
	VBLENDVPS Y15, Y4, Y14, Y4
	ARGMIN256_STEP(Y4, Y5, Y6, Y2, Y7)

mac256_reduce:
	ARGMIN256_REDUCE
	VMOVSS X7, val+32(FP)
	MOVQ AX, idx+40(FP)
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// addClamp: y[j] = max(0, c + (y[j] + x[j]))

// func addClampAVX512(c float32, x, y *float32, n int)
TEXT ·addClampAVX512(SB), NOSPLIT, $0-32
	VBROADCASTSS c+0(FP), Z31
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
	VPXORD Z30, Z30, Z30
	CMPQ CX, $64
	JLT  addc512_16

addc512_64:
	MAC512(Z0, 0)
	MAC512(Z1, 64)
	MAC512(Z2, 128)
	MAC512(Z3, 192)
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	CMPQ CX, $64
	JGE  addc512_64

addc512_16:
	CMPQ CX, $16
	JLT  addc512_tail
	MAC512(Z0, 0)
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  addc512_16

addc512_tail:
	TESTQ CX, CX
	JEQ   addc512_done
	TAILK
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VADDPS Z1, Z0, Z0
	VADDPS Z31, Z0, Z0
	VMAXPS Z0, Z30, Z0
	VMOVUPS Z0, K1, (DI)

addc512_done:
	VZEROUPPER
	RET

// func addClampAVX2(c float32, x, y *float32, n int)
TEXT ·addClampAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS c+0(FP), Y8
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
	VXORPS Y10, Y10, Y10
	CMPQ CX, $32
	JLT  addc256_8

addc256_32:
	MAC256(Y0, 0)
	MAC256(Y1, 32)
	MAC256(Y2, 64)
	MAC256(Y3, 96)
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE  addc256_32

addc256_8:
	CMPQ CX, $8
	JLT  addc256_tail
	MAC256(Y0, 0)
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  addc256_8

addc256_tail:
	TESTQ CX, CX
	JEQ   addc256_done
	TAILY
	VMASKMOVPS (DI), Y15, Y0
	VMASKMOVPS (SI), Y15, Y1
	VADDPS Y1, Y0, Y0
	VADDPS Y8, Y0, Y0
	VMAXPS Y0, Y10, Y0
	VMASKMOVPS Y0, Y15, (DI)

addc256_done:
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// Dot products and squared row norms with the GEMM kernels' arithmetic: for
// each row, a chain of scalar fused multiply-adds acc = fma(a[p], x[p], acc)
// from acc = 0, p ascending, exactly as one lane of the AVX2 and AVX-512 GEMM
// micro-kernels accumulates one element of C. Eight rows run side by side to
// hide the FMA latency.

// func sqNorms8FMA(a *float32, lda, k int, dst *float32)
TEXT ·sqNorms8FMA(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), DX
	MOVQ k+16(FP), CX
	MOVQ dst+24(FP), AX
	SHLQ $2, DX
	SHLQ $2, CX
	LEAQ (SI)(DX*1), DI
	LEAQ (DI)(DX*1), R8
	LEAQ (R8)(DX*1), R9
	LEAQ (R9)(DX*1), R10
	LEAQ (R10)(DX*1), R11
	LEAQ (R11)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	VXORPS X0, X0, X0
	VXORPS X1, X1, X1
	VXORPS X2, X2, X2
	VXORPS X3, X3, X3
	VXORPS X4, X4, X4
	VXORPS X5, X5, X5
	VXORPS X6, X6, X6
	VXORPS X7, X7, X7
	XORQ BX, BX
	TESTQ CX, CX
	JEQ   sqn8_store

sqn8_loop:
	VMOVSS (SI)(BX*1), X8
	VMOVSS (DI)(BX*1), X9
	VMOVSS (R8)(BX*1), X10
	VMOVSS (R9)(BX*1), X11
	VMOVSS (R10)(BX*1), X12
	VMOVSS (R11)(BX*1), X13
	VMOVSS (R12)(BX*1), X14
	VMOVSS (R13)(BX*1), X15
	VFMADD231SS X8, X8, X0
	VFMADD231SS X9, X9, X1
	VFMADD231SS X10, X10, X2
	VFMADD231SS X11, X11, X3
	VFMADD231SS X12, X12, X4
	VFMADD231SS X13, X13, X5
	VFMADD231SS X14, X14, X6
	VFMADD231SS X15, X15, X7
	ADDQ $4, BX
	CMPQ BX, CX
	JLT  sqn8_loop

sqn8_store:
	VMOVSS X0, (AX)
	VMOVSS X1, 4(AX)
	VMOVSS X2, 8(AX)
	VMOVSS X3, 12(AX)
	VMOVSS X4, 16(AX)
	VMOVSS X5, 20(AX)
	VMOVSS X6, 24(AX)
	VMOVSS X7, 28(AX)
	VZEROUPPER
	RET

// func dots8FMA(a *float32, lda int, x *float32, k int, dst *float32)
TEXT ·dots8FMA(SB), NOSPLIT, $0-40
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), DX
	MOVQ x+16(FP), AX
	MOVQ k+24(FP), CX
	SHLQ $2, DX
	SHLQ $2, CX
	LEAQ (SI)(DX*1), DI
	LEAQ (DI)(DX*1), R8
	LEAQ (R8)(DX*1), R9
	LEAQ (R9)(DX*1), R10
	LEAQ (R10)(DX*1), R11
	LEAQ (R11)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	VXORPS X0, X0, X0
	VXORPS X1, X1, X1
	VXORPS X2, X2, X2
	VXORPS X3, X3, X3
	VXORPS X4, X4, X4
	VXORPS X5, X5, X5
	VXORPS X6, X6, X6
	VXORPS X7, X7, X7
	XORQ BX, BX
	TESTQ CX, CX
	JEQ   dots8_store

dots8_loop:
	VMOVSS (AX)(BX*1), X8
	VFMADD231SS (SI)(BX*1), X8, X0
	VFMADD231SS (DI)(BX*1), X8, X1
	VFMADD231SS (R8)(BX*1), X8, X2
	VFMADD231SS (R9)(BX*1), X8, X3
	VFMADD231SS (R10)(BX*1), X8, X4
	VFMADD231SS (R11)(BX*1), X8, X5
	VFMADD231SS (R12)(BX*1), X8, X6
	VFMADD231SS (R13)(BX*1), X8, X7
	ADDQ $4, BX
	CMPQ BX, CX
	JLT  dots8_loop

dots8_store:
	MOVQ dst+32(FP), AX
	VMOVSS X0, (AX)
	VMOVSS X1, 4(AX)
	VMOVSS X2, 8(AX)
	VMOVSS X3, 12(AX)
	VMOVSS X4, 16(AX)
	VMOVSS X5, 20(AX)
	VMOVSS X6, 24(AX)
	VMOVSS X7, 28(AX)
	VZEROUPPER
	RET

// func dot1FMA(x, y *float32, k int) float32
TEXT ·dot1FMA(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ k+16(FP), CX
	VXORPS X0, X0, X0
	TESTQ CX, CX
	JEQ   dot1_done

dot1_loop:
	VMOVSS (SI), X1
	VFMADD231SS (DI), X1, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JNE  dot1_loop

dot1_done:
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// AffineReLU: dst = relu(src·scale + shift), product and sum rounded
// separately (as affineReLUGo), NaN kept, −0 and negatives to +0.

// AFFRELU512(X) computes the lanes of X in place; Z29 = scale, Z30 = shift,
// Z31 = 0; clobbers Z28 and K2.
#define AFFRELU512(X) \
	VMULPS Z29, X, X; \
	VADDPS Z30, X, X; \
	VCMPPS $3, X, X, K2; \
	VMAXPS Z31, X, Z28; \
	VMOVAPS X, K2, Z28; \
	VMOVAPS Z28, X

// func affineReLUAVX512(dst, src *float32, n int, scale, shift float32)
TEXT ·affineReLUAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS scale+24(FP), Z29
	VBROADCASTSS shift+28(FP), Z30
	VPXORD Z31, Z31, Z31

affrelu512_32:
	CMPQ CX, $32
	JLT  affrelu512_16
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	AFFRELU512(Z0)
	AFFRELU512(Z1)
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  affrelu512_32

affrelu512_16:
	CMPQ CX, $16
	JLT  affrelu512_tail
	VMOVUPS (SI), Z0
	AFFRELU512(Z0)
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX

affrelu512_tail:
	TESTQ CX, CX
	JEQ   affrelu512_done
	TAILK
	VMOVUPS.Z (SI), K1, Z0
	AFFRELU512(Z0)
	VMOVUPS Z0, K1, (DI)

affrelu512_done:
	VZEROUPPER
	RET

// AFFRELU256(X) is AFFRELU512 on 8 lanes: Y12 = scale, Y13 = shift, Y14 = 0;
// clobbers Y10 and Y11.
#define AFFRELU256(X) \
	VMULPS Y12, X, X; \
	VADDPS Y13, X, X; \
	VCMPPS $3, X, X, Y11; \
	VMAXPS Y14, X, Y10; \
	VBLENDVPS Y11, X, Y10, X

// func affineReLUAVX2(dst, src *float32, n int, scale, shift float32)
TEXT ·affineReLUAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y12
	VBROADCASTSS shift+28(FP), Y13
	VXORPS Y14, Y14, Y14

affrelu256_16:
	CMPQ CX, $16
	JLT  affrelu256_8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	AFFRELU256(Y0)
	AFFRELU256(Y1)
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  affrelu256_16

affrelu256_8:
	CMPQ CX, $8
	JLT  affrelu256_tail
	VMOVUPS (SI), Y0
	AFFRELU256(Y0)
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX

affrelu256_tail:
	TESTQ CX, CX
	JEQ   affrelu256_done
	TAILY
	VMASKMOVPS (SI), Y15, Y0
	AFFRELU256(Y0)
	VMASKMOVPS Y0, Y15, (DI)

affrelu256_done:
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// Mix6: dst_i[x] = Σ_{l<6} c[6i+l]·src_l[x] for i < ndst (1 ≤ ndst ≤ 6).
// The pointers come as separate arguments (an array of them would have to
// live on the heap: the kernel table's indirect call hides //go:noescape).
// Registers: DX c, R8–R13 the sources, SI ndst, CX elements left, BX the
// byte offset of the current vector.

// MIX512_ROW sets acc = Σ_l c[l]·Z_l, the c[l] at the byte offsets o0…o5
// from DX.
#define MIX512_ROW(o0, o1, o2, o3, o4, o5, acc) \
	VMULPS.BCST o0(DX), Z0, acc; \
	VFMADD231PS.BCST o1(DX), Z1, acc; \
	VFMADD231PS.BCST o2(DX), Z2, acc; \
	VFMADD231PS.BCST o3(DX), Z3, acc; \
	VFMADD231PS.BCST o4(DX), Z4, acc; \
	VFMADD231PS.BCST o5(DX), Z5, acc

// MIX256_ROW is MIX512_ROW for AVX2 (Y0–Y5), broadcasting through Y12.
#define MIX256_ROW(o0, o1, o2, o3, o4, o5, acc) \
	VBROADCASTSS o0(DX), Y12; \
	VMULPS Y12, Y0, acc; \
	VBROADCASTSS o1(DX), Y12; \
	VFMADD231PS Y12, Y1, acc; \
	VBROADCASTSS o2(DX), Y12; \
	VFMADD231PS Y12, Y2, acc; \
	VBROADCASTSS o3(DX), Y12; \
	VFMADD231PS Y12, Y3, acc; \
	VBROADCASTSS o4(DX), Y12; \
	VFMADD231PS Y12, Y4, acc; \
	VBROADCASTSS o5(DX), Y12; \
	VFMADD231PS Y12, Y5, acc


// func mix6AVX512(c, s0, s1, s2, s3, s4, s5, d0, d1, d2, d3, d4, d5 *float32, ndst, n int)
TEXT ·mix6AVX512(SB), NOSPLIT, $0-120
	MOVQ c+0(FP), DX
	MOVQ s0+8(FP), R8
	MOVQ s1+16(FP), R9
	MOVQ s2+24(FP), R10
	MOVQ s3+32(FP), R11
	MOVQ s4+40(FP), R12
	MOVQ s5+48(FP), R13
	MOVQ ndst+104(FP), SI
	MOVQ n+112(FP), CX
	XORQ BX, BX

	// One masked body for whole vectors (K1 all ones) and the tail.
mix512_loop:
	CMPQ CX, $16
	JLT  mix512_tailmask
	KXNORW K1, K1, K1
	JMP  mix512_body

mix512_tailmask:
	TAILK

mix512_body:
	VMOVUPS.Z (R8)(BX*1), K1, Z0
	VMOVUPS.Z (R9)(BX*1), K1, Z1
	VMOVUPS.Z (R10)(BX*1), K1, Z2
	VMOVUPS.Z (R11)(BX*1), K1, Z3
	VMOVUPS.Z (R12)(BX*1), K1, Z4
	VMOVUPS.Z (R13)(BX*1), K1, Z5
	MIX512_ROW(0, 4, 8, 12, 16, 20, Z6)
	MOVQ d0+56(FP), AX
	VMOVUPS Z6, K1, (AX)(BX*1)
	CMPQ SI, $1
	JEQ  mix512_next
	MIX512_ROW(24, 28, 32, 36, 40, 44, Z7)
	MOVQ d1+64(FP), AX
	VMOVUPS Z7, K1, (AX)(BX*1)
	CMPQ SI, $2
	JEQ  mix512_next
	MIX512_ROW(48, 52, 56, 60, 64, 68, Z8)
	MOVQ d2+72(FP), AX
	VMOVUPS Z8, K1, (AX)(BX*1)
	CMPQ SI, $3
	JEQ  mix512_next
	MIX512_ROW(72, 76, 80, 84, 88, 92, Z9)
	MOVQ d3+80(FP), AX
	VMOVUPS Z9, K1, (AX)(BX*1)
	CMPQ SI, $4
	JEQ  mix512_next
	MIX512_ROW(96, 100, 104, 108, 112, 116, Z10)
	MOVQ d4+88(FP), AX
	VMOVUPS Z10, K1, (AX)(BX*1)
	CMPQ SI, $5
	JEQ  mix512_next
	MIX512_ROW(120, 124, 128, 132, 136, 140, Z11)
	MOVQ d5+96(FP), AX
	VMOVUPS Z11, K1, (AX)(BX*1)

mix512_next:
	ADDQ $64, BX
	SUBQ $16, CX
	JGT  mix512_loop
	VZEROUPPER
	RET

// func mix6AVX2(c, s0, s1, s2, s3, s4, s5, d0, d1, d2, d3, d4, d5 *float32, ndst, n int)
TEXT ·mix6AVX2(SB), NOSPLIT, $0-120
	MOVQ s0+8(FP), R8
	MOVQ s1+16(FP), R9
	MOVQ s2+24(FP), R10
	MOVQ s3+32(FP), R11
	MOVQ s4+40(FP), R12
	MOVQ s5+48(FP), R13
	MOVQ ndst+104(FP), SI
	MOVQ n+112(FP), CX
	XORQ BX, BX
	CMPQ CX, $8
	JLT  mix256_tail
	MOVQ c+0(FP), DX

mix256_8:
	VMOVUPS (R8)(BX*1), Y0
	VMOVUPS (R9)(BX*1), Y1
	VMOVUPS (R10)(BX*1), Y2
	VMOVUPS (R11)(BX*1), Y3
	VMOVUPS (R12)(BX*1), Y4
	VMOVUPS (R13)(BX*1), Y5
	MIX256_ROW(0, 4, 8, 12, 16, 20, Y6)
	MOVQ d0+56(FP), AX
	VMOVUPS Y6, (AX)(BX*1)
	CMPQ SI, $1
	JEQ  mix256_next
	MIX256_ROW(24, 28, 32, 36, 40, 44, Y7)
	MOVQ d1+64(FP), AX
	VMOVUPS Y7, (AX)(BX*1)
	CMPQ SI, $2
	JEQ  mix256_next
	MIX256_ROW(48, 52, 56, 60, 64, 68, Y8)
	MOVQ d2+72(FP), AX
	VMOVUPS Y8, (AX)(BX*1)
	CMPQ SI, $3
	JEQ  mix256_next
	MIX256_ROW(72, 76, 80, 84, 88, 92, Y9)
	MOVQ d3+80(FP), AX
	VMOVUPS Y9, (AX)(BX*1)
	CMPQ SI, $4
	JEQ  mix256_next
	MIX256_ROW(96, 100, 104, 108, 112, 116, Y10)
	MOVQ d4+88(FP), AX
	VMOVUPS Y10, (AX)(BX*1)
	CMPQ SI, $5
	JEQ  mix256_next
	MIX256_ROW(120, 124, 128, 132, 136, 140, Y11)
	MOVQ d5+96(FP), AX
	VMOVUPS Y11, (AX)(BX*1)

mix256_next:
	ADDQ $32, BX
	SUBQ $8, CX
	CMPQ CX, $8
	JGE  mix256_8

mix256_tail:
	TESTQ CX, CX
	JEQ   mix256_done
	TAILY // clobbers DX
	MOVQ c+0(FP), DX
	VMASKMOVPS (R8)(BX*1), Y15, Y0
	VMASKMOVPS (R9)(BX*1), Y15, Y1
	VMASKMOVPS (R10)(BX*1), Y15, Y2
	VMASKMOVPS (R11)(BX*1), Y15, Y3
	VMASKMOVPS (R12)(BX*1), Y15, Y4
	VMASKMOVPS (R13)(BX*1), Y15, Y5
	MIX256_ROW(0, 4, 8, 12, 16, 20, Y6)
	MOVQ d0+56(FP), AX
	VMASKMOVPS Y6, Y15, (AX)(BX*1)
	CMPQ SI, $1
	JEQ  mix256_done
	MIX256_ROW(24, 28, 32, 36, 40, 44, Y7)
	MOVQ d1+64(FP), AX
	VMASKMOVPS Y7, Y15, (AX)(BX*1)
	CMPQ SI, $2
	JEQ  mix256_done
	MIX256_ROW(48, 52, 56, 60, 64, 68, Y8)
	MOVQ d2+72(FP), AX
	VMASKMOVPS Y8, Y15, (AX)(BX*1)
	CMPQ SI, $3
	JEQ  mix256_done
	MIX256_ROW(72, 76, 80, 84, 88, 92, Y9)
	MOVQ d3+80(FP), AX
	VMASKMOVPS Y9, Y15, (AX)(BX*1)
	CMPQ SI, $4
	JEQ  mix256_done
	MIX256_ROW(96, 100, 104, 108, 112, 116, Y10)
	MOVQ d4+88(FP), AX
	VMASKMOVPS Y10, Y15, (AX)(BX*1)
	CMPQ SI, $5
	JEQ  mix256_done
	MIX256_ROW(120, 124, 128, 132, 136, 140, Y11)
	MOVQ d5+96(FP), AX
	VMASKMOVPS Y11, Y15, (AX)(BX*1)

mix256_done:
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// Max: dst[i] = x[i] where x[i] > dst[i] or x[i] is NaN (PyTorch's max pooling)

// func maxAVX512(dst, x *float32, n int)
TEXT ·maxAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX

	// One masked body for whole vectors (K1 all ones) and the tail.
max512_loop:
	CMPQ CX, $16
	JLT  max512_tailmask
	KXNORW K1, K1, K1
	JMP  max512_body

max512_tailmask:
	TAILK

max512_body:
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z (SI), K1, Z1
	VCMPPS $0x1e, Z0, Z1, K1, K2 // x > dst (ordered, quiet)
	VCMPPS $3, Z1, Z1, K1, K3    // x is NaN
	KORW K2, K3, K2
	VMOVUPS Z1, K2, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JGT  max512_loop
	VZEROUPPER
	RET

// MAX256(D, X) sets D to X in the lanes where X > D or X is NaN; clobbers
// Y2 and Y3.
#define MAX256(D, X) \
	VCMPPS $0x1e, D, X, Y2; \
	VCMPPS $3, X, X, Y3; \
	VORPS Y2, Y3, Y2; \
	VBLENDVPS Y2, X, D, D

// func maxAVX2(dst, x *float32, n int)
TEXT ·maxAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX

max256_8:
	CMPQ CX, $8
	JLT  max256_tail
	VMOVUPS (DI), Y0
	VMOVUPS (SI), Y1
	MAX256(Y0, Y1)
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  max256_8

max256_tail:
	TESTQ CX, CX
	JEQ   max256_done
	TAILY
	VMASKMOVPS (DI), Y15, Y0
	VMASKMOVPS (SI), Y15, Y1
	MAX256(Y0, Y1)
	VMASKMOVPS Y0, Y15, (DI)

max256_done:
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// Stride2: dst[i] = src[2i], n a multiple of 16, src holding 2n values

// stride2Idx picks the even lanes of two concatenated vectors.
DATA stride2Idx<>+0(SB)/4, $0
DATA stride2Idx<>+4(SB)/4, $2
DATA stride2Idx<>+8(SB)/4, $4
DATA stride2Idx<>+12(SB)/4, $6
DATA stride2Idx<>+16(SB)/4, $8
DATA stride2Idx<>+20(SB)/4, $10
DATA stride2Idx<>+24(SB)/4, $12
DATA stride2Idx<>+28(SB)/4, $14
DATA stride2Idx<>+32(SB)/4, $16
DATA stride2Idx<>+36(SB)/4, $18
DATA stride2Idx<>+40(SB)/4, $20
DATA stride2Idx<>+44(SB)/4, $22
DATA stride2Idx<>+48(SB)/4, $24
DATA stride2Idx<>+52(SB)/4, $26
DATA stride2Idx<>+56(SB)/4, $28
DATA stride2Idx<>+60(SB)/4, $30
GLOBL stride2Idx<>(SB), RODATA|NOPTR, $64

// func stride2AVX512(dst, src *float32, n int)
TEXT ·stride2AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), BX
	VMOVDQU32 stride2Idx<>(SB), Z31

stride2512_16:
	CMPQ BX, $16
	JLE  stride2512_last
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VPERMT2PS Z1, Z31, Z0
	VMOVUPS Z0, (DI)
	ADDQ $128, SI
	ADDQ $64, DI
	SUBQ $16, BX
	JMP  stride2512_16

stride2512_last:
	// 1 ≤ BX ≤ 16 values from the 2·BX − 1 source values left: K2 and K3
	// mask the loads, K1 the store.
	LEAQ -1(BX)(BX*1), CX
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K2
	SHRQ $16, AX
	KMOVW AX, K3
	MOVQ BX, CX
	TAILK
	VMOVUPS.Z (SI), K2, Z0
	VMOVUPS.Z 64(SI), K3, Z1
	VPERMT2PS Z1, Z31, Z0
	VMOVUPS Z0, K1, (DI)
	VZEROUPPER
	RET

// func stride2AVX2(dst, src *float32, n int)
TEXT ·stride2AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

stride2256_8:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VSHUFPS $0x88, Y1, Y0, Y2 // a0 a2 b0 b2 | a4 a6 b4 b6
	VPERMPD $0xd8, Y2, Y2     // a0 a2 a4 a6 b0 b2 b4 b6
	VMOVUPS Y2, (DI)
	ADDQ $64, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JGT  stride2256_8
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// Interleave and Deinterleave: m = 2 or 4 vectors to and from one vector of
// m-value groups, 16 groups a block, by two levels of two-source
// permutations (32-bit lanes, then 64-bit lanes for m = 4). One masked body
// serves whole blocks and the last one: K1 masks the 16 lanes of each
// m-wide side's vectors, K2…K5 the m vectors of the interleaved side.

// psOdd picks the odd lanes of two concatenated vectors.
DATA psOdd<>+0(SB)/4, $1
DATA psOdd<>+4(SB)/4, $3
DATA psOdd<>+8(SB)/4, $5
DATA psOdd<>+12(SB)/4, $7
DATA psOdd<>+16(SB)/4, $9
DATA psOdd<>+20(SB)/4, $11
DATA psOdd<>+24(SB)/4, $13
DATA psOdd<>+28(SB)/4, $15
DATA psOdd<>+32(SB)/4, $17
DATA psOdd<>+36(SB)/4, $19
DATA psOdd<>+40(SB)/4, $21
DATA psOdd<>+44(SB)/4, $23
DATA psOdd<>+48(SB)/4, $25
DATA psOdd<>+52(SB)/4, $27
DATA psOdd<>+56(SB)/4, $29
DATA psOdd<>+60(SB)/4, $31
GLOBL psOdd<>(SB), RODATA|NOPTR, $64

// psLo interleaves the low halves of two vectors lane by lane; psHi the high halves.
DATA psLo<>+0(SB)/4, $0
DATA psLo<>+4(SB)/4, $16
DATA psLo<>+8(SB)/4, $1
DATA psLo<>+12(SB)/4, $17
DATA psLo<>+16(SB)/4, $2
DATA psLo<>+20(SB)/4, $18
DATA psLo<>+24(SB)/4, $3
DATA psLo<>+28(SB)/4, $19
DATA psLo<>+32(SB)/4, $4
DATA psLo<>+36(SB)/4, $20
DATA psLo<>+40(SB)/4, $5
DATA psLo<>+44(SB)/4, $21
DATA psLo<>+48(SB)/4, $6
DATA psLo<>+52(SB)/4, $22
DATA psLo<>+56(SB)/4, $7
DATA psLo<>+60(SB)/4, $23
GLOBL psLo<>(SB), RODATA|NOPTR, $64

DATA psHi<>+0(SB)/4, $8
DATA psHi<>+4(SB)/4, $24
DATA psHi<>+8(SB)/4, $9
DATA psHi<>+12(SB)/4, $25
DATA psHi<>+16(SB)/4, $10
DATA psHi<>+20(SB)/4, $26
DATA psHi<>+24(SB)/4, $11
DATA psHi<>+28(SB)/4, $27
DATA psHi<>+32(SB)/4, $12
DATA psHi<>+36(SB)/4, $28
DATA psHi<>+40(SB)/4, $13
DATA psHi<>+44(SB)/4, $29
DATA psHi<>+48(SB)/4, $14
DATA psHi<>+52(SB)/4, $30
DATA psHi<>+56(SB)/4, $15
DATA psHi<>+60(SB)/4, $31
GLOBL psHi<>(SB), RODATA|NOPTR, $64

// pdEven and pdOdd pick the even and odd 64-bit lanes of two concatenated vectors.
DATA pdEven<>+0(SB)/8, $0
DATA pdEven<>+8(SB)/8, $2
DATA pdEven<>+16(SB)/8, $4
DATA pdEven<>+24(SB)/8, $6
DATA pdEven<>+32(SB)/8, $8
DATA pdEven<>+40(SB)/8, $10
DATA pdEven<>+48(SB)/8, $12
DATA pdEven<>+56(SB)/8, $14
GLOBL pdEven<>(SB), RODATA|NOPTR, $64

DATA pdOdd<>+0(SB)/8, $1
DATA pdOdd<>+8(SB)/8, $3
DATA pdOdd<>+16(SB)/8, $5
DATA pdOdd<>+24(SB)/8, $7
DATA pdOdd<>+32(SB)/8, $9
DATA pdOdd<>+40(SB)/8, $11
DATA pdOdd<>+48(SB)/8, $13
DATA pdOdd<>+56(SB)/8, $15
GLOBL pdOdd<>(SB), RODATA|NOPTR, $64

// pdLo interleaves the low halves of two vectors by 64-bit lanes; pdHi the high halves.
DATA pdLo<>+0(SB)/8, $0
DATA pdLo<>+8(SB)/8, $8
DATA pdLo<>+16(SB)/8, $1
DATA pdLo<>+24(SB)/8, $9
DATA pdLo<>+32(SB)/8, $2
DATA pdLo<>+40(SB)/8, $10
DATA pdLo<>+48(SB)/8, $3
DATA pdLo<>+56(SB)/8, $11
GLOBL pdLo<>(SB), RODATA|NOPTR, $64

DATA pdHi<>+0(SB)/8, $4
DATA pdHi<>+8(SB)/8, $12
DATA pdHi<>+16(SB)/8, $5
DATA pdHi<>+24(SB)/8, $13
DATA pdHi<>+32(SB)/8, $6
DATA pdHi<>+40(SB)/8, $14
DATA pdHi<>+48(SB)/8, $7
DATA pdHi<>+56(SB)/8, $15
GLOBL pdHi<>(SB), RODATA|NOPTR, $64

// RELU512(X) sets X to max(X, 0) lane by lane, NaN kept (as AFFRELU512);
// Z31 = 0; clobbers K6 and Z28.
#define RELU512(X) \
	VCMPPS $3, X, X, K6; \
	VMAXPS Z31, X, Z28; \
	VMOVAPS X, K6, Z28; \
	VMOVAPS Z28, X

// ILMASKS sets K1 to the low min(R14, 16) bits and K2…K5 to successive 16-bit
// pieces of the low m·min(R14, 16) bits (BX = m); clobbers AX and CX.
#define ILMASKS \
	MOVQ R14, CX; \
	CMPQ CX, $16; \
	JLT  2(PC); \
	MOVQ $16, CX; \
	MOVL $1, AX; \
	SHLL CX, AX; \
	DECL AX; \
	KMOVW AX, K1; \
	IMULQ BX, CX; \
	MOVQ $-1, AX; \
	CMPQ CX, $64; \
	JGE  4(PC); \
	MOVQ $1, AX; \
	SHLQ CX, AX; \
	DECQ AX; \
	KMOVW AX, K2; \
	SHRQ $16, AX; \
	KMOVW AX, K3; \
	SHRQ $16, AX; \
	KMOVW AX, K4; \
	SHRQ $16, AX; \
	KMOVW AX, K5

// ILMASKS_OUT is ILMASKS for Interleave, where R14 counts the values of dst
// left (the last group may be partial): K2…K5 mask the first min(R14, blk)
// of them (blk = 16·m), K1 the ⌈that/m⌉ groups they take from each source
// (lg = log₂ m, mm1 = m − 1); clobbers AX, CX and R13.
#define ILMASKS_OUT(lg, mm1, blk) \
	MOVQ $blk, CX; \
	CMPQ R14, CX; \
	JGE  2(PC); \
	MOVQ R14, CX; \
	LEAQ mm1(CX), R13; \
	SHRQ $lg, R13; \
	MOVQ $-1, AX; \
	CMPQ CX, $64; \
	JGE  4(PC); \
	MOVQ $1, AX; \
	SHLQ CX, AX; \
	DECQ AX; \
	KMOVW AX, K2; \
	SHRQ $16, AX; \
	KMOVW AX, K3; \
	SHRQ $16, AX; \
	KMOVW AX, K4; \
	SHRQ $16, AX; \
	KMOVW AX, K5; \
	MOVQ R13, CX; \
	MOVL $1, AX; \
	SHLL CX, AX; \
	DECL AX; \
	KMOVW AX, K1

// func interleaveAVX512(dst, s0, s1, s2, s3, res *float32, m, n int, bias float32, relu bool)
TEXT ·interleaveAVX512(SB), NOSPLIT, $0-69
	MOVQ dst+0(FP), DI
	MOVQ s0+8(FP), R8
	MOVQ s1+16(FP), R9
	MOVQ s2+24(FP), R10
	MOVQ s3+32(FP), R11
	MOVQ res+40(FP), DX
	MOVQ m+48(FP), BX
	MOVQ n+56(FP), R14
	VBROADCASTSS bias+64(FP), Z30
	MOVBLZX relu+68(FP), R12
	VPXORD Z31, Z31, Z31
	VMOVDQU32 psLo<>(SB), Z24
	VMOVDQU32 psHi<>(SB), Z25
	VMOVDQU64 pdLo<>(SB), Z26
	VMOVDQU64 pdHi<>(SB), Z27
	CMPQ BX, $4
	JEQ  il4

il2:
	ILMASKS_OUT(1, 1, 32)
	VMOVUPS.Z (R8), K1, Z0
	VMOVUPS.Z (R9), K1, Z1
	VMOVAPS Z24, Z2
	VPERMI2PS Z1, Z0, Z2 // groups 0…7
	VMOVAPS Z25, Z3
	VPERMI2PS Z1, Z0, Z3 // groups 8…15
	VADDPS Z30, Z2, Z2
	VADDPS Z30, Z3, Z3
	TESTQ DX, DX
	JEQ   il2_act
	VMOVUPS.Z (DX), K2, Z8
	VMOVUPS.Z 64(DX), K3, Z9
	VADDPS Z8, Z2, Z2
	VADDPS Z9, Z3, Z3
	ADDQ $128, DX

il2_act:
	TESTQ R12, R12
	JEQ   il2_store
	RELU512(Z2)
	RELU512(Z3)

il2_store:
	VMOVUPS Z2, K2, (DI)
	VMOVUPS Z3, K3, 64(DI)
	ADDQ $128, DI
	ADDQ $64, R8
	ADDQ $64, R9
	SUBQ $32, R14
	JGT  il2
	VZEROUPPER
	RET

il4:
	ILMASKS_OUT(2, 3, 64)
	VMOVUPS.Z (R8), K1, Z0
	VMOVUPS.Z (R9), K1, Z1
	VMOVUPS.Z (R10), K1, Z2
	VMOVUPS.Z (R11), K1, Z3
	VMOVAPS Z24, Z4
	VPERMI2PS Z1, Z0, Z4 // (s0, s1) pairs 0…7
	VMOVAPS Z25, Z5
	VPERMI2PS Z1, Z0, Z5 // (s0, s1) pairs 8…15
	VMOVAPS Z24, Z6
	VPERMI2PS Z3, Z2, Z6 // (s2, s3) pairs 0…7
	VMOVAPS Z25, Z7
	VPERMI2PS Z3, Z2, Z7 // (s2, s3) pairs 8…15
	VMOVAPS Z26, Z0
	VPERMI2PD Z6, Z4, Z0 // groups 0…3
	VMOVAPS Z27, Z1
	VPERMI2PD Z6, Z4, Z1 // groups 4…7
	VMOVAPS Z26, Z2
	VPERMI2PD Z7, Z5, Z2 // groups 8…11
	VMOVAPS Z27, Z3
	VPERMI2PD Z7, Z5, Z3 // groups 12…15
	VADDPS Z30, Z0, Z0
	VADDPS Z30, Z1, Z1
	VADDPS Z30, Z2, Z2
	VADDPS Z30, Z3, Z3
	TESTQ DX, DX
	JEQ   il4_act
	VMOVUPS.Z (DX), K2, Z8
	VMOVUPS.Z 64(DX), K3, Z9
	VMOVUPS.Z 128(DX), K4, Z10
	VMOVUPS.Z 192(DX), K5, Z11
	VADDPS Z8, Z0, Z0
	VADDPS Z9, Z1, Z1
	VADDPS Z10, Z2, Z2
	VADDPS Z11, Z3, Z3
	ADDQ $256, DX

il4_act:
	TESTQ R12, R12
	JEQ   il4_store
	RELU512(Z0)
	RELU512(Z1)
	RELU512(Z2)
	RELU512(Z3)

il4_store:
	VMOVUPS Z0, K2, (DI)
	VMOVUPS Z1, K3, 64(DI)
	VMOVUPS Z2, K4, 128(DI)
	VMOVUPS Z3, K5, 192(DI)
	ADDQ $256, DI
	ADDQ $64, R8
	ADDQ $64, R9
	ADDQ $64, R10
	ADDQ $64, R11
	SUBQ $64, R14
	JGT  il4
	VZEROUPPER
	RET

// func deinterleaveAVX512(d0, d1, d2, d3, src *float32, m, n int)
TEXT ·deinterleaveAVX512(SB), NOSPLIT, $0-56
	MOVQ d0+0(FP), R8
	MOVQ d1+8(FP), R9
	MOVQ d2+16(FP), R10
	MOVQ d3+24(FP), R11
	MOVQ src+32(FP), SI
	MOVQ m+40(FP), BX
	MOVQ n+48(FP), R14
	VMOVDQU32 stride2Idx<>(SB), Z24
	VMOVDQU32 psOdd<>(SB), Z25
	VMOVDQU64 pdEven<>(SB), Z26
	VMOVDQU64 pdOdd<>(SB), Z27
	CMPQ BX, $4
	JEQ  dil4

dil2:
	ILMASKS
	VMOVUPS.Z (SI), K2, Z0
	VMOVUPS.Z 64(SI), K3, Z1
	VMOVAPS Z24, Z2
	VPERMI2PS Z1, Z0, Z2 // phase 0
	VMOVAPS Z25, Z3
	VPERMI2PS Z1, Z0, Z3 // phase 1
	VMOVUPS Z2, K1, (R8)
	VMOVUPS Z3, K1, (R9)
	ADDQ $128, SI
	ADDQ $64, R8
	ADDQ $64, R9
	SUBQ $16, R14
	JGT  dil2
	VZEROUPPER
	RET

dil4:
	ILMASKS
	VMOVUPS.Z (SI), K2, Z0
	VMOVUPS.Z 64(SI), K3, Z1
	VMOVUPS.Z 128(SI), K4, Z2
	VMOVUPS.Z 192(SI), K5, Z3
	VMOVAPS Z26, Z4
	VPERMI2PD Z1, Z0, Z4 // (phase 0, phase 1) pairs of groups 0…7
	VMOVAPS Z27, Z5
	VPERMI2PD Z1, Z0, Z5 // (phase 2, phase 3) pairs of groups 0…7
	VMOVAPS Z26, Z6
	VPERMI2PD Z3, Z2, Z6 // (phase 0, phase 1) pairs of groups 8…15
	VMOVAPS Z27, Z7
	VPERMI2PD Z3, Z2, Z7 // (phase 2, phase 3) pairs of groups 8…15
	VMOVAPS Z24, Z0
	VPERMI2PS Z6, Z4, Z0
	VMOVAPS Z25, Z1
	VPERMI2PS Z6, Z4, Z1
	VMOVAPS Z24, Z2
	VPERMI2PS Z7, Z5, Z2
	VMOVAPS Z25, Z3
	VPERMI2PS Z7, Z5, Z3
	VMOVUPS Z0, K1, (R8)
	VMOVUPS Z1, K1, (R9)
	VMOVUPS Z2, K1, (R10)
	VMOVUPS Z3, K1, (R11)
	ADDQ $256, SI
	ADDQ $64, R8
	ADDQ $64, R9
	ADDQ $64, R10
	ADDQ $64, R11
	SUBQ $16, R14
	JGT  dil4
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// Pack32: rows rows of 32 values, ld floats apart in src, one after another
// into dst (a panel of B for the 14×32 kernel); rows ≥ 1.

// func pack32AVX512(dst, src *float32, ld, rows int)
TEXT ·pack32AVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), DX
	SHLQ $2, DX
	MOVQ rows+24(FP), CX

pack32_loop:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ DX, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  pack32_loop
	VZEROUPPER
	RET
