package tensor

import (
	"math"
	"slices"
)

// Equal reports whether a and b have the same shape and equal elements
// (NaN equals nothing), whatever their layouts.
func Equal(a, b *Tensor) bool { return AllClose(a, b, 0, 0) }

// AllClose reports whether a and b have the same shape and every pair of
// elements satisfies |a - b| ≤ atol + rtol·|b|, as NumPy's allclose does
// (without broadcasting). NaN is close to nothing.
func AllClose(a, b *Tensor, rtol, atol float64) bool {
	if !slices.Equal(a.shape, b.shape) {
		return false
	}
	ok := true
	w := newRowWalker(a.shape, a.strides, b.strides)
	w.walk([]int{a.offset, b.offset}, func(offs, steps []int, n int) {
		if !ok {
			return
		}
		for i := range n {
			x := float64(a.data[offs[0]+i*steps[0]])
			y := float64(b.data[offs[1]+i*steps[1]])
			if !(x == y || math.Abs(x-y) <= atol+rtol*math.Abs(y)) {
				ok = false
				return
			}
		}
	})
	return ok
}
