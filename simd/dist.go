package simd

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/reconpatch/rp/internal/parallel"
)

// Squared Euclidean distances between the rows of two row-major matrices,
// computed as ‖a‖² + ‖b‖² − 2·a·b, the products on the SGEMM, and the
// row-wise argmin that nearest-neighbour search and greedy coreset selection
// need.
//
// Every product a·b and every squared norm a·a is summed with one and the
// same arithmetic per level, so that for identical rows −2·a·b is exactly
// −2·‖a‖² and the distance is exactly 0, not a rounding residue. At the
// assembly levels that arithmetic is the SGEMM micro-kernels' (a chain of
// fused multiply-adds per depth block of the SGEMM, the blocks added in
// order): products come from the SGEMM, or, for blocks thinner than 8 rows,
// from assembly chains that reproduce it bit for bit. The generic level does
// not use the SGEMM here, because the Go compiler fuses some of the generic
// micro-kernel's multiply-adds and not others depending on the target
// (GOAMD64=v3, arm64); it runs Go chains that round every product explicitly
// and so give the same bits everywhere.

// The block sizes of NearestRows: it computes the distances of
// nearestBlockRows rows of a to nearestBlockCols rows of b at a time, into
// 256·2048·4 bytes = 2 MiB of scratch per worker. The SGEMM's packing
// buffers come on top: at most about 2.3 MiB per worker with either
// assembly kernel (a 2048×256 panel of b and a block of a), less for d < 256.
const (
	nearestBlockRows = 256
	nearestBlockCols = 2048
)

// RowSqNorms sets dst[i] = ‖a_i‖² = Σ_p a[i*lda+p]² for the m rows of the
// m×d matrix a (row stride lda).
//
// The sum is accumulated in ascending p, as SqDist and NearestRows
// accumulate products at the current level (at the assembly levels, as the
// SGEMM accumulates a diagonal element of a·aᵀ), which is how they give
// exactly 0 between identical rows. Its relative error is at most about
// d·ε, ε = 2⁻²⁴ (all terms are positive).
//
// RowSqNorms panics if a dimension is negative, lda < d, or a slice is too
// short.
func RowSqNorms(dst, a []float32, m, lda, d int) {
	if m < 0 || d < 0 {
		panic(fmt.Sprintf("simd: RowSqNorms: negative dimension m=%d d=%d", m, d))
	}
	checkRows("RowSqNorms", "a", a, m, lda, d)
	if len(dst) < m {
		panic(fmt.Sprintf("simd: RowSqNorms: len(dst) = %d < m = %d", len(dst), m))
	}
	rowSqNorms(CurrentLevel(), Threads(), dst, a, m, lda, d)
}

// SqDist sets dst[i*ldd+j] = max(0, ‖a_i‖² + (‖b_j‖² − 2·a_i·b_j)) for the m
// rows a_i of the m×d matrix a and the n rows b_j of the n×d matrix b (row
// strides lda and ldb): the squared Euclidean distances. Columns n…ldd−1 of
// dst are not touched.
//
// At the assembly levels the product runs on Sgemm (alpha = −2, B
// transposed), or, when m or n is below 8, on dot-product chains with
// exactly the SGEMM's arithmetic, which read the long side once; the norms
// run on RowSqNorms. The generic level runs Go dot-product chains for both. The error is at most about (2d+3)·ε·(‖a_i‖² + ‖b_j‖²),
// ε = 2⁻²⁴: small distances between long vectors are relatively inaccurate,
// as with any Gram-matrix method, which is why the result is clamped at 0.
// The distance between identical rows is exactly 0.
//
// SqDist panics if a dimension is negative, a leading dimension is too small,
// or a slice is too short.
func SqDist(dst []float32, ldd int, a []float32, m, lda int, b []float32, n, ldb int, d int) {
	if m < 0 || n < 0 || d < 0 {
		panic(fmt.Sprintf("simd: SqDist: negative dimension m=%d n=%d d=%d", m, n, d))
	}
	checkRows("SqDist", "a", a, m, lda, d)
	checkRows("SqDist", "b", b, n, ldb, d)
	checkRows("SqDist", "dst", dst, m, ldd, n)
	if m == 0 || n == 0 {
		return
	}
	l := CurrentLevel()
	threads := Threads()
	kern := kernelFor(l)
	c := chainsFor(l, d)
	switch {
	case c.useChains(m, n):
		// Dot-product chains over the longer side, in groups of 8.
		workers := workersFor(threads, 2*float64(m)*float64(n)*float64(d))
		if n >= m {
			parallelFor(ceilDiv(n, 8), workers, func(lo, hi int) {
				j0, j1 := lo*8, min(hi*8, n)
				gramChains(c, dst[j0:], ldd, a, m, lda, b[j0*ldb:], j1-j0, ldb, d)
			})
		} else {
			parallelFor(ceilDiv(m, 8), workers, func(lo, hi int) {
				i0, i1 := lo*8, min(hi*8, m)
				gramChains(c, dst[i0*ldd:], ldd, a[i0*lda:], i1-i0, lda, b, n, ldb, d)
			})
		}
	default:
		// One SGEMM per block of kern.nc columns: the same arithmetic, since
		// sgemm loops over these blocks itself, but it keeps every call to
		// a single column block, where sgemm's column-split path (few rows,
		// many columns) is free of the race it has between blocks.
		for j0 := 0; j0 < n; j0 += kern.nc {
			nc := min(kern.nc, n-j0)
			sgemm(kern, threads, false, true, m, nc, d, -2, a, lda, b[j0*ldb:], ldb, 0, dst[j0:], ldd)
		}
	}
	na, nb := getBuffer(m), getBuffer(n)
	defer putBuffer(na)
	defer putBuffer(nb)
	rowSqNorms(l, threads, na.data, a, m, lda, d)
	rowSqNorms(l, threads, nb.data, b, n, ldb, d)
	vk := vecFor(l)
	parallelFor(m, workersFor(threads, float64(m)*float64(n)*4), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := dst[i*ldd : i*ldd+n]
			if vk != nil {
				vk.addClamp(na.data[i], &nb.data[0], &row[0], n)
			} else {
				addClampGo(na.data[i], nb.data[:n], row)
			}
		}
	})
}

// ArgminRows sets idx[i] to the column of the least value in row i of the
// m×n matrix dst (row stride ldd) and val[i] to that value. Among equal
// values the lowest column wins. A NaN ranks as +Inf: it is never chosen over
// a finite value, and a row holding only +Inf and NaN gives column 0,
// whatever is there. val may be nil.
//
// ArgminRows panics if m or n is negative, n is 0 while m is not, ldd < n,
// or a slice is too short.
func ArgminRows(dst []float32, m, n, ldd int, idx []int, val []float32) {
	if m < 0 || n < 0 {
		panic(fmt.Sprintf("simd: ArgminRows: negative dimension m=%d n=%d", m, n))
	}
	if n == 0 && m > 0 {
		panic(fmt.Sprintf("simd: ArgminRows: %d rows of no columns have no minimum", m))
	}
	checkRows("ArgminRows", "dst", dst, m, ldd, n)
	checkOut("ArgminRows", "idx", len(idx), m, false)
	checkOut("ArgminRows", "val", len(val), m, val == nil)
	vk := vecFor(CurrentLevel())
	if n > math.MaxInt32 {
		vk = nil // the kernels count in 32-bit lanes
	}
	for i := 0; i < m; i++ {
		row := dst[i*ldd : i*ldd+n]
		var j int
		if vk != nil {
			_, j = vk.argmin(&row[0], n)
		} else {
			_, j = argminGo(row)
		}
		idx[i] = j
		if val != nil {
			val[i] = row[j]
		}
	}
}

// NearestRows finds, for each of the m rows a_i of the m×d matrix a, the
// nearest of the n rows b_j of the n×d matrix b (row strides lda and ldb):
// idx[i] is the index j of least squared distance and dist[i] that distance,
// exactly as ArgminRows of the matrix SqDist computes, bit for bit, at the
// same level (ties go to the lowest j; a row identical to some b_j gets
// distance 0; the error bound is SqDist's). idx or dist may be nil when
// not wanted.
//
// The m×n matrix is never materialised. NearestRows precomputes ‖b_j‖² and
// ‖a_i‖², then works on blocks of up to 256 rows of a by 2048 rows of b: an
// SGEMM into a 2 MiB block of distances per worker (plus the SGEMM's own
// packing buffers, about 2.3 MiB), followed by a fused pass that adds the
// norms, clamps at 0 and keeps each row's running minimum. Memory beyond
// that is O(m + n). As in SqDist, blocks with fewer than 8 rows on either
// side (one query, or one centre in greedy coreset selection) use
// dot-product chains with the SGEMM's arithmetic instead, at memory speed,
// and the generic level uses its Go chains throughout.
// Row blocks of a (and, when there are fewer of them than workers, ranges of
// column blocks, merged in order afterwards) run in parallel on Threads()
// workers, each with a single-threaded SGEMM. The result does not depend on
// the number of workers.
//
// NearestRows panics if a dimension is negative, n is 0 while m is not, a
// leading dimension is less than d, or a slice is too short.
func NearestRows(a []float32, m, lda int, b []float32, n, ldb int, d int, idx []int, dist []float32) {
	if m < 0 || n < 0 || d < 0 {
		panic(fmt.Sprintf("simd: NearestRows: negative dimension m=%d n=%d d=%d", m, n, d))
	}
	if n == 0 && m > 0 {
		panic(fmt.Sprintf("simd: NearestRows: %d rows of a and no rows of b to be near", m))
	}
	checkRows("NearestRows", "a", a, m, lda, d)
	checkRows("NearestRows", "b", b, n, ldb, d)
	checkOut("NearestRows", "idx", len(idx), m, idx == nil)
	checkOut("NearestRows", "dist", len(dist), m, dist == nil)
	if m == 0 {
		return
	}
	nearestRows(CurrentLevel(), Threads(), a, m, lda, b, n, ldb, d, idx, dist)
}

// nearestResult is the running minimum of one row: the rank (the distance,
// NaN ranked as +Inf), the index and the distance itself.
type nearestResult struct {
	rank, val float32
	idx       int
}

func nearestRows(l Level, threads int, a []float32, m, lda int, b []float32, n, ldb int, d int, idx []int, dist []float32) {
	kern := kernelFor(l)
	vk := vecFor(l)
	c := chainsFor(l, d)
	na, nb := getBuffer(m), getBuffer(n)
	defer putBuffer(na)
	defer putBuffer(nb)
	rowSqNorms(l, threads, na.data, a, m, lda, d)
	rowSqNorms(l, threads, nb.data, b, n, ldb, d)

	rowBlocks := ceilDiv(m, nearestBlockRows)
	mb := ceilDiv(m, rowBlocks) // rows per block, spread evenly
	colBlocks := ceilDiv(n, nearestBlockCols)
	workers := workersFor(threads, 2*float64(m)*float64(n)*float64(max(d, 1)))
	// With fewer row blocks than workers, split the column blocks too.
	chunks := 1
	if rowBlocks < workers {
		chunks = min(colBlocks, ceilDiv(workers, rowBlocks))
	}
	items := rowBlocks * chunks
	workers = min(workers, items)
	res := make([]nearestResult, chunks*m) // chunk c, row i at c*m+i

	var next atomic.Int64
	work := func() {
		g := getBuffer(mb * min(n, nearestBlockCols))
		defer putBuffer(g)
		for {
			it := int(next.Add(1) - 1)
			if it >= items {
				return
			}
			rb, ch := it/chunks, it%chunks
			r0 := min(rb*mb, m)
			r1 := min(r0+mb, m)
			cb0, cb1 := share(colBlocks, chunks, ch)
			out := res[ch*m+r0 : ch*m+r1]
			for cb := cb0; cb < cb1; cb++ {
				j0 := cb * nearestBlockCols
				nc := min(nearestBlockCols, n-j0)
				if c.useChains(r1-r0, nc) {
					gramChains(c, g.data, nc, a[r0*lda:], r1-r0, lda, b[j0*ldb:], nc, ldb, d)
				} else {
					sgemm(kern, 1, false, true, r1-r0, nc, d, -2, a[r0*lda:], lda, b[j0*ldb:], ldb, 0, g.data, nc)
				}
				nbs := nb.data[j0 : j0+nc]
				for i := r0; i < r1; i++ {
					row := g.data[(i-r0)*nc : (i-r0)*nc+nc]
					ni := na.data[i]
					var rank float32
					var j int
					if vk != nil {
						rank, j = vk.minAddClamp(ni, &nbs[0], &row[0], nc)
					} else {
						rank, j = minAddClampGo(ni, nbs, row)
					}
					r := &out[i-r0]
					if cb == cb0 || rank < r.rank {
						r.rank, r.idx, r.val = rank, j0+j, addClamp1(ni, nbs[j], row[j])
					}
				}
			}
		}
	}
	parallel.Run(workers, func(int) { work() })

	for i := 0; i < m; i++ {
		best := res[i]
		for ch := 1; ch < chunks; ch++ {
			if r := res[ch*m+i]; r.rank < best.rank {
				best = r
			}
		}
		if idx != nil {
			idx[i] = best.idx
		}
		if dist != nil {
			dist[i] = best.val
		}
	}
}

// workersFor is how many workers a job of the given cost (in flops or
// element operations) uses: one below the SGEMM's parallel threshold.
func workersFor(threads int, cost float64) int {
	if cost < MinParallelFlops {
		return 1
	}
	return max(1, threads)
}

// parallelFor runs fn over [0, n) split into contiguous ranges on up to
// workers goroutines (the caller's included) and waits for them.
func parallelFor(n, workers int, fn func(lo, hi int)) {
	workers = min(workers, n)
	if workers <= 1 {
		fn(0, n)
		return
	}
	parallel.Run(workers, func(w int) {
		fn(share(n, workers, w))
	})
}

// chains is the arithmetic of a·b and a·a at one level for depth d. With
// vk set (the assembly levels) it is the SGEMM micro-kernels': for each depth
// block of kc, a chain acc = fma(x[p], y[p], acc) from zero with p
// ascending, and the block sums added in order; the SGEMM with alpha = −2
// then gives exactly −2 times that sum, since scaling by 2 commutes with
// rounding. Without vk (the generic level) it is one chain over all of d of
// acc += float32(x[p]·y[p]), every product rounded.
type chains struct {
	kc, d int
	vk    *vecKernels
}

// chainsFor returns the chains of level l for depth d.
func chainsFor(l Level, d int) chains {
	kern := kernelFor(l)
	c := chains{kc: max(d, 1), d: d, vk: vecFor(l)}
	if c.vk == nil || kern == &gemmKernels[Generic] {
		c.vk = nil
		return c
	}
	if d > 0 {
		// sgemm splits k into the fewest blocks of at most kern.kc,
		// spread evenly.
		c.kc = ceilDiv(d, ceilDiv(d, kern.kc))
	}
	return c
}

// thinLimit is the number of rows below which, on either side, the assembly
// levels compute a block of products with chains rather than with the SGEMM,
// whose 14×32 or 6×16 tiles and packing cost more than they save on so thin
// a product (the chains read the long side once, at memory speed).
const thinLimit = 8

// useChains reports whether an m×n block of products is computed with
// gramChains rather than with the SGEMM.
func (c chains) useChains(m, n int) bool {
	return c.d > 0 && (c.vk == nil || min(m, n) < thinLimit)
}

// dots sets dst[r] = the chain of rows[r*ld+p]·x[p], 0 ≤ p < len(x), for
// r < len(dst) ≤ 8.
func (c chains) dots(dst, rows []float32, ld int, x []float32) {
	k := len(x)
	if len(dst) == 8 {
		if c.vk != nil {
			c.vk.dots8(&rows[0], ld, &x[0], k, &dst[0])
		} else {
			dots8Go((*[8]float32)(dst), rows, ld, x)
		}
		return
	}
	for r := range dst {
		row := rows[r*ld : r*ld+k]
		if c.vk != nil {
			dst[r] = c.vk.dot1(&row[0], &x[0], k)
		} else {
			dst[r] = dotChainGo(row, x)
		}
	}
}

// dotChainGo is the generic chain of x[p]·y[p]. The explicit float32
// conversion rounds each product, so no compiler fuses it into an FMA.
func dotChainGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	for p, v := range x {
		s += float32(v * y[p])
	}
	return s
}

// dots8Go is dotChainGo of 8 rows (stride ld) with x, side by side.
func dots8Go(dst *[8]float32, rows []float32, ld int, x []float32) {
	k := len(x)
	r0, r1 := rows[0:k], rows[ld:ld+k]
	r2, r3 := rows[2*ld:2*ld+k], rows[3*ld:3*ld+k]
	r4, r5 := rows[4*ld:4*ld+k], rows[5*ld:5*ld+k]
	r6, r7 := rows[6*ld:6*ld+k], rows[7*ld:7*ld+k]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	for p, v := range x {
		s0 += float32(r0[p] * v)
		s1 += float32(r1[p] * v)
		s2 += float32(r2[p] * v)
		s3 += float32(r3[p] * v)
		s4 += float32(r4[p] * v)
		s5 += float32(r5[p] * v)
		s6 += float32(r6[p] * v)
		s7 += float32(r7[p] * v)
	}
	*dst = [8]float32{s0, s1, s2, s3, s4, s5, s6, s7}
}

// sqNorms8Go sets dst[r] to dotChainGo of row r (stride ld, k values) with
// itself, for 8 rows side by side.
func sqNorms8Go(dst *[8]float32, rows []float32, ld, k int) {
	r0, r1 := rows[0:k], rows[ld:ld+k]
	r2, r3 := rows[2*ld:2*ld+k], rows[3*ld:3*ld+k]
	r4, r5 := rows[4*ld:4*ld+k], rows[5*ld:5*ld+k]
	r6, r7 := rows[6*ld:6*ld+k], rows[7*ld:7*ld+k]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	for p := range k {
		s0 += float32(r0[p] * r0[p])
		s1 += float32(r1[p] * r1[p])
		s2 += float32(r2[p] * r2[p])
		s3 += float32(r3[p] * r3[p])
		s4 += float32(r4[p] * r4[p])
		s5 += float32(r5[p] * r5[p])
		s6 += float32(r6[p] * r6[p])
		s7 += float32(r7[p] * r7[p])
	}
	*dst = [8]float32{s0, s1, s2, s3, s4, s5, s6, s7}
}

// gramChains sets g[i*ldg+j] = −2·a_i·b_j for the m×n block with the chains
// c, running them in groups of 8 rows of the longer side against one row of
// the shorter.
func gramChains(c chains, g []float32, ldg int, a []float32, m, lda int, b []float32, n, ldb, d int) {
	var part, acc [8]float32
	if n >= m {
		for j0 := 0; j0 < n; j0 += 8 {
			cnt := min(8, n-j0)
			for i := 0; i < m; i++ {
				for p0 := 0; p0 < d; p0 += c.kc {
					k := min(c.kc, d-p0)
					c.dots(part[:cnt], b[j0*ldb+p0:], ldb, a[i*lda+p0:i*lda+p0+k])
					sumBlocks(acc[:cnt], part[:cnt], p0 == 0)
				}
				for r, v := range acc[:cnt] {
					g[i*ldg+j0+r] = -2 * v
				}
			}
		}
		return
	}
	for i0 := 0; i0 < m; i0 += 8 {
		cnt := min(8, m-i0)
		for j := 0; j < n; j++ {
			for p0 := 0; p0 < d; p0 += c.kc {
				k := min(c.kc, d-p0)
				c.dots(part[:cnt], a[i0*lda+p0:], lda, b[j*ldb+p0:j*ldb+p0+k])
				sumBlocks(acc[:cnt], part[:cnt], p0 == 0)
			}
			for r, v := range acc[:cnt] {
				g[(i0+r)*ldg+j] = -2 * v
			}
		}
	}
}

// sumBlocks adds the chains of one depth block to the running sums, in
// order, as the SGEMM adds its blocks into C.
func sumBlocks(acc, part []float32, first bool) {
	if first {
		copy(acc, part)
		return
	}
	for r := range acc {
		acc[r] += part[r]
	}
}

// rowSqNorms is RowSqNorms at level l, on up to threads workers.
func rowSqNorms(l Level, threads int, dst, a []float32, m, lda, d int) {
	if d == 0 {
		clear(dst[:m])
		return
	}
	c := chainsFor(l, d)
	parallelFor(ceilDiv(m, 8), workersFor(threads, float64(m)*float64(d)*8), func(lo, hi int) {
		var part [8]float32
		for p0 := 0; p0 < d; p0 += c.kc {
			k := min(c.kc, d-p0)
			for i := lo * 8; i < min(hi*8, m); i += 8 {
				cnt := min(8, m-i)
				switch {
				case cnt == 8 && c.vk != nil:
					c.vk.sqNorms8(&a[i*lda+p0], lda, k, &part[0])
				case cnt == 8:
					sqNorms8Go(&part, a[i*lda+p0:], lda, k)
				default:
					for r := range cnt {
						row := a[(i+r)*lda+p0 : (i+r)*lda+p0+k]
						c.dots(part[r:r+1], row, 0, row)
					}
				}
				sumBlocks(dst[i:i+cnt], part[:cnt], p0 == 0)
			}
		}
	})
}

// addClamp1 is max(0, c + (x + y)) with a NaN kept: the element of SqDist.
func addClamp1(c, x, y float32) float32 {
	v := c + (x + y)
	if v < 0 {
		v = 0
	}
	return v
}

// addClampGo sets y[j] = max(0, c + (x[j] + y[j])), keeping NaNs; the twin of
// the addClamp kernels.
func addClampGo(c float32, x, y []float32) {
	x = x[:len(y)]
	for j := range y {
		y[j] = addClamp1(c, x[j], y[j])
	}
}

// argminGo returns the least value of x below +Inf and the lowest index
// holding it, or (+Inf, 0) when there is none: the twin of the argmin
// kernels. A NaN never compares less, so it is never taken.
func argminGo(x []float32) (val float32, idx int) {
	val = float32(math.Inf(1))
	for j, v := range x {
		if v < val {
			val, idx = v, j
		}
	}
	return val, idx
}

// minAddClampGo is argminGo of the values addClampGo would store: the twin
// of the minAddClamp kernels.
func minAddClampGo(c float32, x, y []float32) (val float32, idx int) {
	x = x[:len(y)]
	val = float32(math.Inf(1))
	for j := range y {
		if v := addClamp1(c, x[j], y[j]); v < val {
			val, idx = v, j
		}
	}
	return val, idx
}

// checkRows panics unless x holds a rows×cols matrix with row stride ld.
func checkRows(fn, name string, x []float32, rows, ld, cols int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("simd: %s: row stride of %s = %d < %d columns", fn, name, ld, max(1, cols)))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		panic(fmt.Sprintf("simd: %s: len(%s) = %d < %d needed for %d×%d with stride %d", fn, name, len(x), need, rows, cols, ld))
	}
}

// checkOut panics if an output of length n is shorter than m rows, unless
// it may be nil and is.
func checkOut(fn, name string, n, m int, isNil bool) {
	if !isNil && n < m {
		panic(fmt.Sprintf("simd: %s: len(%s) = %d < m = %d", fn, name, n, m))
	}
}
