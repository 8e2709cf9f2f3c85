package tensor

import (
	"fmt"
	"math"
)

// The reductions along an axis return a tensor with that axis removed, or,
// with keepDim, kept with size 1 so that the result broadcasts against the
// input. Their order of evaluation is fixed: each result combines its
// elements in increasing index order along the axis, whatever t's strides, so
// the same values give the same bits. Sums accumulate in float64.
//
// Max and Min propagate NaN. ArgMax and ArgMin return the first index of the
// extreme (of the first NaN, if any), as float32 values, which are exact for
// axes of up to 2²⁴ elements.

// Sum returns the sums of t's elements along axis. Shape: t's shape without
// axis (with axis of size 1 if keepDim).
func Sum(t *Tensor, axis int, keepDim bool) *Tensor {
	acc, shape, _ := sumAxis("Sum", t, axis)
	out := New(shape...)
	for i, s := range acc {
		out.data[i] = float32(s)
	}
	return dropAxis(out, t.axis("Sum", axis), keepDim)
}

// Mean returns the means of t's elements along axis (NaN for an empty axis).
// Shape: t's shape without axis (with axis of size 1 if keepDim).
func Mean(t *Tensor, axis int, keepDim bool) *Tensor {
	acc, shape, n := sumAxis("Mean", t, axis)
	out := New(shape...)
	for i, s := range acc {
		out.data[i] = float32(s / float64(n))
	}
	return dropAxis(out, t.axis("Mean", axis), keepDim)
}

// Max returns the largest of t's elements along axis. It panics if the axis is
// empty. Shape: t's shape without axis (with axis of size 1 if keepDim).
func Max(t *Tensor, axis int, keepDim bool) *Tensor {
	return extremeAxis("Max", t, axis, keepDim, true)
}

// Min returns the smallest of t's elements along axis. It panics if the axis
// is empty. Shape: t's shape without axis (with axis of size 1 if keepDim).
func Min(t *Tensor, axis int, keepDim bool) *Tensor {
	return extremeAxis("Min", t, axis, keepDim, false)
}

// ArgMax returns the index along axis of the largest of t's elements. It
// panics if the axis is empty or longer than 2²⁴. Shape: t's shape without
// axis (with axis of size 1 if keepDim).
func ArgMax(t *Tensor, axis int, keepDim bool) *Tensor {
	return argExtremeAxis("ArgMax", t, axis, keepDim, true)
}

// ArgMin returns the index along axis of the smallest of t's elements. It
// panics if the axis is empty or longer than 2²⁴. Shape: t's shape without
// axis (with axis of size 1 if keepDim).
func ArgMin(t *Tensor, axis int, keepDim bool) *Tensor {
	return argExtremeAxis("ArgMin", t, axis, keepDim, false)
}

// SumAll returns the sum of all of t's elements, accumulated in float64 in
// row-major order.
func SumAll(t *Tensor) float32 { return float32(sumAll(t)) }

// MeanAll returns the mean of all of t's elements (NaN if there are none).
func MeanAll(t *Tensor) float32 { return float32(sumAll(t) / float64(t.Size())) }

// MaxAll returns the largest of t's elements, or NaN if any is NaN. It panics
// if t is empty.
func MaxAll(t *Tensor) float32 { return t.At(unravel(t.shape, argAll("MaxAll", t, true))...) }

// MinAll returns the smallest of t's elements, or NaN if any is NaN. It panics
// if t is empty.
func MinAll(t *Tensor) float32 { return t.At(unravel(t.shape, argAll("MinAll", t, false))...) }

// ArgMaxAll returns the row-major position of the first largest element of t
// (of the first NaN, if any). It panics if t is empty.
func ArgMaxAll(t *Tensor) int { return argAll("ArgMaxAll", t, true) }

// ArgMinAll returns the row-major position of the first smallest element of
// t (of the first NaN, if any). It panics if t is empty.
func ArgMinAll(t *Tensor) int { return argAll("ArgMinAll", t, false) }

// reducedShape returns t's shape with axis ax set to 1 and the strides of an
// accumulator with that shape laid over t's shape (stride 0 along ax).
func reducedShape(t *Tensor, ax int) (shape, accStrides []int) {
	shape = clone(t.shape)
	shape[ax] = 1
	accStrides = contiguousStrides(shape)
	accStrides[ax] = 0
	return shape, accStrides
}

func dropAxis(out *Tensor, ax int, keepDim bool) *Tensor {
	if keepDim {
		return out
	}
	return out.Squeeze(ax)
}

// sumAxis returns the float64 sums along axis, contiguous in the reduced
// shape (axis kept with size 1), and the length of the axis.
func sumAxis(name string, t *Tensor, axis int) (acc []float64, shape []int, n int) {
	ax := t.axis(name, axis)
	shape, accStrides := reducedShape(t, ax)
	acc = make([]float64, numel(shape))
	x := t.data
	w := newRowWalker(t.shape, accStrides, t.strides)
	w.walk([]int{0, t.offset}, func(offs, steps []int, n int) {
		a0, x0 := offs[0], offs[1]
		as, xs := steps[0], steps[1]
		if as == 0 {
			s := acc[a0]
			for i := range n {
				s += float64(x[x0+i*xs])
			}
			acc[a0] = s
			return
		}
		for i := range n {
			acc[a0+i*as] += float64(x[x0+i*xs])
		}
	})
	return acc, shape, t.shape[ax]
}

// extremeAxis is Max (greater) or Min along axis.
func extremeAxis(name string, t *Tensor, axis int, keepDim, greater bool) *Tensor {
	ax := t.axis(name, axis)
	if t.shape[ax] == 0 {
		panic(fmt.Sprintf("tensor: %s: axis %d of shape %v is empty", name, ax, t.shape))
	}
	shape, accStrides := reducedShape(t, ax)
	out := Full(float32(math.Inf(-sign(greater))), shape...)
	acc, x := out.data, t.data
	w := newRowWalker(t.shape, accStrides, t.strides)
	w.walk([]int{0, t.offset}, func(offs, steps []int, n int) {
		a0, x0 := offs[0], offs[1]
		as, xs := steps[0], steps[1]
		for i := range n {
			a, v := a0+i*as, x[x0+i*xs]
			if better(v, acc[a], greater) {
				acc[a] = v
			}
		}
	})
	return dropAxis(out, ax, keepDim)
}

// better reports whether v beats the current extreme m: v > m for a maximum,
// v < m for a minimum, or v is the first NaN.
func better(v, m float32, greater bool) bool {
	if m != m {
		return false
	}
	if v != v {
		return true
	}
	if greater {
		return v > m
	}
	return v < m
}

func sign(positive bool) int {
	if positive {
		return 1
	}
	return -1
}

// argExtremeAxis is ArgMax (greater) or ArgMin along axis.
func argExtremeAxis(name string, t *Tensor, axis int, keepDim, greater bool) *Tensor {
	ax := t.axis(name, axis)
	n, step := t.shape[ax], t.strides[ax]
	if n == 0 || n > 1<<24 {
		panic(fmt.Sprintf("tensor: %s: axis %d of shape %v is empty or longer than 2^24", name, ax, t.shape))
	}
	shape, _ := reducedShape(t, ax)
	out := New(shape...)
	rest := t.view(shape, t.strides, t.offset) // index 0 along ax
	x, idx := t.data, out.data
	w := newRowWalker(shape, rest.strides, out.strides)

	if step == 1 || step == 0 || out.Size() < 16 {
		// Scan along the axis for each result: the axis is contiguous in
		// memory, or there are too few results for the sweep below to pay.
		w.walk([]int{t.offset, 0}, func(offs, steps []int, m int) {
			for j := range m {
				base := offs[0] + j*steps[0]
				best, extreme := 0, x[base]
				for i := 1; i < n; i++ {
					if v := x[base+i*step]; better(v, extreme, greater) {
						best, extreme = i, v
					}
				}
				idx[offs[1]+j*steps[1]] = float32(best)
			}
		})
		return dropAxis(out, ax, keepDim)
	}

	// Sweep the slices along the axis in order, keeping the running extremes:
	// each pass reads one slice of t in its memory order.
	acc := make([]float32, out.Size())
	copyInto(FromSlice(acc, shape...), rest)
	for i := 1; i < n; i++ {
		w.walk([]int{t.offset + i*step, 0}, func(offs, steps []int, m int) {
			for j := range m {
				a := offs[1] + j*steps[1]
				if v := x[offs[0]+j*steps[0]]; better(v, acc[a], greater) {
					acc[a], idx[a] = v, float32(i)
				}
			}
		})
	}
	return dropAxis(out, ax, keepDim)
}

func sumAll(t *Tensor) float64 {
	var s float64
	x := t.data
	newRowWalker(t.shape, t.strides).walk([]int{t.offset}, func(offs, steps []int, n int) {
		x0, xs := offs[0], steps[0]
		for i := range n {
			s += float64(x[x0+i*xs])
		}
	})
	return s
}

// argAll returns the row-major position of t's first largest (greater) or
// smallest element, or of its first NaN.
func argAll(name string, t *Tensor, greater bool) int {
	if t.Size() == 0 {
		panic(fmt.Sprintf("tensor: %s: empty tensor of shape %v", name, t.shape))
	}
	best, pos := 0, 0
	m := float32(math.Inf(-sign(greater)))
	first := true
	x := t.data
	newRowWalker(t.shape, t.strides).walk([]int{t.offset}, func(offs, steps []int, n int) {
		x0, xs := offs[0], steps[0]
		for i := range n {
			if v := x[x0+i*xs]; first || better(v, m, greater) {
				best, m, first = pos+i, v, false
			}
		}
		pos += n
	})
	return best
}

// unravel returns the index of the element at row-major position pos.
func unravel(shape []int, pos int) []int {
	index := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		index[d] = pos % shape[d]
		pos /= shape[d]
	}
	return index
}
