package simd

import (
	"fmt"
	"math"
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
	if ep.active() {
		if ep.Bias != nil && len(ep.Bias) < m {
			panic(fmt.Sprintf("simd: SgemmPackedEpilogue: %d bias values for %d rows", len(ep.Bias), m))
		}
		if ep.R != nil {
			checkMatrix("R", false, m, n, ep.R, ep.LDR)
		}
	} else {
		ep = nil
	}
	if a.level != CurrentLevel() || k == 0 {
		SgemmPacked(a, transB, n, 1, b, ldb, 0, c, ldc)
		if ep != nil && m > 0 && n > 0 {
			ep.apply(c, ldc, 0, m, 0, n)
		}
		return
	}
	run(&gemmJob{
		kern: a.kern, pa: a, transB: transB, m: m, n: n, k: k,
		alpha: 1, b: b, c: c, ldb: ldb, ldc: ldc, ep: ep,
	}, Threads())
}
