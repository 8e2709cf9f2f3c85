package simd

import (
	"math/rand/v2"
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
