package order

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSelectKth(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 7, 100, 1001} {
		for _, ties := range []bool{false, true} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(r.NormFloat64())
				if ties {
					x[i] = float32(r.IntN(4))
				}
			}
			sorted := slices.Clone(x)
			slices.Sort(sorted)
			for _, k := range []int{0, n / 2, n - 1} {
				y := slices.Clone(x)
				SelectKth(y, k)
				if y[k] != sorted[k] {
					t.Fatalf("n=%d ties=%v k=%d: got %v, want %v", n, ties, k, y[k], sorted[k])
				}
				for i := range y {
					if (i < k && y[i] > y[k]) || (i > k && y[i] < y[k]) {
						t.Fatalf("n=%d k=%d: y[%d]=%v on the wrong side of %v", n, k, i, y[i], y[k])
					}
				}
			}
		}
	}
}
