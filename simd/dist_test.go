package simd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// refSqDist64 is ‖a_i − b_j‖² in float64 by definition (differences, not
// norms), and the scale ‖a_i‖² + ‖b_j‖² for error bounds.
func refSqDist64(a []float32, i, lda int, b []float32, j, ldb, d int) (dist, scale float64) {
	for p := 0; p < d; p++ {
		x, y := float64(a[i*lda+p]), float64(b[j*ldb+p])
		dist += (x - y) * (x - y)
		scale += x*x + y*y
	}
	return dist, scale
}

// sqDistBound is the error bound that SqDist documents, with slack.
func sqDistBound(d int, scale float64) float64 {
	return float64(2*d+4)*eps32*scale + 1e-30
}

func TestRowSqNorms(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, m := range []int{0, 1, 7, 8, 9, 17, 100} {
			for _, d := range []int{0, 1, 3, 16, 255, 256, 257, 513, 1000} {
				lda := max(1, d+r.IntN(3))
				a := randSlice(r, max(m*lda, 1))
				const pad = 5
				ds := padded(r, m, pad)
				dst := ds[pad : pad+m]
				RowSqNorms(dst, a, m, lda, d)
				checkGuards(tb, fmt.Sprintf("%s RowSqNorms m=%d d=%d", l, m, d), ds, pad, pad)
				for i := 0; i < m; i++ {
					var want float64
					for p := 0; p < d; p++ {
						want += float64(a[i*lda+p]) * float64(a[i*lda+p])
					}
					if e := math.Abs(float64(dst[i]) - want); e > float64(d+1)*eps32*want {
						tb.Fatalf("%s m=%d d=%d: norm %d = %v, want %v", l, m, d, i, dst[i], want)
					}
				}
				// Integers: exact.
				ai := intSlice(r, max(m*lda, 1), 30)
				RowSqNorms(dst, ai, m, lda, d)
				for i := 0; i < m; i++ {
					var want int64
					for p := 0; p < d; p++ {
						v := int64(ai[i*lda+p])
						want += v * v
					}
					if dst[i] != float32(want) {
						tb.Fatalf("%s m=%d d=%d: integer norm %d = %v, want %d", l, m, d, i, dst[i], want)
					}
				}
			}
		}
	})
}

type distCase struct{ m, n, d int }

// distCases are awkward sizes: tails of both vector widths, one past the
// SGEMM tiles and blocks, NearestRows' blocks of 256 rows and 2048 columns,
// and depths on both sides of the SGEMM's k block of 256.
func distCases() []distCase {
	return []distCase{
		{1, 1, 1}, {3, 4, 0}, {2, 3, 1}, {3, 2, 2}, {1, 17, 3}, {15, 16, 17}, {16, 15, 16},
		{17, 33, 33}, {33, 17, 15}, {2, 2049, 3}, {3, 2049, 17}, {257, 3, 2},
		{257, 33, 257}, {17, 257, 300}, {40, 70, 513}, {300, 2100, 5}, {5, 4500, 40},
	}
}

func TestSqDist(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, c := range distCases() {
			m, n, d := c.m, c.n, c.d
			lda, ldb, ldd := max(1, d+r.IntN(3)), max(1, d+r.IntN(3)), n+1+r.IntN(3)
			a, b := randSlice(r, m*lda), randSlice(r, n*ldb)
			// Some rows of b are rows of a, bit for bit.
			for k := 0; k < min(m, n, 3); k++ {
				i, j := r.IntN(m), r.IntN(n)
				copy(b[j*ldb:j*ldb+d], a[i*lda:i*lda+d])
			}
			const pad = 23
			ds := padded(r, m*ldd, pad)
			dst := ds[pad : pad+m*ldd]
			for i := 0; i < m; i++ {
				for j := 0; j < ldd; j++ {
					if j < n {
						dst[i*ldd+j] = float32(math.NaN()) // written, never read
					} else {
						dst[i*ldd+j] = guard
					}
				}
			}
			SqDist(dst, ldd, a, m, lda, b, n, ldb, d)
			checkGuards(tb, fmt.Sprintf("%s SqDist %v", l, c), ds, pad, pad)
			for i := 0; i < m; i++ {
				for j := 0; j < ldd; j++ {
					got := dst[i*ldd+j]
					if j >= n {
						if got != guard {
							tb.Fatalf("%s %v: dst[%d,%d] beyond n = %v", l, c, i, j, got)
						}
						continue
					}
					want, scale := refSqDist64(a, i, lda, b, j, ldb, d)
					if want == 0 && got != 0 {
						tb.Fatalf("%s %v: identical rows a_%d, b_%d at distance %v, want exactly 0", l, c, i, j, got)
					}
					if e := math.Abs(float64(got) - want); !(got >= 0 && e <= sqDistBound(d, scale)) {
						tb.Fatalf("%s %v: dst[%d,%d] = %v, want %v (error %.3g > %.3g)", l, c, i, j, got, want, e, sqDistBound(d, scale))
					}
				}
			}
		}
	})
}

// TestSqDistSelf checks that the diagonal of SqDist(a, a) is exactly 0 for
// random data of any depth: the norms must match the SGEMM's arithmetic.
func TestSqDistSelf(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 36))
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, d := range []int{1, 2, 3, 15, 16, 17, 100, 255, 256, 257, 300, 511, 512, 513, 1000, 1537} {
			m := 1 + r.IntN(20)
			a := randSlice(r, m*d)
			for i := range a {
				a[i] *= float32(1 + 1000*r.Float64()) // mixed magnitudes
			}
			dst := make([]float32, m*m)
			SqDist(dst, m, a, m, d, a, m, d, d)
			for i := 0; i < m; i++ {
				if dst[i*m+i] != 0 {
					tb.Fatalf("%s d=%d: ‖a_%d − a_%d‖² = %v, want exactly 0", l, d, i, i, dst[i*m+i])
				}
			}
		}
	})
}

// refArgmin is ArgminRows' contract for one row, written independently:
// rank each value, NaN as +Inf, and take the lowest index of the least rank.
func refArgmin(row []float32) int {
	rank := func(v float32) float64 {
		if math.IsNaN(float64(v)) {
			return math.Inf(1)
		}
		return float64(v)
	}
	best := 0
	for j, v := range row {
		if rank(v) < rank(row[best]) {
			best = j
		}
	}
	return best
}

func TestArgminRows(t *testing.T) {
	r := rand.New(rand.NewPCG(37, 38))
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	type rowFn func(n int) []float32
	kinds := map[string]rowFn{
		"random": func(n int) []float32 { return randSlice(r, n) },
		"ties": func(n int) []float32 {
			row := intSlice(r, n, 3) // many equal values
			return row
		},
		"min late": func(n int) []float32 {
			row := randSlice(r, n)
			row[n-1] = -5
			return row
		},
		"NaNs": func(n int) []float32 {
			row := randSlice(r, n)
			for j := range row {
				if r.IntN(3) == 0 {
					row[j] = nan
				}
			}
			return row
		},
		"all NaN": func(n int) []float32 {
			row := make([]float32, n)
			for j := range row {
				row[j] = nan
			}
			return row
		},
		"Inf and NaN": func(n int) []float32 {
			row := make([]float32, n)
			for j := range row {
				row[j] = nan
				if r.IntN(2) == 0 {
					row[j] = inf
				}
			}
			return row
		},
		"all +Inf": func(n int) []float32 {
			row := make([]float32, n)
			for j := range row {
				row[j] = inf
			}
			return row
		},
		"-Inf twice": func(n int) []float32 {
			row := randSlice(r, n)
			row[r.IntN(n)] = float32(math.Inf(-1))
			row[n-1] = float32(math.Inf(-1))
			return row
		},
	}
	sizes := []int{1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 100, 2049}
	forEachLevel(t, func(tb testing.TB, l Level) {
		for name, kind := range kinds {
			for _, n := range sizes {
				m := 1 + r.IntN(4)
				ldd := n + r.IntN(3)
				dst := make([]float32, m*ldd)
				for i := 0; i < m; i++ {
					copy(dst[i*ldd:], kind(n))
				}
				orig := append([]float32(nil), dst...)
				idx, val := make([]int, m), make([]float32, m)
				ArgminRows(dst, m, n, ldd, idx, val)
				for i := range orig {
					if math.Float32bits(dst[i]) != math.Float32bits(orig[i]) {
						tb.Fatalf("%s %s n=%d: ArgminRows changed dst[%d]", l, name, n, i)
					}
				}
				for i := 0; i < m; i++ {
					row := dst[i*ldd : i*ldd+n]
					want := refArgmin(row)
					if idx[i] != want || math.Float32bits(val[i]) != math.Float32bits(row[want]) {
						tb.Fatalf("%s %s n=%d row %d: got (%d, %v), want (%d, %v)", l, name, n, i, idx[i], val[i], want, row[want])
					}
				}
			}
		}
	})
}

func TestNearestRows(t *testing.T) {
	r := rand.New(rand.NewPCG(39, 40))
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, c := range distCases() {
			m, n, d := c.m, c.n, c.d
			lda, ldb := max(1, d+r.IntN(3)), max(1, d+r.IntN(3))
			a, b := randSlice(r, m*lda), randSlice(r, n*ldb)
			// Row i0 of a appears twice in b, bit for bit: the first copy
			// must win at distance exactly 0.
			i0, j1, j2 := r.IntN(m), r.IntN(n), r.IntN(n)
			j1, j2 = min(j1, j2), max(j1, j2)
			copy(b[j1*ldb:j1*ldb+d], a[i0*lda:i0*lda+d])
			copy(b[j2*ldb:j2*ldb+d], a[i0*lda:i0*lda+d])
			const pad = 7
			ds := padded(r, m, pad)
			idxs := make([]int, m+2*pad)
			for k := range idxs {
				idxs[k] = -7
			}
			dist, idx := ds[pad:pad+m], idxs[pad:pad+m]
			NearestRows(a, m, lda, b, n, ldb, d, idx, dist)
			checkGuards(tb, fmt.Sprintf("%s NearestRows %v dist", l, c), ds, pad, pad)
			for k := 0; k < pad; k++ {
				if idxs[k] != -7 || idxs[len(idxs)-1-k] != -7 {
					tb.Fatalf("%s %v: NearestRows wrote outside idx", l, c)
				}
			}
			if d == 0 {
				j1 = 0 // every row of b is at distance 0
			}
			if idx[i0] != j1 || dist[i0] != 0 {
				tb.Fatalf("%s %v: row %d copied to b_%d and b_%d: got (%d, %v), want (%d, 0)", l, c, i0, j1, j2, idx[i0], dist[i0], j1)
			}
			// Against brute force in float64: the distance is within the
			// bound of the true least distance, and the chosen row is
			// within twice the bound of being the nearest.
			for i := 0; i < m; i++ {
				best, bestScale := math.Inf(1), 0.0
				for j := 0; j < n; j++ {
					if dd, s := refSqDist64(a, i, lda, b, j, ldb, d); dd < best {
						best, bestScale = dd, s
					}
				}
				gotD, gotScale := refSqDist64(a, i, lda, b, idx[i], ldb, d)
				bound := sqDistBound(d, max(bestScale, gotScale))
				if math.Abs(float64(dist[i])-best) > bound || gotD-best > 2*bound {
					tb.Fatalf("%s %v row %d: got b_%d at %v (true %v), nearest is at %v (bound %.3g)", l, c, i, idx[i], dist[i], gotD, best, bound)
				}
			}
		}
	})
}

// TestNearestRowsIntegers uses small integers, whose distances are exact in
// float32, so the index is fully determined, ties included.
func TestNearestRowsIntegers(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, c := range distCases() {
			m, n, d := c.m, c.n, c.d
			ld := max(d, 1)
			a, b := intSlice(r, m*ld, 2), intSlice(r, n*ld, 2) // many ties
			idx, dist := make([]int, m), make([]float32, m)
			NearestRows(a, m, ld, b, n, ld, d, idx, dist)
			for i := 0; i < m; i++ {
				bestJ, best := -1, int64(0)
				for j := 0; j < n; j++ {
					var s int64
					for p := 0; p < d; p++ {
						e := int64(a[i*ld+p] - b[j*ld+p])
						s += e * e
					}
					if bestJ < 0 || s < best {
						bestJ, best = j, s
					}
				}
				if idx[i] != bestJ || dist[i] != float32(best) {
					tb.Fatalf("%s %v row %d: got (%d, %v), want (%d, %d)", l, c, i, idx[i], dist[i], bestJ, best)
				}
			}
		}
	})
}

// TestNearestRowsMatchesSqDist checks that NearestRows equals ArgminRows of
// SqDist bit for bit, for any number of workers.
func TestNearestRowsMatchesSqDist(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	cases := []distCase{{3, 5000, 200}, {600, 2500, 7}, {257, 2049, 64}, {1, 4097, 300}}
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, c := range cases {
			m, n, d := c.m, c.n, c.d
			a, b := randSlice(r, m*d), randSlice(r, n*d)
			sq := make([]float32, m*n)
			SqDist(sq, n, a, m, d, b, n, d, d)
			wantIdx, wantVal := make([]int, m), make([]float32, m)
			ArgminRows(sq, m, n, n, wantIdx, wantVal)
			for _, th := range []int{1, 2, 3, 8} {
				prev := SetThreads(th)
				idx, dist := make([]int, m), make([]float32, m)
				NearestRows(a, m, d, b, n, d, d, idx, dist)
				SetThreads(prev)
				for i := 0; i < m; i++ {
					if idx[i] != wantIdx[i] || math.Float32bits(dist[i]) != math.Float32bits(wantVal[i]) {
						tb.Fatalf("%s %v threads=%d row %d: NearestRows (%d, %v), ArgminRows∘SqDist (%d, %v)",
							l, c, th, i, idx[i], dist[i], wantIdx[i], wantVal[i])
					}
				}
			}
			// Only one output wanted.
			idx := make([]int, m)
			NearestRows(a, m, d, b, n, d, d, idx, nil)
			for i := range idx {
				if idx[i] != wantIdx[i] {
					tb.Fatalf("%s %v: with dist nil, idx[%d] = %d, want %d", l, c, i, idx[i], wantIdx[i])
				}
			}
			// A few rows at a time (thin blocks, dot-product chains instead
			// of the SGEMM) give the same bits as all rows at once.
			dist := make([]float32, m)
			for i0 := 0; i0 < m; i0 += 5 {
				i1 := min(i0+5, m)
				NearestRows(a[i0*d:], i1-i0, d, b, n, d, d, idx[i0:i1], dist[i0:i1])
			}
			for i := range idx {
				if idx[i] != wantIdx[i] || math.Float32bits(dist[i]) != math.Float32bits(wantVal[i]) {
					tb.Fatalf("%s %v: 5 rows at a time, row %d: (%d, %v), want (%d, %v)", l, c, i, idx[i], dist[i], wantIdx[i], wantVal[i])
				}
			}
		}
	})
}

// TestNearestRowsNaN: a NaN in a row of a makes every distance NaN, which
// ranks last, so the row gets index 0 and NaN; a NaN row of b is never
// nearer than a number.
func TestNearestRowsNaN(t *testing.T) {
	nan := float32(math.NaN())
	forEachLevel(t, func(tb testing.TB, l Level) {
		a := []float32{0, 0, nan, 1}       // rows (0,0), (NaN,1)
		b := []float32{nan, 0, 5, 5, 1, 1} // rows (NaN,0), (5,5), (1,1)
		idx, dist := make([]int, 2), make([]float32, 2)
		NearestRows(a, 2, 2, b, 3, 2, 2, idx, dist)
		if idx[0] != 2 || dist[0] != 2 || idx[1] != 0 || !math.IsNaN(float64(dist[1])) {
			tb.Errorf("%s: got %v %v, want [2 0] [2 NaN]", l, idx, dist)
		}
	})
}

func TestDistPanics(t *testing.T) {
	f := make([]float32, 100)
	cases := []struct {
		name, want string
		fn         func()
	}{
		{"SqDist negative", "negative", func() { SqDist(f, 1, f, -1, 1, f, 1, 1, 1) }},
		{"SqDist short a", "len(a)", func() { SqDist(f, 10, f[:5], 3, 2, f, 2, 2, 2) }},
		{"SqDist small ldd", "dst", func() { SqDist(f, 1, f, 2, 2, f, 2, 2, 2) }},
		{"RowSqNorms short dst", "len(dst)", func() { RowSqNorms(f[:1], f, 2, 2, 2) }},
		{"ArgminRows no columns", "no columns", func() { ArgminRows(f, 2, 0, 1, make([]int, 2), nil) }},
		{"ArgminRows short idx", "len(idx)", func() { ArgminRows(f, 3, 2, 2, make([]int, 2), nil) }},
		{"NearestRows empty b", "no rows of b", func() { NearestRows(f, 1, 1, nil, 0, 1, 1, nil, nil) }},
		{"NearestRows small lda", "row stride of a", func() { NearestRows(f, 2, 1, f, 2, 2, 2, nil, nil) }},
		{"NearestRows short dist", "len(dist)", func() { NearestRows(f, 2, 2, f, 2, 2, 2, nil, f[:1]) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, c.want) {
					t.Fatalf("panic %q, want it to contain %q", msg, c.want)
				}
			}()
			c.fn()
		})
	}
}

func BenchmarkSqDist(b *testing.B) {
	for _, c := range []distCase{{1024, 1024, 64}, {1024, 4096, 512}} {
		r := rand.New(rand.NewPCG(1, 1))
		x, y := randSlice(r, c.m*c.d), randSlice(r, c.n*c.d)
		dst := make([]float32, c.m*c.n)
		benchLevels(b, fmt.Sprintf("m=%d/n=%d/d=%d", c.m, c.n, c.d), func(b *testing.B) {
			for b.Loop() {
				SqDist(dst, c.n, x, c.m, c.d, y, c.n, c.d, c.d)
			}
			b.ReportMetric(2*float64(c.m)*float64(c.n)*float64(c.d)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkNearestRows(b *testing.B) {
	for _, c := range []distCase{{1, 16384, 512}, {1024, 4096, 128}, {4096, 16384, 512}} {
		r := rand.New(rand.NewPCG(1, 1))
		x, y := randSlice(r, c.m*c.d), randSlice(r, c.n*c.d)
		idx, dist := make([]int, c.m), make([]float32, c.m)
		benchLevels(b, fmt.Sprintf("m=%d/n=%d/d=%d", c.m, c.n, c.d), func(b *testing.B) {
			if CurrentLevel() == Generic && c.m*c.n*c.d > 1<<30 {
				b.Skip("generic level: too slow at this size")
			}
			for b.Loop() {
				NearestRows(x, c.m, c.d, y, c.n, c.d, c.d, idx, dist)
			}
			b.ReportMetric(2*float64(c.m)*float64(c.n)*float64(c.d)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestDistKernels checks the assembly helpers of the distance kernels
// against their pure-Go twins at every length up to 2·16+1 and beyond, with
// ties and NaNs.
func TestDistKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	nan := float32(math.NaN())
	for _, l := range Levels() {
		vk := vecFor(l)
		if vk == nil {
			continue
		}
		for _, n := range append(vecSizes()[1:], 904, 2048) {
			for trial := range 6 {
				x, y := intSlice(r, n, 4), intSlice(r, n, 4)
				if trial%2 == 1 {
					x, y = randSlice(r, n), randSlice(r, n)
				}
				if trial >= 4 {
					y[r.IntN(n)] = nan
				}
				c := float32(r.IntN(5) - 2)
				what := fmt.Sprintf("%s n=%d trial %d", l, n, trial)

				wv, wj := argminGo(y)
				if gv, gj := vk.argmin(&y[0], n); gj != wj || math.Float32bits(gv) != math.Float32bits(wv) {
					t.Fatalf("%s: argmin = (%v, %d), want (%v, %d)", what, gv, gj, wv, wj)
				}
				wv, wj = minAddClampGo(c, x, y)
				if gv, gj := vk.minAddClamp(c, &x[0], &y[0], n); gj != wj || gv != wv {
					t.Fatalf("%s: minAddClamp = (%v, %d), want (%v, %d)", what, gv, gj, wv, wj)
				}
				const pad = 9
				ys := padded(r, n, pad)
				copy(ys[pad:], y)
				want := append([]float32(nil), y...)
				addClampGo(c, x, want)
				vk.addClamp(c, &x[0], &ys[pad], n)
				checkGuards(t, what+" addClamp", ys, pad, pad)
				for j := range want {
					if math.Float32bits(ys[pad+j]) != math.Float32bits(want[j]) {
						t.Fatalf("%s: addClamp[%d] = %v, want %v", what, j, ys[pad+j], want[j])
					}
				}
			}
		}
	}
}

// TestChainsMatchSgemm checks that the dot-product chains that thin blocks
// use at the assembly levels give the SGEMM's results bit for bit, in both
// orientations and across its depth blocks: SqDist and NearestRows pick
// either path by shape and must not change their results with it.
func TestChainsMatchSgemm(t *testing.T) {
	r := rand.New(rand.NewPCG(47, 48))
	forEachLevel(t, func(tb testing.TB, l Level) {
		if chainsFor(l, 1).vk == nil {
			return // the generic level never mixes the two
		}
		kern := kernelFor(l)
		for _, d := range []int{1, 2, 5, 16, 17, 255, 256, 257, 300, 513, 1000} {
			for _, sh := range [][2]int{{3, 21}, {21, 3}, {9, 13}, {1, 1}, {8, 8}} {
				m, n := sh[0], sh[1]
				lda, ldb := d+r.IntN(2), d+r.IntN(2)
				a, b := randSlice(r, m*lda), randSlice(r, n*ldb)
				for i := range a {
					a[i] *= float32(1 + 100*r.Float64())
				}
				want, got := make([]float32, m*n), make([]float32, m*n)
				sgemm(kern, 1, false, true, m, n, d, -2, a, lda, b, ldb, 0, want, n)
				gramChains(chainsFor(l, d), got, n, a, m, lda, b, n, ldb, d)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						tb.Fatalf("%s d=%d %d×%d: element %d: chains %v, SGEMM %v", l, d, m, n, i, got[i], want[i])
					}
				}
			}
		}
	})
}
