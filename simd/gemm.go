package simd

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reconpatch/rp/internal/parallel"
)

var threadOverride atomic.Int32

// SetThreads sets how many workers a large SGEMM uses; n ≤ 0 means
// runtime.GOMAXPROCS(0), the default. It returns the previous setting.
func SetThreads(n int) (previous int) {
	if n < 0 {
		n = 0
	}
	return int(threadOverride.Swap(int32(n)))
}

// Threads is the number of workers a large SGEMM uses.
func Threads() int {
	if n := int(threadOverride.Load()); n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// KernelName names the SGEMM micro-kernel that the current level runs, such
// as "avx512 14x32".
func KernelName() string { return kernelFor(CurrentLevel()).name }

// Sgemm computes C = alpha·op(A)·op(B) + beta·C, where op(A) is m×k, op(B) is
// k×n and C is m×n, all row-major. op(X) is X when transX is false and Xᵀ
// otherwise: with transA, A is stored k×m. lda, ldb and ldc are the leading
// dimensions (row strides) of the stored matrices. When beta is zero, C is
// only written, so it may hold anything on entry, NaN included.
//
// Sgemm panics if a dimension is negative, a leading dimension is too small,
// or a slice is too short for its matrix; these are programmer errors.
// Large products run on Threads() workers.
//
// Rounding: each element is a float32 sum of k products accumulated in
// ascending order within blocks of the kernel's k depth, so its error is
// bounded by about k·ε·Σ|a||b| (ε = 2⁻²⁴), as for any float32 GEMM.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	sgemm(kernelFor(CurrentLevel()), Threads(), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("simd: Sgemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	checkMatrix("A", transA, m, k, a, lda)
	checkMatrix("B", transB, k, n, b, ldb)
	checkMatrix("C", false, m, n, c, ldc)
}

// checkMatrix checks a stored matrix whose op is rows×cols.
func checkMatrix(name string, trans bool, rows, cols int, x []float32, ld int) {
	if trans {
		rows, cols = cols, rows
	}
	if ld < max(1, cols) {
		panic(fmt.Sprintf("simd: Sgemm: ld%s = %d < %d columns of stored %s (%d×%d)", name, ld, cols, name, rows, cols))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		panic(fmt.Sprintf("simd: Sgemm: len(%s) = %d < %d needed for %d×%d with ld %d", name, len(x), need, rows, cols, ld))
	}
}

// scaleMatrix sets C = beta·C over an m×n block (C not read when beta is 0).
func scaleMatrix(beta float32, c []float32, m, n, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		if beta != 1 {
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// MinParallelFlops is the size of a product (2·m·n·k) below which Sgemm and
// the packed products run on one worker: starting and synchronising workers
// costs a few microseconds. Callers with many such products, such as the
// groups of a convolution, run them side by side instead.
const MinParallelFlops = 1 << 22

type gemmJob struct {
	kern           *gemmKernel
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	bRows          []int // where each row of B starts in b, or nil for p·ldb

	kc, nc  int
	pa      *PackedA  // A packed ahead of time, or nil to pack it here
	ep      *Epilogue // applied to each tile as the last depth block stores it, or nil
	threads int
	splitM  bool      // workers take rows of C; otherwise columns (panels of B)
	packedB []float32 // the block of B all workers share when splitM
	bar     barrier
}

func sgemm(kern *gemmKernel, threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	run(&gemmJob{
		kern: kern, transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, beta: beta, a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc,
	}, threads)
}

// depthBlock spreads k evenly over the fewest blocks of at most kern.kc and
// returns the block depth.
func depthBlock(kern *gemmKernel, k int) int {
	return ceilDiv(k, ceilDiv(k, kern.kc))
}

// run partitions a product over workers and runs it.
func run(j *gemmJob, threads int) {
	m, n, k, kern := j.m, j.n, j.k, j.kern
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || j.alpha == 0 {
		scaleMatrix(j.beta, j.c, m, n, j.ldc)
		return
	}
	j.kc = depthBlock(kern, k)
	j.nc = min(kern.nc, roundUp(n, kern.nr))

	mTiles, nTiles := ceilDiv(m, kern.mr), ceilDiv(j.nc, kern.nr)
	threads = workersFor(threads, 2*float64(m)*float64(n)*float64(k))
	threads = max(1, min(threads, max(mTiles, nTiles)))
	if j.pa != nil {
		// A is packed already, so splitting columns costs nothing extra:
		// each worker packs its own panels of B and never waits for the
		// other. Split rows only where that balances the work clearly
		// better: then the workers share the packing of B, wait for each
		// other at every depth block and read panels packed by another
		// core, which cost the 1×1 convolutions of a ResNet at batch 1
		// about 10 % (1024→256 channels at 14×14, 2 workers: 7 column
		// panels split 4:3 still beat 19 row tiles split 10:9).
		j.splitM = rowSplitGain*imbalance(mTiles, threads) < imbalance(nTiles, threads)
	} else {
		j.splitM = mTiles >= 2*threads || mTiles >= nTiles
	}
	if j.splitM {
		threads = min(threads, mTiles)
	} else {
		threads = min(threads, nTiles)
	}
	j.threads = threads

	if j.splitM {
		bufB := getBuffer(roundUp(j.nc, kern.nr) * j.kc)
		defer putBuffer(bufB)
		j.packedB = bufB.data
	}
	j.bar.init(threads)

	if threads == 1 {
		j.work(0)
		return
	}
	parallel.Run(threads, j.work)
}

// work is one worker's share of the five Goto loops.
func (j *gemmJob) work(w int) {
	kern := j.kern
	mr, nr := kern.mr, kern.nr
	mc := kern.mc
	var bufA []float32
	if j.pa == nil {
		b := getBuffer(mc * j.kc)
		defer putBuffer(b)
		bufA = b.data
	}
	tile := getBuffer(mr * nr)
	defer putBuffer(tile)

	// Rows of C this worker computes.
	m0, m1 := 0, j.m
	// B panels live in the shared block when workers split rows (they all
	// read every panel, so barriers order packing and reading); when they
	// split columns each worker packs and reads only its own panels, in a
	// buffer of its own, and needs no barrier.
	packed := j.packedB
	if j.splitM {
		t0, t1 := share(ceilDiv(j.m, mr), j.threads, w)
		m0, m1 = t0*mr, min(t1*mr, j.m)
	} else {
		own := getBuffer((ceilDiv(ceilDiv(j.nc, nr), j.threads) + 1) * nr * j.kc)
		defer putBuffer(own)
		packed = own.data
	}
	for jc := 0; jc < j.n; jc += j.nc {
		ncCur := min(j.nc, j.n-jc)
		panels := ceilDiv(ncCur, nr)
		// Panels of B this worker packs and, when splitting columns, computes.
		p0, p1 := share(panels, j.threads, w)
		for pc := 0; pc < j.k; pc += j.kc {
			kcCur := min(j.kc, j.k-pc)
			beta := j.beta
			if pc > 0 {
				beta = 1
			}
			// multiply runs every block of this worker's rows of A over
			// panels [q0, q1) of the packed B, panel q at
			// packed[(q-first)·nr·kcCur].
			multiply := func(q0, q1, first int) {
				for ic := m0; ic < m1; ic += mc {
					mcCur := min(mc, m1-ic)
					pa := bufA
					if j.pa != nil {
						pa = j.pa.block(pc, ic, kcCur)
					} else {
						packA(bufA, j.a, j.lda, j.transA, ic, mcCur, pc, kcCur, mr)
					}
					j.macro(pa, packed, tile.data, ic, mcCur, jc, ncCur, kcCur, q0, q1, first, beta, pc+kcCur == j.k)
				}
			}
			if j.splitM {
				packB(packed[p0*nr*kcCur:], j.b, j.ldb, j.bRows, j.transB, pc, kcCur, jc, ncCur, p0, p1, nr)
				j.bar.wait() // all of B packed
				multiply(0, panels, 0)
				j.bar.wait() // nobody reads B before it is repacked
				continue
			}
			// The worker's panels are packed and multiplied all at once,
			// or, where A is packed and fits the cache, a panel at a time:
			// B is then read from the packing's cache lines rather than
			// from a packed block as large as this worker's B
			// (keras_resnet50's convolutions, one thread, isolated:
			// 36.0 -> 35.0 ms; 256->64 channels at 56x56 -11 %).
			step := max(1, p1-p0)
			if j.pa != nil && (m1-m0)*kcCur <= panelOuterA {
				step = 1
			}
			for q0 := p0; q0 < p1; q0 += step {
				q1 := min(q0+step, p1)
				packB(packed, j.b, j.ldb, j.bRows, j.transB, pc, kcCur, jc, ncCur, q0, q1, nr)
				multiply(q0, q1, q0)
			}
		}
	}
}

// macro runs the micro-kernel over one packed block of A (mcCur rows from ic)
// and panels p0..p1 of the packed block of B (ncCur columns from jc), whose
// panel q starts at pb[(q-first)·nr·kc]. On the last depth block (last) the
// epilogue, if any, finishes each tile right after it is stored.
func (j *gemmJob) macro(pa, pb, tile []float32, ic, mcCur, jc, ncCur, kc, p0, p1, first int, beta float32, last bool) {
	ep := j.ep
	if !last {
		ep = nil
	}
	kern := j.kern
	mr, nr := kern.mr, kern.nr
	c, ldc := j.c, j.ldc
	for jp := p0; jp < p1; jp++ {
		jr := jp * nr
		nrCur := min(nr, ncCur-jr)
		bp := &pb[(jp-first)*nr*kc]
		for ir := 0; ir < mcCur; ir += mr {
			mrCur := min(mr, mcCur-ir)
			ap := &pa[ir*kc]
			off := (ic+ir)*ldc + jc + jr
			fn, fnEp := kern.fn, kern.ep
			if mrCur < mr && nrCur == nr {
				// An edge kernel of exactly these rows stores in place.
				fn, fnEp = kern.rows[mrCur].fn, kern.rows[mrCur].ep
			}
			if fn != nil && nrCur == nr {
				if ep != nil && fnEp != nil {
					bias, r, ldr := &zeros[0], &zeros[0], 0
					if ep.Bias != nil {
						bias = &ep.Bias[ic+ir]
					}
					if ep.R != nil {
						r, ldr = &ep.R[(ic+ir)*ep.LDR+jc+jr], ep.LDR
					}
					fnEp(kc, ap, bp, &c[off], ldc, j.alpha, beta, bias, r, ldr, ep.floor())
					continue
				}
				fn(kc, ap, bp, &c[off], ldc, j.alpha, beta)
				if ep != nil {
					ep.apply(c[off:], ldc, ic+ir, mrCur, jc+jr, nr)
				}
				continue
			}
			// Edge tile: compute the tile (only its first nr/2 columns when
			// they cover it and the kernel has a variant for that) into
			// scratch, then merge the part that lies inside C.
			if nrCur <= nr/2 && kern.half != nil {
				kern.half(kc, ap, bp, &tile[0], nr, j.alpha, 0)
			} else {
				kern.fn(kc, ap, bp, &tile[0], nr, j.alpha, 0)
			}
			for i := 0; i < mrCur; i++ {
				dst := c[off+i*ldc : off+i*ldc+nrCur]
				src := tile[i*nr : i*nr+nrCur]
				if beta == 0 {
					copy(dst, src)
					continue
				}
				for jj := range dst {
					dst[jj] = src[jj] + beta*dst[jj]
				}
			}
			if ep != nil {
				ep.apply(c[off:], ldc, ic+ir, mrCur, jc+jr, nrCur)
			}
		}
	}
}

// packA packs rows [i0, i0+mc) and columns [p0, p0+kc) of op(A) into
// consecutive mr×kc panels (panel r holds rows r·mr…; column p of a panel is
// mr contiguous values), padding the last panel's missing rows with zeros.
func packA(dst, a []float32, lda int, trans bool, i0, mc, p0, kc, mr int) {
	var rows [32][]float32
	for ir := 0; ir < mc; ir += mr {
		n := min(mr, mc-ir)
		panel := dst[ir*kc : ir*kc+mr*kc]
		if trans {
			// A is stored k×m: column p of the panel is contiguous.
			for p := 0; p < kc; p++ {
				src := a[(p0+p)*lda+i0+ir:]
				d := panel[p*mr : p*mr+mr]
				copy(d, src[:n])
				clear(d[n:])
			}
			continue
		}
		if n < mr {
			clear(panel)
		}
		for i := 0; i < n; i++ {
			off := (i0+ir+i)*lda + p0
			rows[i] = a[off : off+kc : off+kc]
		}
		transposeStrips(panel, rows[:n], kc, mr)
	}
}

// transposeStrips writes src[i][p] to dst[p*ld+i] for every source row i and
// p < kc. It copies in strips of 8 columns: the reads stay sequential within
// each row and the strip's writes (8 runs of the panel) stay in L1.
func transposeStrips(dst []float32, src [][]float32, kc, ld int) {
	const strip = 8
	p := 0
	for ; p+strip <= kc; p += strip {
		d := dst[p*ld : (p+strip)*ld : (p+strip)*ld]
		for i, row := range src {
			s := row[p : p+strip : p+strip]
			d[i] = s[0]
			d[ld+i] = s[1]
			d[2*ld+i] = s[2]
			d[3*ld+i] = s[3]
			d[4*ld+i] = s[4]
			d[5*ld+i] = s[5]
			d[6*ld+i] = s[6]
			d[7*ld+i] = s[7]
		}
	}
	for ; p < kc; p++ {
		d := dst[p*ld : p*ld+ld]
		for i, row := range src {
			d[i] = row[p]
		}
	}
}

// packB packs rows [p0, p0+kc) of op(B) over panels q0..q1 of the column
// block starting at j0 (nc columns) into kc×nr panels (row p of a panel is nr
// contiguous values), panel q at dst[(q-q0)·nr·kc], padding the last panel's
// missing columns with zeros. Row p of B starts at b[p·ldb], or at
// b[rows[p]] when rows is not nil (B not transposed).
func packB(dst, b []float32, ldb int, rows []int, trans bool, p0, kc, j0, nc, q0, q1, nr int) {
	var cols [64][]float32
	for q := q0; q < q1; q++ {
		jr := q * nr
		n := min(nr, nc-jr)
		panel := dst[(q-q0)*nr*kc : (q-q0+1)*nr*kc]
		if !trans {
			if n == 32 && nr == 32 {
				// Whole rows of the AVX-512 kernel's panels.
				if rows == nil {
					packRows32(panel, b[p0*ldb+j0+jr:], ldb, kc)
					continue
				}
				for p := 0; p < kc; p++ {
					off := rows[p0+p] + j0 + jr
					*(*[32]float32)(panel[p*32:]) = *(*[32]float32)(b[off:])
				}
				continue
			}
			for p := 0; p < kc; p++ {
				off := (p0+p)*ldb + j0 + jr
				if rows != nil {
					off = rows[p0+p] + j0 + jr
				}
				d := panel[p*nr : p*nr+nr]
				copy(d, b[off:off+n])
				clear(d[n:])
			}
			continue
		}
		// B is stored n×k: column j of op(B) is row j of B.
		if n < nr {
			clear(panel)
		}
		for jj := 0; jj < n; jj++ {
			off := (j0+jr+jj)*ldb + p0
			cols[jj] = b[off : off+kc : off+kc]
		}
		transposeStrips(panel, cols[:n], kc, nr)
	}
}

// share splits n items over workers and returns worker w's half-open range.
func share(n, workers, w int) (lo, hi int) {
	return n * w / workers, n * (w + 1) / workers
}

// panelOuterA is the most floats of packed A (a worker's rows × the depth
// block) for which work takes B a panel at a time: 1 MiB, half the L2
// cache, so that A stays there while B streams past.
const panelOuterA = 1 << 18

// rowSplitGain is how much better a row split of a product with packed A
// must balance the workers than a column split to be chosen.
const rowSplitGain = 1.1

// imbalance is the ratio of the most tiles any of the workers gets to the
// mean when tiles are shared out evenly.
func imbalance(tiles, workers int) float64 {
	return float64(ceilDiv(tiles, workers)*workers) / float64(tiles)
}

func ceilDiv(a, b int) int    { return (a + b - 1) / b }
func roundUp(a, mult int) int { return ceilDiv(a, mult) * mult }

// barrier is a reusable rendezvous for a fixed number of goroutines. A
// waiter spins for up to barrierSpin before it sleeps: the workers of one
// product reach each barrier within microseconds of each other, and waking
// a sleeping thread costs tens of microseconds (far more in a VM), which at
// two barriers per depth block was a quarter of a small product's time.
type barrier struct {
	mu    sync.Mutex
	cond  sync.Cond
	n     int
	count atomic.Int32
	phase atomic.Uint32
}

// barrierSpin is how long a barrier waiter spins before it sleeps.
const barrierSpin = 200 * time.Microsecond

func (b *barrier) init(n int) {
	b.n = n
	b.cond.L = &b.mu
}

func (b *barrier) wait() {
	if b.n <= 1 {
		return
	}
	phase := b.phase.Load()
	if int(b.count.Add(1)) == b.n {
		b.count.Store(0)
		b.phase.Add(1)
		// Sleepers test the phase under mu, so none misses this.
		b.mu.Lock()
		b.cond.Broadcast()
		b.mu.Unlock()
		return
	}
	if parallel.SpinUntil(func() bool { return b.phase.Load() != phase }, barrierSpin) {
		return
	}
	b.mu.Lock()
	for b.phase.Load() == phase {
		b.cond.Wait()
	}
	b.mu.Unlock()
}
