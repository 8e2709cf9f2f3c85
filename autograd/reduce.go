package autograd

import (
	"fmt"
	"slices"

	"github.com/reconpatch/rp/tensor"
)

// Sum returns the sums of x over the given axes (negative axes count from
// the end), or over all elements when none are given. With keepDim the
// reduced axes stay with size 1.
// Shape: [d₀ d₁ …] → the same without the reduced axes (size 1 if keepDim);
// a full reduction without keepDim gives a 0-d scalar.
func (tp *Tape) Sum(x *Var, keepDim bool, axes ...int) *Var {
	axes = normAxes("Sum", x.Shape(), axes)
	y := reduceSum(x.Value, axes, keepDim)
	return tp.record("Sum", y, []*Var{x}, func(g *tensor.Tensor) {
		addGrad(x, expandBack(g, x.Shape(), axes), true)
	})
}

// Mean returns the means of x over the given axes, or over all elements when
// none are given; see Sum for the shapes.
func (tp *Tape) Mean(x *Var, keepDim bool, axes ...int) *Var {
	axes = normAxes("Mean", x.Shape(), axes)
	n := 1
	for _, a := range axes {
		n *= x.Shape()[a]
	}
	y := reduceSum(x.Value, axes, keepDim).MulScalarInPlace(float32(1 / float64(n)))
	return tp.record("Mean", y, []*Var{x}, func(g *tensor.Tensor) {
		addGrad(x, expandBack(g, x.Shape(), axes).MulScalarInPlace(float32(1/float64(n))), true)
	})
}

// Max returns the largest elements of x along axis. The gradient goes to the
// first largest element of each slice (the one tensor.ArgMax picks), as
// PyTorch's max(dim) does.
// Shape: [… n …] → the same without axis (size 1 if keepDim).
func (tp *Tape) Max(x *Var, axis int, keepDim bool) *Var {
	ax := normAxes("Max", x.Shape(), []int{axis})[0]
	y := tensor.Max(x.Value, ax, keepDim)
	if !tp.Recording() || !x.requiresGrad {
		return tp.record("Max", y, []*Var{x}, nil)
	}
	idx := tensor.ArgMax(x.Value, ax, true)
	return tp.record("Max", y, []*Var{x}, func(g *tensor.Tensor) {
		gx := tensor.New(x.Shape()...)
		scatterAdd(gx, ax, idx, g.Reshape(idx.Shape()...))
		addGrad(x, gx, true)
	})
}

// normAxes resolves negative axes, sorts them and checks for repeats; no
// axes means all of them.
func normAxes(op string, shape []int, axes []int) []int {
	if len(axes) == 0 {
		all := make([]int, len(shape))
		for i := range all {
			all[i] = i
		}
		return all
	}
	out := make([]int, len(axes))
	for i, a := range axes {
		if a < 0 {
			a += len(shape)
		}
		if a < 0 || a >= len(shape) {
			panic(fmt.Sprintf("autograd: %s: axis %d out of range for shape %v", op, axes[i], shape))
		}
		out[i] = a
	}
	slices.Sort(out)
	if len(slices.Compact(slices.Clone(out))) != len(out) {
		panic(fmt.Sprintf("autograd: %s: repeated axes %v", op, axes))
	}
	return out
}

// reduceSum sums t over the sorted axes (float64 accumulation within each
// axis, as tensor.Sum).
func reduceSum(t *tensor.Tensor, axes []int, keepDim bool) *tensor.Tensor {
	if len(axes) == t.Dims() && t.Dims() > 0 {
		// One pass over all elements.
		s := tensor.Scalar(tensor.SumAll(t))
		if keepDim {
			ones := make([]int, t.Dims())
			for i := range ones {
				ones[i] = 1
			}
			return s.Reshape(ones...)
		}
		return s
	}
	y := t
	for _, a := range axes {
		y = tensor.Sum(y, a, true)
	}
	if y == t {
		y = t.Clone()
	}
	if !keepDim {
		y = y.Reshape(squeezed(y.Shape(), axes)...)
	}
	return y
}

// squeezed is shape without the given axes.
func squeezed(shape, axes []int) []int {
	out := make([]int, 0, len(shape))
	for d, s := range shape {
		if !slices.Contains(axes, d) {
			out = append(out, s)
		}
	}
	return out
}

// expandBack broadcasts g, the gradient of a reduction over axes of a tensor
// of the given shape, back to that shape as a new contiguous tensor.
func expandBack(g *tensor.Tensor, shape, axes []int) *tensor.Tensor {
	kept := slices.Clone(shape)
	for _, a := range axes {
		kept[a] = 1
	}
	return g.Reshape(kept...).Expand(shape...).Clone()
}

// scatterAdd adds src[j…] into dst at the positions index[j…] names along
// axis ax: dst[…, index[j…], …] += src[j…], the adjoint of tensor.Gather.
// dst is contiguous; index and src have the same shape.
func scatterAdd(dst *tensor.Tensor, ax int, index, src *tensor.Tensor) {
	shape := index.Shape()
	idx, s := data(index), data(src)
	d := dst.Data()
	dstStrides := dst.Strides()
	n := dst.Dim(ax)
	pos := make([]int, len(shape))
	for k := range idx {
		v := idx[k]
		i := int(v)
		if float32(i) != v || i < 0 || i >= n {
			panic(fmt.Sprintf("autograd: index %v out of range for axis %d of shape %v", v, ax, dst.Shape()))
		}
		off := 0
		for dd, p := range pos {
			if dd == ax {
				off += i * dstStrides[dd]
			} else {
				off += p * dstStrides[dd]
			}
		}
		d[off] += s[k]
		// Next position in row-major order.
		for dd := len(pos) - 1; dd >= 0; dd-- {
			pos[dd]++
			if pos[dd] < shape[dd] {
				break
			}
			pos[dd] = 0
		}
	}
}
