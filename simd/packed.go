package simd

import (
	"fmt"
	"math"

	"github.com/reconpatch/rp/internal/parallel"
)

// PackedA is the left operand of products C = α·A·op(B) + β·C packed once,
// in the layout the current level's micro-kernel reads, so that products
// with many right-hand sides (a convolution's weights against every image
// and tile) skip packing A each time. Build it with PackA; it is read-only
// and safe for concurrent use.
type PackedA struct {
	level Level
	kern  *gemmKernel
	m, k  int
	mp    int // m rounded up to the kernel's row tile
	kc    int // depth block, as the driver chooses it for k
	// data holds, for each depth block starting at pc, the block's row
	// panels (mr × kcCur, zero-padded past m) at data[pc·mp:].
	data []float32
}

// PackA packs op(A), m×k, for SgemmPacked at the current dispatch level.
// A is read only here; later changes to it do not affect the packed copy.
// It panics on the same programmer errors as Sgemm.
func PackA(transA bool, m, k int, a []float32, lda int) *PackedA {
	if m < 0 || k < 0 {
		panic(fmt.Sprintf("simd: PackA: negative dimension m=%d k=%d", m, k))
	}
	checkMatrix("A", transA, m, k, a, lda)
	l := CurrentLevel()
	kern := kernelFor(l)
	p := &PackedA{level: l, kern: kern, m: m, k: k, mp: roundUp(m, kern.mr)}
	if m == 0 || k == 0 {
		return p
	}
	p.kc = depthBlock(kern, k)
	p.data = make([]float32, p.mp*k)
	for pc := 0; pc < k; pc += p.kc {
		kcCur := min(p.kc, k-pc)
		packA(p.data[pc*p.mp:], a, lda, transA, 0, m, pc, kcCur, kern.mr)
	}
	return p
}

// Rows and Cols are the dimensions of the packed matrix.
func (p *PackedA) Rows() int { return p.m }

// Cols is the number of columns of the packed matrix.
func (p *PackedA) Cols() int { return p.k }

// block returns the packed rows from ic (a multiple of the row tile) of the
// depth block starting at pc.
func (p *PackedA) block(pc, ic, kcCur int) []float32 {
	return p.data[pc*p.mp+ic*kcCur:]
}

// unpack rebuilds A (m×k, row-major) from the panels.
func (p *PackedA) unpack() []float32 {
	a := make([]float32, p.m*p.k)
	mr := p.kern.mr
	for pc := 0; pc < p.k; pc += p.kc {
		kcCur := min(p.kc, p.k-pc)
		blk := p.data[pc*p.mp:]
		for i := 0; i < p.m; i++ {
			panel := blk[(i/mr)*mr*kcCur:]
			for q := 0; q < kcCur; q++ {
				a[i*p.k+pc+q] = panel[q*mr+i%mr]
			}
		}
	}
	return a
}

// SgemmPacked computes C = alpha·A·op(B) + beta·C with A packed by PackA
// (m×k), op(B) k×n and C m×n, as Sgemm does; the results are bit for bit
// those of Sgemm on the unpacked A. If the dispatch level changed since A
// was packed, it falls back to unpacking A (slow; only tests switch levels).
func SgemmPacked(a *PackedA, transB bool, n int, alpha float32, b []float32, ldb int, beta float32, c []float32, ldc int) {
	m, k := a.m, a.k
	if n < 0 {
		panic(fmt.Sprintf("simd: SgemmPacked: negative dimension n=%d", n))
	}
	checkMatrix("B", transB, k, n, b, ldb)
	checkMatrix("C", false, m, n, c, ldc)
	if a.level != CurrentLevel() {
		un := a.unpack()
		sgemm(kernelFor(CurrentLevel()), Threads(), false, transB, m, n, k, alpha, un, max(1, k), b, ldb, beta, c, ldc)
		return
	}
	run(&gemmJob{
		kern: a.kern, pa: a, transB: transB, m: m, n: n, k: k,
		alpha: alpha, beta: beta, b: b, c: c, ldb: ldb, ldc: ldc,
	}, Threads())
}

// Epilogue is what SgemmPackedEpilogue applies to each element of C as the
// product's last depth block stores it, while the tile is still in L1:
//
//	C[i,j] = act(C[i,j] + Bias[i] + R[i·LDR + j])
//
// Bias (m values) and R (m×n, leading dimension LDR) may be nil; act is the
// rectifier max(·, 0) when ReLU is set (NaN stays NaN), the identity
// otherwise. R may be C itself only if LDR is ldc.
type Epilogue struct {
	Bias []float32
	R    []float32
	LDR  int
	ReLU bool
}

func (e *Epilogue) active() bool { return e != nil && (e.Bias != nil || e.R != nil || e.ReLU) }

// floor is the lower bound the epilogue kernels apply: 0 for a ReLU, −Inf
// for none.
func (e *Epilogue) floor() float32 {
	if e.ReLU {
		return 0
	}
	return float32(math.Inf(-1))
}

// zeros stands for a missing bias or residual row in the epilogue kernels
// (at least as long as any kernel's mr and nr).
var zeros [64]float32

// apply finishes rows [i0, i0+rows) and columns [j0, j0+cols) of C (at c,
// leading dimension ldc, whose element (i0, j0) is c[0]).
func (e *Epilogue) apply(c []float32, ldc, i0, rows, j0, cols int) {
	for i := range rows {
		row := c[i*ldc : i*ldc+cols]
		var bias float32
		if e.Bias != nil {
			bias = e.Bias[i0+i]
		}
		switch {
		case e.R != nil:
			res := e.R[(i0+i)*e.LDR+j0:][:cols]
			if e.ReLU {
				for j, r := range res {
					row[j] = max(row[j]+bias+r, 0)
				}
			} else {
				for j, r := range res {
					row[j] += bias + r
				}
			}
		case e.ReLU:
			for j, v := range row {
				row[j] = max(v+bias, 0)
			}
		case bias != 0:
			for j := range row {
				row[j] += bias
			}
		}
	}
}

// SgemmPackedEpilogue computes C = ep(A·op(B)) with A packed by PackA (m×k),
// op(B) k×n and C m×n (written only, as with beta = 0): SgemmPacked with
// alpha 1 and beta 0, then the epilogue ep (nil for none) applied tile by
// tile as the product stores C. Up to rounding of the epilogue's sums, the
// results are those of SgemmPacked followed by the epilogue.
func SgemmPackedEpilogue(a *PackedA, transB bool, n int, b []float32, ldb int, c []float32, ldc int, ep *Epilogue) {
	m, k := a.m, a.k
	if n < 0 {
		panic(fmt.Sprintf("simd: SgemmPackedEpilogue: negative dimension n=%d", n))
	}
	checkMatrix("B", transB, k, n, b, ldb)
	checkMatrix("C", false, m, n, c, ldc)
	ep = checkEpilogue("SgemmPackedEpilogue", ep, m, n)
	packedEpilogue(Threads(), a, transB, n, b, ldb, c, ldc, ep)
}

// SgemmPackedEpilogueRows computes C = ep(A·B) with A packed by PackA
// (m×k) and B (k×n, not transposed) whose rows lie anywhere in b: row i is
// b[rows[i] : rows[i]+n]. Rows may overlap. A stride-1 convolution over a
// zero-padded image is one such product: row (channel, i, j) of its
// unfolded input is the padded image read from the offset of tap (i, j), so
// no unfolded copy is needed.
//
// C is not stored whole: it is computed a block at a time, each block handed
// to emit(c, ldc, i0, i1, j0, j1) while it is still in cache: rows [i0, i1)
// and columns [j0, j1) of C, element (i, j) at c[(i−i0)·ldc + j − j0], valid
// only during the call. emit runs concurrently for disjoint blocks. Blocks of
// columns are shared out over the workers as in SgemmPackedEpilogueCols, each
// packed straight from the rows, unless A is too large to read once per
// block; then the workers share A's rows and the blocks are rows of C. The
// values are bit for bit those of SgemmPackedEpilogue on the gathered B.
func SgemmPackedEpilogueRows(a *PackedA, n int, b []float32, rows []int, ep *Epilogue, emit func(c []float32, ldc, i0, i1, j0, j1 int)) {
	m, k := a.m, a.k
	if n < 0 {
		panic(fmt.Sprintf("simd: SgemmPackedEpilogueRows: negative dimension n=%d", n))
	}
	if len(rows) != k {
		panic(fmt.Sprintf("simd: SgemmPackedEpilogueRows: %d row offsets for %d rows of B", len(rows), k))
	}
	for i, off := range rows {
		if off < 0 || off+n > len(b) {
			panic(fmt.Sprintf("simd: SgemmPackedEpilogueRows: row %d of B, b[%d:%d], is outside the %d values of b", i, off, off+n, len(b)))
		}
	}
	ep = checkEpilogue("SgemmPackedEpilogueRows", ep, m, n)
	if m == 0 || n == 0 {
		return
	}
	threads := workersFor(Threads(), 2*float64(m)*float64(n)*float64(k))
	// whole computes all of C into scratch, then emits it in row blocks.
	whole := func(product func(c []float32)) {
		buf := getBuffer(m * n)
		defer putBuffer(buf)
		c := buf.data[:m*n]
		product(c)
		parallel.Run(min(threads, m), func(w int) {
			i0, i1 := share(m, min(threads, m), w)
			emit(c[i0*n:], n, i0, i1, 0, n)
		})
	}
	switch {
	case a.level != CurrentLevel() || k == 0:
		// The slow paths take B whole: gather it.
		whole(func(c []float32) {
			dense := make([]float32, k*n)
			for i, off := range rows {
				copy(dense[i*n:(i+1)*n], b[off:off+n])
			}
			packedEpilogue(threads, a, false, n, dense, max(1, n), c, n, ep)
		})
	case m*k > sharedABudget:
		// A large A (a wide layer at a small size): read it once, the
		// workers sharing its rows and the packed B.
		whole(func(c []float32) {
			run(&gemmJob{
				kern: a.kern, pa: a, m: m, n: n, k: k,
				alpha: 1, b: b, bRows: rows, c: c, ldc: n, ep: ep,
			}, threads)
		})
	default:
		// A small A: column blocks as in SgemmPackedEpilogueCols, each
		// worker packing its block's panels straight from the rows,
		// multiplying them into a scratch block and emitting it.
		cols := colBlock(a.kern.nr, k, n, threads)
		parallel.For(ceilDiv(n, cols), threads, func(blk int) {
			j0 := blk * cols
			j1 := min(n, j0+cols)
			buf := getBuffer(m * (j1 - j0))
			defer putBuffer(buf)
			c := buf.data[:m*(j1-j0)]
			run(&gemmJob{
				kern: a.kern, pa: a, m: m, n: j1 - j0, k: k,
				alpha: 1, b: b[j0:], bRows: rows, c: c, ldc: j1 - j0, ep: ep.shifted(j0),
			}, 1)
			emit(c, j1-j0, 0, m, j0, j1)
		})
	}
}

// sharedABudget is the size in floats of the largest A (1 MiB) that
// SgemmPackedEpilogueRows lets each worker read once per block of columns.
const sharedABudget = 1 << 18

// shifted returns the epilogue of the columns from j0 on (nil for nil).
func (e *Epilogue) shifted(j0 int) *Epilogue {
	if e == nil {
		return nil
	}
	sub := *e
	if sub.R != nil {
		sub.R = sub.R[j0:]
	}
	return &sub
}

// checkEpilogue panics if ep does not fit an m×n product and returns it, or
// nil if it does nothing.
func checkEpilogue(fn string, ep *Epilogue, m, n int) *Epilogue {
	if !ep.active() {
		return nil
	}
	if ep.Bias != nil && len(ep.Bias) < m {
		panic(fmt.Sprintf("simd: %s: %d bias values for %d rows", fn, len(ep.Bias), m))
	}
	if ep.R != nil {
		checkMatrix("R", false, m, n, ep.R, ep.LDR)
	}
	return ep
}

// packedEpilogue is SgemmPackedEpilogue on up to threads workers, after its
// checks, with ep nil or active.
func packedEpilogue(threads int, a *PackedA, transB bool, n int, b []float32, ldb int, c []float32, ldc int, ep *Epilogue) {
	m, k := a.m, a.k
	if a.level != CurrentLevel() || k == 0 {
		if a.level != CurrentLevel() {
			un := a.unpack()
			sgemm(kernelFor(CurrentLevel()), threads, false, transB, m, n, k, 1, un, max(1, k), b, ldb, 0, c, ldc)
		} else {
			scaleMatrix(0, c, m, n, ldc)
		}
		if ep != nil && m > 0 && n > 0 {
			ep.apply(c, ldc, 0, m, 0, n)
		}
		return
	}
	run(&gemmJob{
		kern: a.kern, pa: a, transB: transB, m: m, n: n, k: k,
		alpha: 1, b: b, c: c, ldb: ldb, ldc: ldc, ep: ep,
	}, threads)
}

// SgemmPackedBatch computes the independent products C_i = A_i·B_i, i <
// len(a), with each A_i packed by PackA (m×k, the same shape for all), each
// B_i k×n (row-major, leading dimension ldb) and C_i m×n (leading
// dimension ldc, written only, as with beta = 0). With at least as many
// products as workers, each product runs whole on one worker, so that no
// worker waits for another inside a product (Winograd's 16 products per
// convolution); otherwise they run one after another, each shared out as
// SgemmPackedEpilogue shares it. Either way every C_i is bit for bit
// SgemmPackedEpilogue's.
func SgemmPackedBatch(a []*PackedA, n int, b [][]float32, ldb int, c [][]float32, ldc int) {
	if len(b) != len(a) || len(c) != len(a) {
		panic(fmt.Sprintf("simd: SgemmPackedBatch: %d A, %d B and %d C matrices", len(a), len(b), len(c)))
	}
	if n < 0 {
		panic(fmt.Sprintf("simd: SgemmPackedBatch: negative dimension n=%d", n))
	}
	for i, ai := range a {
		if ai.m != a[0].m || ai.k != a[0].k {
			panic(fmt.Sprintf("simd: SgemmPackedBatch: A[%d] is %d×%d, A[0] %d×%d", i, ai.m, ai.k, a[0].m, a[0].k))
		}
		checkMatrix("B", false, ai.k, n, b[i], ldb)
		checkMatrix("C", false, ai.m, n, c[i], ldc)
	}
	threads := Threads()
	if len(a) < threads {
		for i := range a {
			packedEpilogue(threads, a[i], false, n, b[i], ldb, c[i], ldc, nil)
		}
		return
	}
	parallel.For(len(a), threads, func(i int) {
		packedEpilogue(1, a[i], false, n, b[i], ldb, c[i], ldc, nil)
	})
}

// SgemmPackedEpilogueCols computes C = ep(A·B) as SgemmPackedEpilogue does,
// for a B (k×n) that is not stored but produced a block of columns at a time:
// fill(dst, ld, j0, j1) writes columns [j0, j1) of B into dst, element (i, j)
// at dst[i·ld + j − j0]. This is a convolution's GEMM with fill its im2col:
// the unfolded input is never materialised whole. The blocks are shared out
// over the workers, each filling and multiplying its own blocks in a buffer
// of its own, so that a block stays in the worker's cache between fill and
// product and no worker waits for another. (Filling B whole and sharing A's
// rows instead, so that a large A is read once rather than once per block,
// measured slower with an im2col fill, even for 512×4608 weights against 196
// positions; SgemmPackedEpilogueRows, which needs no fill, does share them.)
//
// cols is the block width; 0 picks one for the cache (about 256 KiB of B per
// block, a multiple of the micro-kernel's width). The results are bit for
// bit those of SgemmPackedEpilogue on the whole B, whatever the blocks.
func SgemmPackedEpilogueCols(a *PackedA, n, cols int, fill func(dst []float32, ld, j0, j1 int), c []float32, ldc int, ep *Epilogue) {
	m, k := a.m, a.k
	if n < 0 || cols < 0 {
		panic(fmt.Sprintf("simd: SgemmPackedEpilogueCols: negative dimension n=%d or block cols=%d", n, cols))
	}
	checkMatrix("C", false, m, n, c, ldc)
	ep = checkEpilogue("SgemmPackedEpilogueCols", ep, m, n)
	if m == 0 || n == 0 {
		return
	}
	threads := workersFor(Threads(), 2*float64(m)*float64(n)*float64(k))
	if cols == 0 {
		cols = colBlock(a.kern.nr, k, n, threads)
	}
	blocks := ceilDiv(n, cols)
	parallel.For(blocks, threads, func(b int) {
		j0 := b * cols
		j1 := min(n, j0+cols)
		nb := j1 - j0
		buf := getBuffer(max(1, k*nb))
		defer putBuffer(buf)
		blk := buf.data[:k*nb]
		fill(blk, nb, j0, j1)
		packedEpilogue(1, a, false, nb, blk, max(1, nb), c[j0:], ldc, ep.shifted(j0))
	})
}

// colBudget is the size in floats of one block of B in
// SgemmPackedEpilogueCols: with its packed copy and a block of A it stays
// within a core's L2 cache.
const colBudget = 1 << 16

// colBlock picks the block width for SgemmPackedEpilogueCols: at most
// colBudget floats of B and at least four micro-panels of nr columns, a
// multiple of nr, with the blocks spread evenly and their number a multiple
// of threads when there are several.
func colBlock(nr, k, n, threads int) int {
	cols := max(4*nr, colBudget/max(k, 1)/nr*nr)
	blocks := ceilDiv(n, cols)
	if blocks > 1 || threads > 1 {
		blocks = roundUp(max(blocks, threads), threads)
	}
	return max(1, roundUp(ceilDiv(n, blocks), nr))
}
