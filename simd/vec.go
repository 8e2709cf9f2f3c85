package simd

import (
	"fmt"
	"math"
)

// vecKernels are the assembly vector kernels of one level. Every function
// takes n ≥ 1 and pointers to the first of n valid elements; the pure-Go
// twins below state the contracts. vec_amd64.go fills in the table; a level
// without an entry (always the generic level, and every level under the
// purego build tag or on other architectures) runs the twins.
type vecKernels struct {
	dot  func(x, y *float32, n int) float32
	axpy func(alpha float32, x, y *float32, n int)
	// axpyTo: dst = y + alpha·x.
	axpyTo func(alpha float32, x, y, dst *float32, n int)
	scale  func(alpha float32, x *float32, n int)
	exp    func(dst, src *float32, n int)

	affineReLU func(dst, src *float32, n int, scale, shift float32)
	// max: Max.
	max func(dst, x *float32, n int)
	// stride2: Stride2, reading src[0, 2n−1) only.
	stride2 func(dst, src *float32, n int)
	// interleave: Interleave of m = 2 or 4 sources s0…s(m−1) into n
	// values of dst (the last group possibly partial); res nil for no
	// residual (AVX-512 only; AVX2 interleaves in Go
	// and adds the residual and rectifier with axpy and affineReLU).
	interleave func(dst, s0, s1, s2, s3, res *float32, m, n int, bias float32, relu bool)
	// deinterleave: Deinterleave into m = 2 or 4 destinations d0…d(m−1),
	// n values each (AVX-512 only; AVX2 splits m = 2 with stride2).
	deinterleave func(d0, d1, d2, d3, src *float32, m, n int)
	// pack32: packRows32 for rows ≥ 1 (AVX-512 only: the level whose GEMM
	// panels are 32 wide).
	pack32 func(dst, src *float32, ld, rows int)
	// sandwich4, sandwich6: Sandwich with t = 4 and 6, n ≥ 1.
	sandwich4, sandwich6 func(dst *float32, dstStride int, c *float32, src *float32, offs *int, r, n int)
	// mix6: the first ndst rows of Mix6, from sources s0…s5 into d0…d5
	// (the pointers past ndst are not used).
	mix6 func(c, s0, s1, s2, s3, s4, s5, d0, d1, d2, d3, d4, d5 *float32, ndst, n int)

	// Distance helpers, see dist.go.
	addClamp    func(c float32, x, y *float32, n int)
	argmin      func(x *float32, n int) (val float32, idx int)
	minAddClamp func(c float32, x, y *float32, n int) (val float32, idx int)
	sqNorms8    func(a *float32, lda, k int, dst *float32)
	dots8       func(a *float32, lda int, x *float32, k int, dst *float32)
	dot1        func(x, y *float32, k int) float32
}

var vecTable [AVX512 + 1]*vecKernels

// vecFor returns the assembly kernels of level l, or nil when l runs the
// pure-Go twins.
func vecFor(l Level) *vecKernels {
	if l < Generic || l > AVX512 {
		return nil
	}
	return vecTable[l]
}

// Dot returns Σ x[i]·y[i] in float32.
//
// The assembly levels keep 4 vector accumulators (64 lanes with AVX-512, 32
// with AVX2) that are summed pairwise at the end; the generic level keeps 4
// scalar accumulators. Each partial sum holds about n/lanes terms, so the
// error is at most about (n/lanes + log₂ lanes + 1)·ε·Σ|x[i]·y[i]|, ε = 2⁻²⁴,
// and never more than n·ε·Σ|x[i]·y[i]|. The result does not depend on the
// alignment of x and y, but it does depend on the level (the order of the
// sum). Dot panics if the lengths differ.
func Dot(x, y []float32) float32 {
	if len(x) != len(y) {
		panic(fmt.Sprintf("simd: Dot: len(x) = %d != len(y) = %d", len(x), len(y)))
	}
	if len(x) == 0 {
		return 0
	}
	if k := vecFor(CurrentLevel()); k != nil {
		return k.dot(&x[0], &y[0], len(x))
	}
	return dotGo(x, y)
}

// Axpy computes y[i] += alpha·x[i]. The assembly levels use a fused
// multiply-add (one rounding, error ≤ ½ ulp); the generic level rounds the
// product and the sum (error ≤ 1 ulp plus ½ ulp of alpha·x[i]). x and y may
// be the same slice but must not overlap otherwise. Axpy panics if the
// lengths differ.
func Axpy(alpha float32, x, y []float32) {
	if len(x) != len(y) {
		panic(fmt.Sprintf("simd: Axpy: len(x) = %d != len(y) = %d", len(x), len(y)))
	}
	if len(x) == 0 {
		return
	}
	if k := vecFor(CurrentLevel()); k != nil {
		k.axpy(alpha, &x[0], &y[0], len(x))
		return
	}
	axpyGo(alpha, x, y)
}

// AxpyTo computes dst[i] = y[i] + alpha·x[i], rounded as Axpy rounds (so
// with alpha ±1, an exact product, it is the correctly rounded sum or
// difference at every level). dst may be x or y but must not overlap them
// otherwise. AxpyTo panics if the lengths differ.
func AxpyTo(dst []float32, alpha float32, x, y []float32) {
	if len(x) != len(y) || len(dst) != len(x) {
		panic(fmt.Sprintf("simd: AxpyTo: lengths dst %d, x %d, y %d differ", len(dst), len(x), len(y)))
	}
	if len(x) == 0 {
		return
	}
	if k := vecFor(CurrentLevel()); k != nil {
		k.axpyTo(alpha, &x[0], &y[0], &dst[0], len(x))
		return
	}
	axpyToGo(alpha, x, y, dst)
}

// Max sets dst[i] to x[i] where x[i] > dst[i] or x[i] is NaN, the update
// rule of PyTorch's max pooling: a NaN wins, and of equal values (+0 and
// −0 included) the one already in dst stays. Every level gives the same
// bits. dst and x must not overlap unless they are the same slice. Max
// panics if the lengths differ.
func Max(dst, x []float32) {
	if len(dst) != len(x) {
		panic(fmt.Sprintf("simd: Max: len(dst) = %d != len(x) = %d", len(dst), len(x)))
	}
	if len(x) == 0 {
		return
	}
	if k := vecFor(CurrentLevel()); k != nil {
		k.max(&dst[0], &x[0], len(x))
		return
	}
	maxGo(dst, x)
}

// Stride2 sets dst[i] = src[2i] for i < len(dst): every other value, the
// gather of a stride-2 convolution's unfolding. src must hold at least
// 2·len(dst) − 1 values; Stride2 panics otherwise.
func Stride2(dst, src []float32) {
	n := len(dst)
	if n == 0 {
		return
	}
	if len(src) < 2*n-1 {
		panic(fmt.Sprintf("simd: Stride2: len(src) = %d < %d for %d values", len(src), 2*n-1, n))
	}
	if k := vecFor(CurrentLevel()); k != nil {
		k.stride2(&dst[0], &src[0], n)
		return
	}
	stride2Go(dst, src)
}

// Interleave writes m = len(src) vectors (2 or 4) into dst value by value,
// with a convolution's epilogue: for every i = m·t + k < len(dst), k < m,
//
//	dst[i] = act((src[k][t] + bias) + res[i]),
//
// each sum rounded as written, the residual term left out when res is nil,
// act(v) = max(v, 0) when relu is set (NaN stays NaN, −0 gives +0, as in
// AffineReLU) and v otherwise. It is the scatter of Winograd's output tiles:
// src[k] holds column k of every m-wide tile of a row, the last tile
// possibly cut short by the row's end. Every level gives the same bits.
// Every source must hold at least n = ⌈len(dst)/m⌉ values and res be nil
// or at least len(dst) long; dst must not overlap a source, and may be res
// itself but not overlap it otherwise. Interleave panics if a length is
// wrong.
func Interleave(dst []float32, src [][]float32, bias float32, res []float32, relu bool) {
	m := len(src)
	if m != 2 && m != 4 {
		panic(fmt.Sprintf("simd: Interleave: %d sources, want 2 or 4", m))
	}
	n := (len(dst) + m - 1) / m
	for k, s := range src {
		if len(s) < n {
			panic(fmt.Sprintf("simd: Interleave: len(src[%d]) = %d < %d", k, len(s), n))
		}
	}
	if res != nil && len(res) < len(dst) {
		panic(fmt.Sprintf("simd: Interleave: len(res) = %d < len(dst) = %d", len(res), len(dst)))
	}
	if n == 0 {
		return
	}
	k := vecFor(CurrentLevel())
	switch {
	case k != nil && k.interleave != nil:
		s3, s4 := &src[0][0], &src[1][0] // unused when m = 2
		if m == 4 {
			s3, s4 = &src[2][0], &src[3][0]
		}
		var r *float32
		if res != nil {
			r = &res[0]
		}
		k.interleave(&dst[0], &src[0][0], &src[1][0], s3, s4, r, m, len(dst), bias, relu)
	case k != nil && (res == nil || &res[0] != &dst[0]):
		// The same sums: y + 1·r is exact in its product, and
		// affineReLU(v·1 + 0) differs from v only in making −0 +0, which
		// the rectifier does anyway.
		interleaveGo(dst, src, bias, nil, false)
		if res != nil {
			k.axpy(1, &res[0], &dst[0], len(dst))
		}
		if relu {
			k.affineReLU(&dst[0], &dst[0], len(dst), 1, 0)
		}
	default:
		interleaveGo(dst, src, bias, res, relu)
	}
}

// Deinterleave splits src value by value into m = len(dst) vectors (2 or
// 4): dst[k][s] = src[m·s + k] for s < n = len(dst[0]), the phases of a
// row for Winograd's tiles. Every destination must be n long and must not
// overlap src or another; src must hold at least m·n values. Deinterleave
// panics if a length is wrong.
func Deinterleave(dst [][]float32, src []float32) {
	m := len(dst)
	if m != 2 && m != 4 {
		panic(fmt.Sprintf("simd: Deinterleave: %d destinations, want 2 or 4", m))
	}
	n := len(dst[0])
	for k, d := range dst {
		if len(d) != n {
			panic(fmt.Sprintf("simd: Deinterleave: len(dst[%d]) = %d != len(dst[0]) = %d", k, len(d), n))
		}
	}
	if len(src) < m*n {
		panic(fmt.Sprintf("simd: Deinterleave: len(src) = %d < %d", len(src), m*n))
	}
	if n == 0 {
		return
	}
	k := vecFor(CurrentLevel())
	switch {
	case k != nil && k.deinterleave != nil:
		d2, d3 := &dst[0][0], &dst[1][0] // unused when m = 2
		if m == 4 {
			d2, d3 = &dst[2][0], &dst[3][0]
		}
		k.deinterleave(&dst[0][0], &dst[1][0], d2, d3, &src[0], m, n)
	case k != nil && m == 2:
		k.stride2(&dst[0][0], &src[0], n)
		k.stride2(&dst[1][0], &src[1], n)
	default:
		deinterleaveGo(dst, src)
	}
}

// Sandwich applies a t-point transform to both sides of a t×t block of
// vectors (t = 4 or 6), the transforms of Winograd's F(2×2, 3×3) and
// F(4×4, 3×3) in one pass (Bᵀ d B on input tiles with r = t, Aᵀ M A on
// products with r = t − 2): for x < n and i, j < r,
//
//	dst[(i·r + j)·dstStride + x] = Σ_{k<t} c[t·i+k]·(Σ_{l<t} c[t·j+l]·src[offs[t·k+l] + x]),
//
// block element (k, l) being the vector at src[offs[t·k+l]:]. Each sum is
// taken in order of its index, the first term a product and each further
// term added as a fused multiply-add at the assembly levels (as Mix6 sums)
// and as a rounded product at the generic level; for t = 6 the result is
// bit for bit that of Mix6 passes over l and then k. dst must not overlap
// src. Sandwich panics unless t is 4 or 6, r is t or t − 2, c holds r·t
// coefficients and offs t² offsets, each ≥ 0 with offs + n ≤ len(src), and
// dst holds (r²−1)·dstStride + n values with dstStride ≥ n.
func Sandwich(dst []float32, dstStride int, c []float32, src []float32, offs []int, t, r, n int) {
	if (t != 4 && t != 6) || (r != t && r != t-2) {
		panic(fmt.Sprintf("simd: Sandwich: t = %d, r = %d, want t 4 or 6 and r t or t−2", t, r))
	}
	if len(c) < r*t || len(offs) < t*t {
		panic(fmt.Sprintf("simd: Sandwich: %d coefficients and %d offsets for t = %d, r = %d", len(c), len(offs), t, r))
	}
	if n < 0 || dstStride < n {
		panic(fmt.Sprintf("simd: Sandwich: n = %d, dstStride = %d", n, dstStride))
	}
	for i, o := range offs[:t*t] {
		if o < 0 || o+n > len(src) {
			panic(fmt.Sprintf("simd: Sandwich: offs[%d] = %d: %d values past it, len(src) = %d", i, o, n, len(src)))
		}
	}
	if need := (r*r-1)*dstStride + n; len(dst) < need {
		panic(fmt.Sprintf("simd: Sandwich: len(dst) = %d < %d", len(dst), need))
	}
	if n == 0 {
		return
	}
	k := vecFor(CurrentLevel())
	switch {
	case k == nil:
		sandwichGo(dst, dstStride, c, src, offs, t, r, n)
	case t == 4:
		k.sandwich4(&dst[0], dstStride, &c[0], &src[0], &offs[0], r, n)
	default:
		k.sandwich6(&dst[0], dstStride, &c[0], &src[0], &offs[0], r, n)
	}
}

// Mix6 computes small linear combinations of six vectors, one side of a
// 6-point transform (Sandwich applies one to both sides of a block, summing
// as two Mix6 passes would): for each destination i < len(dst) (1 to 6),
//
//	dst[i][x] = Σ_{l<6} c[6i+l]·src[l][x],  x < n = len(dst[0]),
//
// in one pass over the sources. Every destination has length n, every
// source at least n; a destination must not overlap a source or another
// destination. The assembly levels sum in order of l with fused
// multiply-adds; the generic level rounds each product and sum. A zero
// coefficient adds nothing (unless its source holds an infinity or NaN).
// Mix6 panics if the lengths do not fit.
func Mix6(dst [][]float32, c *[36]float32, src *[6][]float32) {
	if len(dst) < 1 || len(dst) > 6 {
		panic(fmt.Sprintf("simd: Mix6: %d destinations, want 1 to 6", len(dst)))
	}
	n := len(dst[0])
	for i, d := range dst {
		if len(d) != n {
			panic(fmt.Sprintf("simd: Mix6: len(dst[%d]) = %d != len(dst[0]) = %d", i, len(d), n))
		}
	}
	for l, s := range src {
		if len(s) < n {
			panic(fmt.Sprintf("simd: Mix6: len(src[%d]) = %d < %d", l, len(s), n))
		}
	}
	if n == 0 {
		return
	}
	if k := vecFor(CurrentLevel()); k != nil {
		var dp [6]*float32
		for i := range dp {
			dp[i] = &dst[min(i, len(dst)-1)][0]
		}
		k.mix6(&c[0], &src[0][0], &src[1][0], &src[2][0], &src[3][0], &src[4][0], &src[5][0],
			dp[0], dp[1], dp[2], dp[3], dp[4], dp[5], len(dst), n)
		return
	}
	mix6Go(dst, c, src)
}

// Scale computes x[i] *= alpha, correctly rounded, so every level gives the
// same bits.
func Scale(alpha float32, x []float32) {
	if len(x) == 0 {
		return
	}
	if k := vecFor(CurrentLevel()); k != nil {
		k.scale(alpha, &x[0], len(x))
		return
	}
	scaleGo(alpha, x)
}

// Exp sets dst[i] = eˣ for x = src[i].
//
// For results in the normal range (x ≥ −87.336) the relative error is below
// 1 ulp: checked on every float32 input, it is at most 8.2e-8 at the generic
// level and 8.5e-8 at the assembly levels, and the tests enforce 1.2e-7.
// Results in the subnormal range (−103.97 < x < −87.336) are scaled with a
// single rounding, so their absolute error is at most 1.2e-7·eˣ plus one unit
// in the last subnormal place. Exp returns +Inf for +Inf and x ≥ 88.72284
// (where eˣ overflows), 0 for −Inf and x ≤ −103.98, and NaN for NaN.
//
// All levels run the same algorithm: n = round(x·log₂e) (to nearest, ties to
// even, of the exact product), r = x − n·ln2 with ln2 split in two
// (Cody–Waite), eʳ ≈ 1 + r + r²·P(r) with Cephes' degree-5 P on
// |r| ≤ ln2/2, and eˣ = eʳ·2ⁿ by exponent arithmetic with a single rounding.
// The assembly levels evaluate it with fused multiply-adds and the generic
// level without, so the levels may differ by 1 ulp; the generic level gives
// the same bits on every architecture. dst and src may be the same slice but
// must not overlap otherwise. Exp panics if the lengths differ.
func Exp(dst, src []float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("simd: Exp: len(dst) = %d != len(src) = %d", len(dst), len(src)))
	}
	if len(src) == 0 {
		return
	}
	if k := vecFor(CurrentLevel()); k != nil {
		k.exp(&dst[0], &src[0], len(src))
		return
	}
	expGo(dst, src)
}

// AffineReLU sets dst[i] = max(src[i]·scale + shift, 0), the product and
// the sum each rounded (no fused multiply-add), so every level gives the
// same bits: a batch norm folded to a per-channel affine map, then a ReLU.
// NaN stays NaN; −0 and negative values give +0. dst and src may be the same
// slice but must not overlap otherwise. AffineReLU panics if the lengths
// differ.
func AffineReLU(dst, src []float32, scale, shift float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("simd: AffineReLU: len(dst) = %d != len(src) = %d", len(dst), len(src)))
	}
	if len(src) == 0 {
		return
	}
	if k := vecFor(CurrentLevel()); k != nil {
		k.affineReLU(&dst[0], &src[0], len(src), scale, shift)
		return
	}
	affineReLUGo(dst, src, scale, shift)
}

// affineReLUGo is AffineReLU's generic twin.
func affineReLUGo(dst, src []float32, scale, shift float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		r := float32(v*scale) + shift
		if !(r > 0) && r == r {
			r = 0
		}
		dst[i] = r
	}
}

// dotGo is Dot's generic twin: four accumulators over i mod 4, summed as
// (s0+s1)+(s2+s3).
func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xs, ys := x[i:i+4:i+4], y[i:i+4:i+4]
		s0 += float32(xs[0] * ys[0])
		s1 += float32(xs[1] * ys[1])
		s2 += float32(xs[2] * ys[2])
		s3 += float32(xs[3] * ys[3])
	}
	for ; i < len(x); i++ {
		s0 += float32(x[i] * y[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// axpyGo is Axpy's generic twin.
func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += float32(alpha * v)
	}
}

// stride2Go is Stride2's generic twin.
func stride2Go(dst, src []float32) {
	if len(dst) == 0 {
		return
	}
	src = src[:2*len(dst)-1]
	for i := range dst {
		dst[i] = src[2*i]
	}
}

// interleaveGo is Interleave's generic twin.
func interleaveGo(dst []float32, src [][]float32, bias float32, res []float32, relu bool) {
	m := len(src)
	n := len(dst) / m // whole groups; a partial last one below
	switch {
	case res == nil && !relu && m == 2:
		s0, s1 := src[0][:n], src[1][:n]
		for t := range n {
			dst[2*t], dst[2*t+1] = s0[t]+bias, s1[t]+bias
		}
	case res == nil && !relu && m == 4:
		s0, s1, s2, s3 := src[0][:n], src[1][:n], src[2][:n], src[3][:n]
		for t := range n {
			d := dst[4*t:][:4]
			d[0], d[1], d[2], d[3] = s0[t]+bias, s1[t]+bias, s2[t]+bias, s3[t]+bias
		}
	default:
		n = 0 // every value below
	}
	for t := n; m*t < len(dst); t++ {
		for k := 0; k < m && m*t+k < len(dst); k++ {
			i := m*t + k
			v := src[k][t] + bias
			if res != nil {
				v += res[i]
			}
			if relu && !(v > 0) && v == v {
				v = 0
			}
			dst[i] = v
		}
	}
}

// deinterleaveGo is Deinterleave's generic twin.
func deinterleaveGo(dst [][]float32, src []float32) {
	m := len(dst)
	for k, d := range dst {
		for s := range d {
			d[s] = src[m*s+k]
		}
	}
}

// packRows32 copies rows rows of 32 values, row r at src[r·ld:], one after
// another into dst: a whole panel of B for the 14×32 micro-kernel, in one
// call rather than a copy (a runtime.memmove call) per row.
func packRows32(dst, src []float32, ld, rows int) {
	if rows <= 0 {
		return
	}
	src, dst = src[:(rows-1)*ld+32], dst[:32*rows] // bounds, checked once
	if k := vecFor(CurrentLevel()); k != nil && k.pack32 != nil {
		k.pack32(&dst[0], &src[0], ld, rows)
		return
	}
	packRows32Go(dst, src, ld, rows)
}

// packRows32Go is packRows32's generic twin.
func packRows32Go(dst, src []float32, ld, rows int) {
	for r := range rows {
		*(*[32]float32)(dst[32*r:]) = *(*[32]float32)(src[r*ld:])
	}
}

// maxGo is Max's generic twin.
func maxGo(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		if v > dst[i] || v != v {
			dst[i] = v
		}
	}
}

// mix6Go is Mix6's generic twin.
func mix6Go(dst [][]float32, c *[36]float32, src *[6][]float32) {
	n := len(dst[0])
	s0, s1, s2, s3, s4, s5 := src[0][:n], src[1][:n], src[2][:n], src[3][:n], src[4][:n], src[5][:n]
	for i, d := range dst {
		k := c[6*i:][:6]
		for x := range d {
			sum := float32(k[0] * s0[x])
			sum += float32(k[1] * s1[x])
			sum += float32(k[2] * s2[x])
			sum += float32(k[3] * s3[x])
			sum += float32(k[4] * s4[x])
			sum += float32(k[5] * s5[x])
			d[x] = sum
		}
	}
}

// sandwichGo is Sandwich's generic twin: both stages over blocks of 64
// values, each output a pass over the block as mix6Go makes it.
func sandwichGo(dst []float32, dstStride int, c []float32, src []float32, offs []int, t, r, n int) {
	const blk = 64
	var tmp [36][blk]float32 // tmp[t·k + j]: Σ_l c[t·j+l]·src[t·k+l]
	for x0 := 0; x0 < n; x0 += blk {
		w := min(blk, n-x0)
		for k := range t {
			for j := range r {
				cj, out := c[t*j:][:t], tmp[t*k+j][:w]
				s0 := src[offs[t*k]+x0:][:w]
				for x := range out {
					out[x] = float32(cj[0] * s0[x])
				}
				for l := 1; l < t; l++ {
					sl := src[offs[t*k+l]+x0:][:w]
					for x := range out {
						out[x] += float32(cj[l] * sl[x])
					}
				}
			}
		}
		for i := range r {
			ci := c[t*i:][:t]
			for j := range r {
				out := dst[(i*r+j)*dstStride+x0:][:w]
				for x := range out {
					out[x] = float32(ci[0] * tmp[j][x])
				}
				for k := 1; k < t; k++ {
					tk := tmp[t*k+j][:w]
					for x := range out {
						out[x] += float32(ci[k] * tk[x])
					}
				}
			}
		}
	}
}

// axpyToGo is AxpyTo's generic twin.
func axpyToGo(alpha float32, x, y, dst []float32) {
	y, dst = y[:len(x)], dst[:len(x)]
	for i, v := range x {
		dst[i] = y[i] + float32(alpha*v)
	}
}

// scaleGo is Scale's generic twin.
func scaleGo(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

// expGo is Exp's generic twin.
func expGo(dst, src []float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = exp32(x)
	}
}

// The constants of Exp. vec_amd64.s holds the same values as bit patterns;
// TestExpEmulation would fail if they differed.
const (
	expLo    = float32(-104)           // below: the result rounds to 0
	expHi    = float32(89)             // above: the result overflows to +Inf
	expLog2e = float32(math.Log2E)     // 0x3fb8aa3b
	expC1    = float32(0.693359375)    // ln2 high part, 9 bits: n·C1 is exact
	expC2    = float32(-2.12194440e-4) // ln2 − C1
	expP0    = float32(5.0000001201e-1)
	expP1    = float32(1.6666665459e-1)
	expP2    = float32(4.1665795894e-2)
	expP3    = float32(8.3334519073e-3)
	expP4    = float32(1.3981999507e-3)
	expP5    = float32(1.9875691500e-4)
)

// exp32 is the generic level's eˣ; see Exp. Every product is rounded
// explicitly (float32(a*b)), so no compiler fuses it into an FMA and the
// result is the same on every architecture.
func exp32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x < expLo:
		x = expLo
	case x > expHi:
		x = expHi
	}
	// The product of two float32s is exact in float64, so this is the
	// product rounded once to an integer, ties to even, as the assembly's FMA
	// with the 1.5·2²³ shifter does (here the shifter is 1.5·2⁵²).
	const shift = 0x1.8p52
	n := float32(float64(x)*float64(expLog2e) + shift - shift)
	r := x - float32(n*expC1) // exact
	r -= float32(n * expC2)
	p := float32(expP5*r) + expP4
	p = float32(p*r) + expP3
	p = float32(p*r) + expP2
	p = float32(p*r) + expP1
	p = float32(p*r) + expP0
	y := float32(p*float32(r*r)) + r
	y += 1
	// y·2ⁿ in two steps so that both factors are normal: the first product
	// is exact, the second rounds once (to a subnormal when it must).
	ni := int32(n)
	n1 := ni >> 1
	n2 := ni - n1
	y *= math.Float32frombits(uint32(n1+127) << 23)
	y *= math.Float32frombits(uint32(n2+127) << 23)
	return y
}
