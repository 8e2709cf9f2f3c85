package simd_test

import (
	"fmt"

	"github.com/reconpatch/rp/simd"
)

// C = A·B for a 2×3 A and a 3×2 B, row-major.
func ExampleSgemm() {
	a := []float32{
		1, 2, 3,
		4, 5, 6,
	}
	b := []float32{
		1, 0,
		0, 1,
		1, 1,
	}
	c := make([]float32, 2*2)
	simd.Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
	fmt.Println(c)
	// Output: [4 5 10 11]
}

// A weight matrix packed once serves many products, as a convolution's
// weights serve every image.
func ExampleSgemmPacked() {
	w := []float32{
		1, 2,
		3, 4,
	}
	packed := simd.PackA(false, 2, 2, w, 2)
	for _, x := range [][]float32{{1, 0, 0, 1}, {2, 2, 2, 2}} {
		y := make([]float32, 4)
		simd.SgemmPacked(packed, false, 2, 1, x, 2, 0, y, 2)
		fmt.Println(y)
	}
	// Output:
	// [1 2 3 4]
	// [6 6 14 14]
}

// The nearest row of b for each row of a, by squared Euclidean distance.
func ExampleNearestRows() {
	a := []float32{0, 0, 5, 5}       // two 2-d queries
	b := []float32{1, 1, 4, 6, 9, 9} // three 2-d points
	idx := make([]int, 2)
	dist := make([]float32, 2)
	simd.NearestRows(a, 2, 2, b, 3, 2, 2, idx, dist)
	fmt.Println(idx, dist)
	// Output: [0 1] [2 2]
}

// A 1-D convolution with a 3-tap kernel as one product: row t of the
// unfolded input is the signal read from offset t, so B's rows are views of
// the signal and nothing is unfolded. The result arrives in blocks.
func ExampleSgemmPackedEpilogueRows() {
	x := []float32{1, 2, 3, 4, 5, 6}
	kernel := simd.PackA(false, 1, 3, []float32{1, 0, -1}, 3) // y[j] = x[j] − x[j+2]
	y := make([]float32, 4)
	simd.SgemmPackedEpilogueRows(kernel, 4, x, []int{0, 1, 2}, nil, func(c []float32, ldc, i0, i1, j0, j1 int) {
		copy(y[j0:j1], c[:j1-j0])
	})
	fmt.Println(y)
	// Output: [-2 -2 -2 -2]
}

// The same convolution with the unfolded input produced a block of columns
// at a time by a fill function (an im2col that never holds all of B).
func ExampleSgemmPackedEpilogueCols() {
	x := []float32{1, 2, 3, 4, 5, 6}
	kernel := simd.PackA(false, 1, 3, []float32{1, 0, -1}, 3)
	y := make([]float32, 4)
	fill := func(dst []float32, ld, j0, j1 int) {
		for t := range 3 {
			copy(dst[t*ld:t*ld+j1-j0], x[j0+t:j1+t])
		}
	}
	simd.SgemmPackedEpilogueCols(kernel, 4, 0, fill, y, 4, &simd.Epilogue{Bias: []float32{10}})
	fmt.Println(y)
	// Output: [8 8 8 8]
}
