package simd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// forEachLevel runs f once per dispatch level supported here, with the level
// set, and restores the level afterwards.
func forEachLevel(t testing.TB, f func(t testing.TB, l Level)) {
	t.Helper()
	for _, l := range Levels() {
		prev, err := SetLevel(l)
		if err != nil {
			t.Fatal(err)
		}
		f(t, l)
		SetLevel(prev)
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.Float64()*2 - 1)
	}
	return s
}

const guard = float32(-12345.5)

// padded returns a slice of n elements with pad guard values on each side;
// the caller works on s[pad:pad+n].
func padded(r *rand.Rand, n, pad int) []float32 {
	s := randSlice(r, n+2*pad)
	for i := 0; i < pad; i++ {
		s[i], s[len(s)-1-i] = guard, guard
	}
	return s
}

// refGemm is C = alpha·op(A)·op(B) + beta·C in float64; it also returns, per
// element, Σ|a||b| for the error bound.
func refGemm(transA, transB bool, m, n, k int, alpha float64, a []float32, lda int, b []float32, ldb int, beta float64, c []float32, ldc int) (want, mag []float64) {
	want = make([]float64, m*n)
	mag = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			for p := 0; p < k; p++ {
				ia, ib := i*lda+p, p*ldb+j
				if transA {
					ia = p*lda + i
				}
				if transB {
					ib = j*ldb + p
				}
				av, bv := a[ia], b[ib]
				s += float64(av) * float64(bv)
				sa += math.Abs(float64(av) * float64(bv))
			}
			w, wm := alpha*s, math.Abs(alpha)*sa
			if beta != 0 {
				w += beta * float64(c[i*ldc+j])
				wm += math.Abs(beta * float64(c[i*ldc+j]))
			}
			want[i*n+j], mag[i*n+j] = w, wm
		}
	}
	return want, mag
}

func TestSgemm(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := []int{1, 2, 3, 5, 6, 7, 13, 14, 15, 16, 17, 31, 32, 33, 61}
	ks := []int{1, 2, 3, 4, 5, 17, 255, 256, 257, 513}
	type cfg struct{ m, n, k int }
	var cfgs []cfg
	for _, m := range sizes {
		cfgs = append(cfgs, cfg{m, sizes[r.IntN(len(sizes))], ks[r.IntN(len(ks))]})
	}
	for _, k := range ks {
		cfgs = append(cfgs, cfg{sizes[r.IntN(len(sizes))], sizes[r.IntN(len(sizes))], k})
	}
	// Blocks larger than one cache block in every dimension, and awkward sizes
	// around the kernels' MC and NC blocks.
	// These run with one random combination of transposes and alpha/beta
	// each, to keep the float64 reference affordable.
	big := []cfg{{337, 2049, 300}, {700, 97, 600}, {29, 1100, 70}, {1, 4099, 3}, {130, 70, 1025}}
	trans := [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}}
	alphaBeta := [][2]float32{{1, 0}, {-0.5, 1.5}, {2, -1}}
	forEachLevel(t, func(tb testing.TB, l Level) {
		t := tb.(*testing.T)
		for _, c := range cfgs {
			for _, tr := range trans {
				for _, ab := range alphaBeta {
					checkSgemm(t, r, l, tr[0], tr[1], c.m, c.n, c.k, ab[0], ab[1])
				}
			}
		}
		if testing.Short() {
			return
		}
		for _, c := range big {
			tr, ab := trans[r.IntN(len(trans))], alphaBeta[r.IntN(len(alphaBeta))]
			checkSgemm(t, r, l, tr[0], tr[1], c.m, c.n, c.k, ab[0], ab[1])
		}
	})
}

func checkSgemm(t *testing.T, r *rand.Rand, l Level, transA, transB bool, m, n, k int, alpha, beta float32) {
	t.Helper()
	extra := r.IntN(3) // leading dimensions larger than the rows
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	lda, ldb, ldc := ac+extra, bc+extra, n+extra
	a := randSlice(r, ar*lda)
	b := randSlice(r, br*ldb)
	const pad = 37
	cs := padded(r, m*ldc, pad)
	c := cs[pad : pad+m*ldc]
	if beta == 0 {
		for i := range c {
			c[i] = float32(math.NaN()) // must not be read
		}
	}
	want, mag := refGemm(transA, transB, m, n, k, float64(alpha), a, lda, b, ldb, float64(beta), c, ldc)
	orig := append([]float32(nil), c...)
	Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	for i := 0; i < pad; i++ {
		if cs[i] != guard || cs[len(cs)-1-i] != guard {
			t.Fatalf("%s m=%d n=%d k=%d tA=%v tB=%v: write outside C", l, m, n, k, transA, transB)
		}
	}
	eps := float64(k+2) * 0x1p-23
	for i := 0; i < m; i++ {
		for j := 0; j < ldc; j++ {
			got := c[i*ldc+j]
			if j >= n {
				if got != orig[i*ldc+j] && !(math.IsNaN(float64(got)) && math.IsNaN(float64(orig[i*ldc+j]))) {
					t.Fatalf("%s m=%d n=%d k=%d: C[%d,%d] beyond n changed", l, m, n, k, i, j)
				}
				continue
			}
			w, bound := want[i*n+j], eps*mag[i*n+j]+1e-30
			if d := math.Abs(float64(got) - w); !(d <= bound) {
				t.Fatalf("%s m=%d n=%d k=%d tA=%v tB=%v α=%v β=%v: C[%d,%d] = %v, want %v (error %.3g > bound %.3g)",
					l, m, n, k, transA, transB, alpha, beta, i, j, got, w, d, bound)
			}
		}
	}
}

// TestGemmKernels checks every micro-kernel, full tile, against the plain-Go
// reference kernel of the same tile size, for beta zero and not.
func TestGemmKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for l := Generic; l <= AVX512; l++ {
		kern := gemmKernels[l]
		if kern.fn == nil || !Supported(l) {
			continue
		}
		for _, k := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 64, 255, 256} {
			for _, beta := range []float32{0, 1, -0.75} {
				t.Run(fmt.Sprintf("%s/k=%d/beta=%v", kern.name, k, beta), func(t *testing.T) {
					mr, nr := kern.mr, kern.nr
					ldc := nr + 3
					a, b := randSlice(r, mr*k+1), randSlice(r, nr*k+1)
					const pad = 19
					cs := padded(r, mr*ldc, pad)
					want := append([]float32(nil), cs...)
					gemmKernelGo(mr, nr, k, a, b, want[pad:], ldc, 1.25, beta)
					kern.fn(k, &a[0], &b[0], &cs[pad], ldc, 1.25, beta)
					for i := range cs {
						d := math.Abs(float64(cs[i] - want[i]))
						if d > 1e-5*float64(k+1) {
							t.Fatalf("element %d (row %d col %d): got %v, want %v", i-pad, (i-pad)/ldc, (i-pad)%ldc, cs[i], want[i])
						}
					}
				})
			}
		}
	}
}

func TestSgemmThreads(t *testing.T) {
	// The same product on 1, 2 and 3 workers gives the same bits: the
	// partition never changes the order of a sum.
	r := rand.New(rand.NewPCG(5, 6))
	m, n, k := 301, 517, 700
	a, b := randSlice(r, m*k), randSlice(r, k*n)
	var ref []float32
	for _, th := range []int{1, 2, 3} {
		prev := SetThreads(th)
		c := make([]float32, m*n)
		Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		SetThreads(prev)
		if ref == nil {
			ref = c
			continue
		}
		for i := range c {
			if c[i] != ref[i] {
				t.Fatalf("threads=%d: C[%d] = %v, with 1 thread %v", th, i, c[i], ref[i])
			}
		}
	}
}

// TestSgemmThreadsColumns covers products split over columns (few rows, many
// columns) across several column and depth blocks, where workers must not
// repack panels another worker still reads.
func TestSgemmThreadsColumns(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct{ m, n, k int }{{3, 5000, 200}, {5, 9000, 1300}, {1, 4100, 517}} {
		a, b := randSlice(r, c.m*c.k), randSlice(r, c.n*c.k)
		want := make([]float32, c.m*c.n)
		prev := SetThreads(1)
		Sgemm(false, true, c.m, c.n, c.k, 1, a, c.k, b, c.k, 0, want, c.n)
		SetThreads(2)
		got := make([]float32, c.m*c.n)
		for run := 0; run < 30; run++ {
			Sgemm(false, true, c.m, c.n, c.k, 1, a, c.k, b, c.k, 0, got, c.n)
			for i := range got {
				if got[i] != want[i] {
					SetThreads(prev)
					t.Fatalf("m=%d n=%d k=%d run %d: C[%d] = %v on 2 threads, %v on 1", c.m, c.n, c.k, run, i, got[i], want[i])
				}
			}
		}
		SetThreads(prev)
	}
}

func TestSgemmPanics(t *testing.T) {
	cases := []struct {
		name string
		f    func()
	}{
		{"negative", func() { Sgemm(false, false, -1, 1, 1, 1, nil, 1, nil, 1, 0, nil, 1) }},
		{"short A", func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		}},
		{"small lda", func() {
			Sgemm(false, false, 2, 2, 3, 1, make([]float32, 6), 2, make([]float32, 6), 2, 0, make([]float32, 4), 2)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			c.f()
		})
	}
}

func BenchmarkSgemm(b *testing.B) {
	for _, l := range Levels() {
		for _, n := range []int{64, 256, 1024, 2048} {
			b.Run(fmt.Sprintf("%s/n=%d", l, n), func(b *testing.B) {
				prev, _ := SetLevel(l)
				defer SetLevel(prev)
				r := rand.New(rand.NewPCG(1, 1))
				x, y, z := randSlice(r, n*n), randSlice(r, n*n), make([]float32, n*n)
				b.ResetTimer()
				for range b.N {
					Sgemm(false, false, n, n, n, 1, x, n, y, n, 0, z, n)
				}
				b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
