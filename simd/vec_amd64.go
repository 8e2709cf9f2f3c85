//go:build amd64 && !purego

package simd

import "unsafe"

// The assembly kernels of vec_amd64.s; vecKernels and the pure-Go twins
// (dotGo, axpyGo, …) state their contracts. n ≥ 1 in every call; the
// argmin kernels track indices in 32-bit lanes, so their n is below 2³¹.

//go:noescape
func pack32AVX512(dst, src *float32, ld, rows int)

//go:noescape
func stride2AVX512(dst, src *float32, n int)

// stride2AVX2 takes n a multiple of 8 and reads 2n values;
// stride2AVX2Any wraps it for the stride2 contract.
//
//go:noescape
func stride2AVX2(dst, src *float32, n int)

//go:noescape
func interleaveAVX512(dst, s0, s1, s2, s3, res *float32, m, n int, bias float32, relu bool)

//go:noescape
func deinterleaveAVX512(d0, d1, d2, d3, src *float32, m, n int)

// stride2AVX2Any is stride2 on AVX2: the blocks of 8 whose 16 source
// values lie within the 2n − 1 the contract lets it read in assembly, the
// rest in Go.
func stride2AVX2Any(dst, src *float32, n int) {
	fast := (n - 1) &^ 7
	if fast > 0 {
		stride2AVX2(dst, src, fast)
	}
	stride2Go(unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(dst), 4*fast)), n-fast),
		unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(src), 8*fast)), 2*(n-fast)-1))
}

//go:noescape
func maxAVX512(dst, x *float32, n int)

//go:noescape
func maxAVX2(dst, x *float32, n int)

//go:noescape
func mix6AVX512(c, s0, s1, s2, s3, s4, s5, d0, d1, d2, d3, d4, d5 *float32, ndst, n int)

//go:noescape
func mix6AVX2(c, s0, s1, s2, s3, s4, s5, d0, d1, d2, d3, d4, d5 *float32, ndst, n int)

//go:noescape
func dotAVX512(x, y *float32, n int) float32

//go:noescape
func dotAVX2(x, y *float32, n int) float32

//go:noescape
func axpyAVX512(alpha float32, x, y *float32, n int)

//go:noescape
func axpyAVX2(alpha float32, x, y *float32, n int)

//go:noescape
func axpyToAVX512(alpha float32, x, y, dst *float32, n int)

//go:noescape
func axpyToAVX2(alpha float32, x, y, dst *float32, n int)

//go:noescape
func scaleAVX512(alpha float32, x *float32, n int)

//go:noescape
func scaleAVX2(alpha float32, x *float32, n int)

//go:noescape
func expAVX512(dst, src *float32, n int)

//go:noescape
func expAVX2(dst, src *float32, n int)

//go:noescape
func affineReLUAVX512(dst, src *float32, n int, scale, shift float32)

//go:noescape
func affineReLUAVX2(dst, src *float32, n int, scale, shift float32)

//go:noescape
func addClampAVX512(c float32, x, y *float32, n int)

//go:noescape
func addClampAVX2(c float32, x, y *float32, n int)

//go:noescape
func argminAVX512(x *float32, n int) (val float32, idx int)

//go:noescape
func argminAVX2(x *float32, n int) (val float32, idx int)

//go:noescape
func minAddClampAVX512(c float32, x, y *float32, n int) (val float32, idx int)

//go:noescape
func minAddClampAVX2(c float32, x, y *float32, n int) (val float32, idx int)

// sqNorms8FMA sets dst[r] = Σ a[r*lda+p]², 0 ≤ r < 8, 0 ≤ p < k, each as a
// chain of float32 FMAs from zero with p ascending: the arithmetic of one
// element of the AVX2 and AVX-512 SGEMM kernels (see chainDots).
//
//go:noescape
func sqNorms8FMA(a *float32, lda, k int, dst *float32)

// dots8FMA sets dst[r] = Σ a[r*lda+p]·x[p], 0 ≤ r < 8, 0 ≤ p < k, as
// sqNorms8FMA sums.
//
//go:noescape
func dots8FMA(a *float32, lda int, x *float32, k int, dst *float32)

// dot1FMA is Σ x[p]·y[p], 0 ≤ p < k, as sqNorms8FMA sums.
//
//go:noescape
func dot1FMA(x, y *float32, k int) float32

func init() {
	vecTable[AVX512] = &vecKernels{
		dot: dotAVX512, axpy: axpyAVX512, axpyTo: axpyToAVX512, scale: scaleAVX512, exp: expAVX512, affineReLU: affineReLUAVX512, mix6: mix6AVX512, max: maxAVX512, stride2: stride2AVX512, pack32: pack32AVX512,
		interleave: interleaveAVX512, deinterleave: deinterleaveAVX512, sandwich4: sandwich4AVX512, sandwich6: sandwich6AVX512,
		addClamp: addClampAVX512, argmin: argminAVX512, minAddClamp: minAddClampAVX512,
		sqNorms8: sqNorms8FMA, dots8: dots8FMA, dot1: dot1FMA,
	}
	vecTable[AVX2] = &vecKernels{
		dot: dotAVX2, axpy: axpyAVX2, axpyTo: axpyToAVX2, scale: scaleAVX2, exp: expAVX2, affineReLU: affineReLUAVX2, mix6: mix6AVX2, max: maxAVX2, stride2: stride2AVX2Any, sandwich4: sandwich4AVX2, sandwich6: sandwich6AVX2,
		addClamp: addClampAVX2, argmin: argminAVX2, minAddClamp: minAddClampAVX2,
		sqNorms8: sqNorms8FMA, dots8: dots8FMA, dot1: dot1FMA,
	}
}
