package tensor_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/reconpatch/rp/tensor"
)

// The tests compare against references written independently of the package:
// dense float64 arrays in row-major order with explicit index arithmetic.
// Inputs are read into references with At, which TestAtMatchesStrides and
// the view tests check against the raw data and explicit formulas.

// dense is a reference array: v holds the elements in row-major order.
type dense struct {
	shape []int
	v     []float64
}

func product(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

// unravelIndex returns the index of row-major position pos in shape.
func unravelIndex(shape []int, pos int) []int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		idx[d] = pos % shape[d]
		pos /= shape[d]
	}
	return idx
}

// ravelIndex returns the row-major position of idx in shape.
func ravelIndex(shape, idx []int) int {
	pos := 0
	for d, i := range idx {
		pos = pos*shape[d] + i
	}
	return pos
}

// toDense reads t element by element with At.
func toDense(t *tensor.Tensor) dense {
	shape := append([]int{}, t.Shape()...)
	d := dense{shape: shape, v: make([]float64, product(shape))}
	for pos := range d.v {
		d.v[pos] = float64(t.At(unravelIndex(shape, pos)...))
	}
	return d
}

// layout makes a tensor with a given logical shape and a particular memory
// layout, filled with values from rng.
type layout struct {
	name string
	make func(rng *rand.Rand, lo, hi float32, shape []int) *tensor.Tensor
}

func reversed(s []int) []int {
	r := make([]int, len(s))
	for i, v := range s {
		r[len(s)-1-i] = v
	}
	return r
}

var layouts = []layout{
	{"contiguous", func(rng *rand.Rand, lo, hi float32, shape []int) *tensor.Tensor {
		return tensor.RandUniform(rng, lo, hi, shape...)
	}},
	{"permuted", func(rng *rand.Rand, lo, hi float32, shape []int) *tensor.Tensor {
		// Stored with the dimensions reversed, then permuted back.
		n := len(shape)
		axes := make([]int, n)
		for i := range axes {
			axes[i] = n - 1 - i
		}
		return tensor.RandUniform(rng, lo, hi, reversed(shape)...).Permute(axes...)
	}},
	{"sliced", func(rng *rand.Rand, lo, hi float32, shape []int) *tensor.Tensor {
		// Every other element of a window with an offset.
		if len(shape) == 0 {
			return tensor.RandUniform(rng, lo, hi, 3).Select(0, 1)
		}
		big := append(append([]int{}, shape...), 2)
		big[0] += 2
		return tensor.RandUniform(rng, lo, hi, big...).Select(-1, 1).Narrow(0, 1, shape[0])
	}},
	{"expanded", func(rng *rand.Rand, lo, hi float32, shape []int) *tensor.Tensor {
		// The first dimension longer than 1 is a broadcast (stride 0).
		base := append([]int{}, shape...)
		for d, s := range base {
			if s > 1 {
				base[d] = 1
				break
			}
		}
		return tensor.RandUniform(rng, lo, hi, base...).Expand(shape...)
	}},
}

// mustPanic runs f and checks that it panics with a message containing every
// one of want.
func mustPanic(t *testing.T, f func(), want ...string) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("no panic; want one mentioning %q", want)
			return
		}
		msg := fmt.Sprint(r)
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("panic %q does not mention %q", msg, w)
			}
		}
	}()
	f()
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkExact checks that got has want's shape and that each element equals
// the float32 rounding of the reference value, bit for bit (NaN matching NaN).
func checkExact(t *testing.T, got *tensor.Tensor, want dense) {
	t.Helper()
	if !sameShape(got.Shape(), want.shape) {
		t.Fatalf("shape %v, want %v", got.Shape(), want.shape)
	}
	g := toDense(got)
	for pos, w := range want.v {
		gv, wv := float32(g.v[pos]), float32(w)
		if gv != wv && !(gv != gv && wv != wv) {
			t.Fatalf("at %v: got %v, want %v", unravelIndex(want.shape, pos), gv, wv)
		}
	}
}

// checkClose checks got against want within |got-want| ≤ tol·scale[pos] (or
// tol if scale is nil).
func checkClose(t *testing.T, got *tensor.Tensor, want dense, tol float64, scale []float64) {
	t.Helper()
	if !sameShape(got.Shape(), want.shape) {
		t.Fatalf("shape %v, want %v", got.Shape(), want.shape)
	}
	g := toDense(got)
	for pos, w := range want.v {
		bound := tol
		if scale != nil {
			bound = tol * max(scale[pos], 1e-30)
		}
		if d := math.Abs(g.v[pos] - w); !(d <= bound) {
			t.Fatalf("at %v: got %v, want %v (|diff| %g > %g)", unravelIndex(want.shape, pos), g.v[pos], w, d, bound)
		}
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }
