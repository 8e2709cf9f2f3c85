package simd

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"
)

// TestSgemmPacked checks that products with a pre-packed A give the same bits
// as Sgemm, at every level, including after the level changes under a packed
// matrix.
func TestSgemmPacked(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	cases := []struct {
		m, n, k     int
		transA, tB  bool
		alpha, beta float32
		threads     int
	}{
		{1, 1, 1, false, false, 1, 0, 1},
		{15, 33, 17, true, false, 2, 0.5, 2},
		{29, 300, 513, false, true, -1, 0, 2},
		{130, 1100, 1030, false, false, 1, 1, 2},
		{3, 5000, 200, true, true, 1, 0, 2},
		{600, 70, 600, false, false, 1, 0, 1}, // A past panelOuterA: B packed as a block
		{64, 0, 10, false, false, 1, 0, 2},
		{7, 9, 0, false, false, 1, 2, 1},
	}
	forEachLevel(t, func(tb testing.TB, l Level) {
		t := tb.(*testing.T)
		for _, c := range cases {
			lda := c.k
			if c.transA {
				lda = c.m
			}
			ldb := c.n
			if c.tB {
				ldb = c.k
			}
			a := randSlice(r, c.m*c.k)
			b := randSlice(r, c.k*c.n)
			c0 := randSlice(r, c.m*c.n)
			want := append([]float32(nil), c0...)
			got := append([]float32(nil), c0...)
			prev := SetThreads(c.threads)
			Sgemm(c.transA, c.tB, c.m, c.n, c.k, c.alpha, a, max(1, lda), b, max(1, ldb), c.beta, want, max(1, c.n))
			pa := PackA(c.transA, c.m, c.k, a, max(1, lda))
			SgemmPacked(pa, c.tB, c.n, c.alpha, b, max(1, ldb), c.beta, got, max(1, c.n))
			SetThreads(prev)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s %+v: C[%d] = %v packed, %v from Sgemm", l, c, i, got[i], want[i])
				}
			}
			// A level switch under the packed matrix must still give the
			// right product (checked against a fresh Sgemm at that level).
			if l != Generic {
				prevL, _ := SetLevel(Generic)
				w2 := append([]float32(nil), c0...)
				g2 := append([]float32(nil), c0...)
				Sgemm(c.transA, c.tB, c.m, c.n, c.k, c.alpha, a, max(1, lda), b, max(1, ldb), c.beta, w2, max(1, c.n))
				SgemmPacked(pa, c.tB, c.n, c.alpha, b, max(1, ldb), c.beta, g2, max(1, c.n))
				SetLevel(prevL)
				for i := range g2 {
					if g2[i] != w2[i] {
						t.Fatalf("%s→generic %+v: C[%d] = %v packed, %v from Sgemm", l, c, i, g2[i], w2[i])
					}
				}
			}
		}
	})
}

// TestGemmKernelsEp checks every epilogue micro-kernel against
// gemmKernelEpGo: with and without bias, residual and ReLU, beta 0 and 1.
func TestGemmKernelsEp(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for l := Generic; l <= AVX512; l++ {
		kern := gemmKernels[l]
		if kern.ep == nil || !Supported(l) {
			continue
		}
		mr, nr := kern.mr, kern.nr
		for _, k := range []int{0, 1, 5, 64, 257} {
			for _, beta := range []float32{0, 1} {
				for mask := range 8 {
					ldc := nr + 3
					a, b := randSlice(r, mr*k+1), randSlice(r, nr*k+1)
					e := randKernelEp(r, mr, nr, mask)
					const pad = 7
					cs := padded(r, mr*ldc, pad)
					want := append([]float32(nil), cs...)
					gemmKernelEpGo(mr, nr, k, a, b, want[pad:], ldc, 1, beta, e.bias, e.r, e.ldr, e.floor)
					kern.ep(k, &a[0], &b[0], &cs[pad], ldc, 1, beta, &e.bias[0], &e.r[0], e.ldr, e.floor)
					for i := range cs {
						if d := math.Abs(float64(cs[i] - want[i])); d > 1e-5*float64(k+2) {
							t.Fatalf("%s k=%d beta=%v mask=%d: element %d: got %v, want %v", kern.name, k, beta, mask, i-pad, cs[i], want[i])
						}
					}
				}
			}
		}
	}
}

// kernelEp holds an epilogue kernel's extra arguments.
type kernelEp struct {
	bias, r []float32
	ldr     int
	floor   float32
}

// randKernelEp returns the epilogue arguments for an mr×nr tile: a random
// bias (mask bit 1, else zeros), a random residual with rows nr+5 apart
// (bit 2, else the row of zeros) and a ReLU (bit 4, else no floor).
func randKernelEp(r *rand.Rand, mr, nr, mask int) kernelEp {
	e := kernelEp{bias: zeros[:mr], r: zeros[:], floor: float32(math.Inf(-1))}
	if mask&1 != 0 {
		e.bias = randSlice(r, mr)
	}
	if mask&2 != 0 {
		e.ldr = nr + 5
		e.r = randSlice(r, mr*e.ldr)
	}
	if mask&4 != 0 {
		e.floor = 0
	}
	return e
}

// TestGemmEdgeKernels checks the edge-tile kernels (gemmKernel.rows and
// half) bit for bit against the full kernel of their level on the same
// panels: the first rows×cols of the tile equal, nothing else written; the
// epilogue variants with bias, residual and ReLU, beta 0 and 1.
func TestGemmEdgeKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for l := Generic; l <= AVX512; l++ {
		kern := gemmKernels[l]
		if kern.fn == nil || !Supported(l) {
			continue
		}
		mr, nr := kern.mr, kern.nr
		type variant struct {
			rows, cols int
			fn         func(k int, a, b, c *float32, ldc int, alpha, beta float32)
			ep         func(k int, a, b, c *float32, ldc int, alpha, beta float32, bias, r *float32, ldr int, floor float32)
		}
		var vs []variant
		for rows, ek := range kern.rows {
			if ek.fn != nil {
				vs = append(vs, variant{rows, nr, ek.fn, ek.ep})
			}
		}
		if kern.half != nil {
			vs = append(vs, variant{mr, nr / 2, kern.half, nil})
		}
		for _, v := range vs {
			for _, k := range []int{0, 1, 3, 4, 5, 64, 257} {
				for _, beta := range []float32{0, 1} {
					for mask := range 8 {
						if v.ep == nil && mask != 0 {
							continue
						}
						ldc := nr + 3
						a, b := randSlice(r, mr*k+1), randSlice(r, nr*k+1)
						e := randKernelEp(r, mr, nr, mask)
						const pad = 7
						c0 := padded(r, mr*ldc, pad)
						full := append([]float32(nil), c0...)
						got := append([]float32(nil), c0...)
						if v.ep != nil {
							kern.ep(k, &a[0], &b[0], &full[pad], ldc, 1, beta, &e.bias[0], &e.r[0], e.ldr, e.floor)
							v.ep(k, &a[0], &b[0], &got[pad], ldc, 1, beta, &e.bias[0], &e.r[0], e.ldr, e.floor)
						} else {
							kern.fn(k, &a[0], &b[0], &full[pad], ldc, 1, beta)
							v.fn(k, &a[0], &b[0], &got[pad], ldc, 1, beta)
						}
						for i := range got {
							want := c0[i]
							if row, col := (i-pad)/ldc, (i-pad)%ldc; i >= pad && row < v.rows && col < v.cols {
								want = full[i]
							}
							if math.Float32bits(got[i]) != math.Float32bits(want) {
								t.Fatalf("%s %dx%d k=%d beta=%v mask=%d: element %d: got %v, want %v", kern.name, v.rows, v.cols, k, beta, mask, i-pad, got[i], want)
							}
						}
					}
				}
			}
		}
	}
}

// TestSgemmPackedEpilogue checks the fused epilogue against SgemmPacked
// followed by the epilogue in plain Go, at every level, over shapes with
// edge tiles, several depth blocks and both ways of splitting the work.
// randEpilogue returns an epilogue for an m×n product with a ReLU (mask
// bit 4), random bias (bit 1) and a random residual of leading dimension
// n+1 (bit 2).
func randEpilogue(r *rand.Rand, m, n, mask int) *Epilogue {
	ep := &Epilogue{ReLU: mask&4 != 0}
	if mask&1 != 0 {
		ep.Bias = randSlice(r, m)
	}
	if mask&2 != 0 {
		ep.R, ep.LDR = randSlice(r, m*(n+1)), n+1
	}
	return ep
}

func TestSgemmPackedEpilogue(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	cases := []struct{ m, n, k, threads int }{
		{1, 1, 1, 1}, {15, 33, 17, 2}, {29, 300, 1030, 2}, {130, 97, 64, 2}, {3, 2000, 20, 2}, {8, 5, 0, 1},
	}
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, c := range cases {
			for mask := range 8 {
				a, b := randSlice(r, c.m*c.k), randSlice(r, c.k*c.n)
				ldc := c.n + 2
				ep := randEpilogue(r, c.m, c.n, mask)
				prev := SetThreads(c.threads)
				pa := PackA(false, c.m, c.k, a, max(1, c.k))
				want := make([]float32, c.m*ldc)
				got := make([]float32, c.m*ldc)
				SgemmPacked(pa, false, c.n, 1, b, max(1, c.n), 0, want, ldc)
				if ep.active() {
					ep.apply(want, ldc, 0, c.m, 0, c.n)
				}
				SgemmPackedEpilogue(pa, false, c.n, b, max(1, c.n), got, ldc, ep)
				SetThreads(prev)
				for i := range got {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-6*(1+math.Abs(float64(want[i]))) {
						tb.Fatalf("%s %+v mask=%d: C[%d] = %v fused, %v unfused", l, c, mask, i, got[i], want[i])
					}
				}
			}
		}
	})
}

// SgemmPackedEpilogueCols gives SgemmPackedEpilogue's results bit for bit,
// whatever the block width and the number of workers, and hands fill every
// column exactly once.
// TestSgemmPackedBatch checks each product of a batch bit for bit against
// SgemmPackedEpilogue, with fewer products than workers (run one after
// another, each shared) and more (each on one worker).
func TestSgemmPackedBatch(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, c := range []struct{ count, m, n, k, threads int }{
			{1, 30, 70, 40, 2}, {3, 29, 300, 130, 2}, {16, 15, 33, 17, 2}, {2, 130, 97, 64, 1},
		} {
			prev := SetThreads(c.threads)
			ldb, ldc := c.n+1, c.n+3
			as := make([]*PackedA, c.count)
			bs, got, want := make([][]float32, c.count), make([][]float32, c.count), make([][]float32, c.count)
			for i := range as {
				as[i] = PackA(false, c.m, c.k, randSlice(r, c.m*c.k), c.k)
				bs[i] = randSlice(r, c.k*ldb)
				got[i], want[i] = make([]float32, c.m*ldc), make([]float32, c.m*ldc)
				SgemmPackedEpilogue(as[i], false, c.n, bs[i], ldb, want[i], ldc, nil)
			}
			SgemmPackedBatch(as, c.n, bs, ldb, got, ldc)
			SetThreads(prev)
			for i := range got {
				for j := range got[i] {
					if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
						tb.Fatalf("%s %+v: C%d[%d] = %v, want %v", l, c, i, j, got[i][j], want[i][j])
					}
				}
			}
		}
	})
	a := []*PackedA{PackA(false, 2, 3, make([]float32, 6), 3), PackA(false, 3, 3, make([]float32, 9), 3)}
	b, cc := [][]float32{make([]float32, 12), make([]float32, 12)}, [][]float32{make([]float32, 12), make([]float32, 12)}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("SgemmPackedBatch with A of two shapes did not panic")
			}
		}()
		SgemmPackedBatch(a, 4, b, 4, cc, 4)
	}()
}

func TestSgemmPackedEpilogueCols(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	cases := []struct{ m, n, k, cols, threads int }{
		{1, 1, 1, 0, 1}, {15, 33, 17, 5, 2}, {29, 300, 1030, 0, 2}, {29, 300, 1030, 64, 1},
		{64, 3136, 576, 0, 2}, {512, 196, 600, 0, 2}, {130, 97, 64, 7, 3}, {40, 97, 64, 97, 2}, {3, 2000, 20, 0, 2}, {8, 5, 0, 2, 2}, {4, 0, 3, 0, 2},
	}
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, c := range cases {
			for _, mask := range []int{0, 7} {
				a, b := randSlice(r, c.m*c.k), randSlice(r, c.k*c.n)
				ldc := c.n + 2
				ep := randEpilogue(r, c.m, c.n, mask)
				prev := SetThreads(c.threads)
				pa := PackA(false, c.m, c.k, a, max(1, c.k))
				want := make([]float32, c.m*ldc)
				got := make([]float32, c.m*ldc)
				SgemmPackedEpilogue(pa, false, c.n, b, max(1, c.n), want, ldc, ep)
				filled := make([]atomic.Int32, c.n)
				SgemmPackedEpilogueCols(pa, c.n, c.cols, func(dst []float32, ld, j0, j1 int) {
					if ld < j1-j0 || len(dst) < (c.k-1)*ld+j1-j0 {
						tb.Errorf("%+v: fill(%d, %d) got %d floats with ld %d", c, j0, j1, len(dst), ld)
					}
					for i := range c.k {
						copy(dst[i*ld:][:j1-j0], b[i*c.n+j0:i*c.n+j1])
					}
					for j := j0; j < j1; j++ {
						filled[j].Add(1)
					}
				}, got, ldc, ep)
				SetThreads(prev)
				for j := range filled {
					if f := filled[j].Load(); f != 1 {
						tb.Fatalf("%s %+v: column %d filled %d times", l, c, j, f)
					}
				}
				for i := range got {
					if got[i] != want[i] && !(got[i] != got[i] && want[i] != want[i]) {
						tb.Fatalf("%s %+v mask=%d: C[%d] = %v in column blocks, %v whole", l, c, mask, i, got[i], want[i])
					}
				}
			}
		}
	})
}

func TestColBlock(t *testing.T) {
	for _, c := range []struct{ nr, k, n, threads int }{
		{32, 576, 3136, 2}, {32, 2304, 196, 2}, {32, 4608, 196, 1}, {16, 27, 100, 2}, {8, 1, 1, 2}, {32, 147, 12544, 3},
	} {
		cols := colBlock(c.nr, c.k, c.n, c.threads)
		blocks := ceilDiv(c.n, cols)
		switch {
		case cols < 1:
			t.Errorf("%+v: block width %d", c, cols)
		case cols%c.nr != 0:
			t.Errorf("%+v: block width %d is not a multiple of %d", c, cols, c.nr)
		case cols > max(4*c.nr, colBudget/c.k):
			t.Errorf("%+v: block width %d over the budget (%d floats of B)", c, cols, cols*c.k)
		case blocks >= 4*c.threads && imbalance(blocks, c.threads) > 1.1:
			t.Errorf("%+v: %d blocks do not share out evenly over %d workers", c, blocks, c.threads)
		}
	}
}

// SgemmPackedEpilogueRows gives SgemmPackedEpilogue's results on the
// gathered B bit for bit, with overlapping rows, on both of its paths (A
// within and beyond sharedABudget).
func TestSgemmPackedEpilogueRows(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	cases := []struct{ m, n, k, threads int }{
		{1, 1, 1, 1}, {15, 33, 17, 2}, {64, 3248, 576, 2}, {29, 300, 103, 3}, {600, 224, 500, 2}, {8, 5, 0, 2},
	}
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, c := range cases {
			// Rows at arbitrary, overlapping offsets into one short slice.
			b := randSlice(r, c.n+3*c.k+7)
			rows := make([]int, c.k)
			dense := make([]float32, c.k*c.n)
			for i := range rows {
				rows[i] = r.IntN(len(b) - c.n + 1)
				copy(dense[i*c.n:], b[rows[i]:rows[i]+c.n])
			}
			a := randSlice(r, c.m*c.k)
			ldc := c.n + 1
			ep := &Epilogue{Bias: randSlice(r, c.m), ReLU: true, R: randSlice(r, c.m*c.n), LDR: c.n}
			prev := SetThreads(c.threads)
			pa := PackA(false, c.m, c.k, a, max(1, c.k))
			want := make([]float32, c.m*ldc)
			got := make([]float32, c.m*ldc)
			SgemmPackedEpilogue(pa, false, c.n, dense, max(1, c.n), want, ldc, ep)
			var covered atomic.Int64
			SgemmPackedEpilogueRows(pa, c.n, b, rows, ep, func(blk []float32, ld, i0, i1, j0, j1 int) {
				covered.Add(int64((i1 - i0) * (j1 - j0)))
				for i := i0; i < i1; i++ {
					copy(got[i*ldc+j0:i*ldc+j1], blk[(i-i0)*ld:(i-i0)*ld+j1-j0])
				}
			})
			if int(covered.Load()) != c.m*c.n && c.m*c.n > 0 {
				tb.Fatalf("%s %+v: emitted %d elements of %d", l, c, covered.Load(), c.m*c.n)
			}
			SetThreads(prev)
			for i := range got {
				if got[i] != want[i] {
					tb.Fatalf("%s %+v: C[%d] = %v from rows, %v from B", l, c, i, got[i], want[i])
				}
			}
		}
	})
}
