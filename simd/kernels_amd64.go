//go:build amd64 && !purego

package simd

//go:generate go run ../internal/asmgen -o kernels_amd64.s

// The assembly micro-kernels; see gemmKernel for the contract.

//go:noescape
func gemmKernel14x32AVX512(k int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func gemmKernel6x16AVX2(k int, a, b, c *float32, ldc int, alpha, beta float32)

// The epilogue variants; see gemmKernel.ep.
//
//go:noescape
func gemmKernel14x32AVX512Ep(k int, a, b, c *float32, ldc int, alpha, beta float32, bias, r *float32, ldr int, floor float32)

//go:noescape
func gemmKernel6x16AVX2Ep(k int, a, b, c *float32, ldc int, alpha, beta float32, bias, r *float32, ldr int, floor float32)

// The edge variants of the AVX-512 kernel; see gemmKernel.rows and half.
//
//go:noescape
func gemmKernel14x32AVX512Rows8(k int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func gemmKernel14x32AVX512Rows4(k int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func gemmKernel14x32AVX512Rows2(k int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func gemmKernel14x32AVX512Rows8Ep(k int, a, b, c *float32, ldc int, alpha, beta float32, bias, r *float32, ldr int, floor float32)

//go:noescape
func gemmKernel14x32AVX512Rows4Ep(k int, a, b, c *float32, ldc int, alpha, beta float32, bias, r *float32, ldr int, floor float32)

//go:noescape
func gemmKernel14x32AVX512Rows2Ep(k int, a, b, c *float32, ldc int, alpha, beta float32, bias, r *float32, ldr int, floor float32)

//go:noescape
func gemmKernel14x32AVX512Cols16(k int, a, b, c *float32, ldc int, alpha, beta float32)

// The Sandwich kernels (t = 4 and 6); see vecKernels.sandwich4.
//
//go:noescape
func sandwich4AVX512(dst *float32, dstStride int, c *float32, src *float32, offs *int, r, n int)

//go:noescape
func sandwich6AVX512(dst *float32, dstStride int, c *float32, src *float32, offs *int, r, n int)

//go:noescape
func sandwich4AVX2(dst *float32, dstStride int, c *float32, src *float32, offs *int, r, n int)

//go:noescape
func sandwich6AVX2(dst *float32, dstStride int, c *float32, src *float32, offs *int, r, n int)

//go:noescape
func conv8AVX512(taps int, offs *int, w, x, out *float32, ldo int, bias *float32, relu int)

//go:noescape
func conv8AVX2(taps int, offs *int, w, x, out *float32, ldo int, bias *float32, relu int)

// fmaPeakAVX512 runs iters rounds of 24 independent 16-lane FMAs.
//
//go:noescape
func fmaPeakAVX512(iters int)

// fmaPeakAVX2 runs iters rounds of 12 independent 8-lane FMAs.
//
//go:noescape
func fmaPeakAVX2(iters int)

func init() {
	avx512 := gemmKernel{
		name: "avx512 14x32", mr: 14, nr: 32, kc: 512, mc: 14 * 8, nc: 4096,
		fn: gemmKernel14x32AVX512, ep: gemmKernel14x32AVX512Ep,
		half: gemmKernel14x32AVX512Cols16,
	}
	avx512.rows[8] = edgeKernel{gemmKernel14x32AVX512Rows8, gemmKernel14x32AVX512Rows8Ep}
	avx512.rows[4] = edgeKernel{gemmKernel14x32AVX512Rows4, gemmKernel14x32AVX512Rows4Ep}
	avx512.rows[2] = edgeKernel{gemmKernel14x32AVX512Rows2, gemmKernel14x32AVX512Rows2Ep}
	gemmKernels[AVX512] = avx512
	gemmKernels[AVX2] = gemmKernel{
		name: "avx2 6x16", mr: 6, nr: 16, kc: 256, mc: 6 * 32, nc: 4096,
		fn: gemmKernel6x16AVX2, ep: gemmKernel6x16AVX2Ep,
	}
	conv8Kernels[AVX512] = conv8Kernel{blk: 48, fn: conv8AVX512}
	conv8Kernels[AVX2] = conv8Kernel{blk: 8, fn: conv8AVX2}
	peakLoops[AVX512] = peakLoop{fn: fmaPeakAVX512, flopsPerIter: 2 * 24 * 16}
	peakLoops[AVX2] = peakLoop{fn: fmaPeakAVX2, flopsPerIter: 2 * 12 * 8}
}
