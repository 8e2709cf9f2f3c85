package tensor

import (
	"fmt"
	"slices"
)

// view returns a tensor over t's data with the given layout.
func (t *Tensor) view(shape, strides []int, offset int) *Tensor {
	return &Tensor{shape: shape, strides: strides, offset: offset, data: t.data}
}

// Reshape returns a tensor with t's elements, in row-major order, and the
// given shape. One dimension may be -1; it is inferred from the others.
//
// The result is a view sharing t's memory whenever t's strides allow it (always
// for a contiguous t, and for views whose reshaped dimensions are contiguous
// among themselves); otherwise it is a contiguous copy, as with NumPy's
// reshape. Only when t is contiguous is a write through the result sure to
// show in t. It panics if the sizes differ.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	shape = t.inferShape(shape)
	if strides, ok := reshapeStrides(t.shape, t.strides, shape); ok {
		return t.view(shape, strides, t.offset)
	}
	out := New(shape...)
	copyInto(out.view(t.shape, contiguousStrides(t.shape), 0), t)
	return out
}

// inferShape resolves a -1 in a Reshape target and checks the element count.
func (t *Tensor) inferShape(shape []int) []int {
	shape = clone(shape)
	infer, known := -1, 1
	for d, s := range shape {
		switch {
		case s == -1 && infer < 0:
			infer = d
		case s < 0:
			panic(fmt.Sprintf("tensor: Reshape: bad shape %v for shape %v", shape, t.shape))
		default:
			known *= s
		}
	}
	n := t.Size()
	if infer >= 0 && known != 0 && n%known == 0 {
		shape[infer] = n / known
		known = n
	}
	if known != n || (infer >= 0 && shape[infer] < 0) {
		panic(fmt.Sprintf("tensor: Reshape: cannot reshape %v into %v", t.shape, shape))
	}
	return shape
}

// reshapeStrides returns strides that lay out shape over the same elements as
// a tensor with oldShape and oldStrides, in row-major order, if there are
// any. It follows NumPy's _attempt_nocopy_reshape: the old and new dimensions
// are split into the shortest groups of equal size; each old group must be
// contiguous within itself, and the new group then takes strides within it.
func reshapeStrides(oldShape, oldStrides, shape []int) ([]int, bool) {
	if numel(shape) == 0 {
		return contiguousStrides(shape), true
	}
	var olds, oldst []int
	for d, s := range oldShape {
		if s != 1 {
			olds = append(olds, s)
			oldst = append(oldst, oldStrides[d])
		}
	}
	strides := make([]int, len(shape))
	oi, oj, ni, nj := 0, 1, 0, 1
	for ni < len(shape) && oi < len(olds) {
		np, op := shape[ni], olds[oi]
		for np != op {
			if np < op {
				np *= shape[nj]
				nj++
			} else {
				op *= olds[oj]
				oj++
			}
		}
		for k := oi; k < oj-1; k++ {
			if oldst[k] != olds[k+1]*oldst[k+1] {
				return nil, false
			}
		}
		strides[nj-1] = oldst[oj-1]
		for k := nj - 1; k > ni; k-- {
			strides[k-1] = strides[k] * shape[k]
		}
		ni, nj = nj, nj+1
		oi, oj = oj, oj+1
	}
	last := 1
	if ni > 0 {
		last = strides[ni-1]
	}
	for k := ni; k < len(shape); k++ {
		strides[k] = last
	}
	return strides, true
}

// Permute returns a view whose dimension d is t's dimension axes[d]. The axes
// must be a permutation of t's dimensions; negative axes count from the end.
func (t *Tensor) Permute(axes ...int) *Tensor {
	n := len(t.shape)
	if len(axes) != n {
		panic(fmt.Sprintf("tensor: Permute: axes %v for shape %v", axes, t.shape))
	}
	seen := make([]bool, n)
	shape, strides := make([]int, n), make([]int, n)
	for d, a := range axes {
		if a < 0 {
			a += n
		}
		if a < 0 || a >= n || seen[a] {
			panic(fmt.Sprintf("tensor: Permute: axes %v for shape %v", axes, t.shape))
		}
		seen[a] = true
		shape[d], strides[d] = t.shape[a], t.strides[a]
	}
	return t.view(shape, strides, t.offset)
}

// Transpose returns a view with dimensions d0 and d1 swapped. For a matrix,
// t.Transpose(0, 1) is its transpose.
func (t *Tensor) Transpose(d0, d1 int) *Tensor {
	d0, d1 = t.axis("Transpose", d0), t.axis("Transpose", d1)
	shape, strides := clone(t.shape), clone(t.strides)
	shape[d0], shape[d1] = shape[d1], shape[d0]
	strides[d0], strides[d1] = strides[d1], strides[d0]
	return t.view(shape, strides, t.offset)
}

// Narrow returns the view of elements start, …, start+length-1 along
// dimension dim. It panics unless 0 ≤ start ≤ start+length ≤ t.Dim(dim).
func (t *Tensor) Narrow(dim, start, length int) *Tensor {
	d := t.axis("Narrow", dim)
	if start < 0 || length < 0 || start > t.shape[d]-length {
		panic(fmt.Sprintf("tensor: Narrow: [%d, %d+%d) out of range for dimension %d of shape %v", start, start, length, d, t.shape))
	}
	shape := clone(t.shape)
	shape[d] = length
	return t.view(shape, clone(t.strides), t.offset+start*t.strides[d])
}

// Slice returns the view of elements start, …, end-1 along dimension dim, as
// the Go slice expression [start:end] would; it is t.Narrow(dim, start,
// end-start).
func (t *Tensor) Slice(dim, start, end int) *Tensor {
	if end < start {
		panic(fmt.Sprintf("tensor: Slice: [%d:%d] for dimension %d of shape %v", start, end, dim, t.shape))
	}
	return t.Narrow(dim, start, end-start)
}

// Select returns the view of index i along dimension dim, with that dimension
// removed: for a matrix, t.Select(0, i) is row i.
func (t *Tensor) Select(dim, i int) *Tensor {
	d := t.axis("Select", dim)
	if i < 0 || i >= t.shape[d] {
		panic(fmt.Sprintf("tensor: Select: index %d out of range for dimension %d of shape %v", i, d, t.shape))
	}
	return t.view(slices.Delete(clone(t.shape), d, d+1), slices.Delete(clone(t.strides), d, d+1), t.offset+i*t.strides[d])
}

// Expand returns a view of t broadcast to shape, following NumPy's rules:
// shapes are aligned at their last dimension, new leading dimensions are
// added, and a dimension of size 1 repeats (with stride 0) to any size. The
// view's elements alias one another: write to it only with Set or Fill.
// It panics if t's shape does not broadcast to shape.
func (t *Tensor) Expand(shape ...int) *Tensor {
	strides, ok := broadcastStrides(t.shape, t.strides, shape)
	if !ok {
		panic(fmt.Sprintf("tensor: Expand: shape %v does not broadcast to %v", t.shape, shape))
	}
	return t.view(clone(shape), strides, t.offset)
}

// broadcastStrides returns the strides that lay out a tensor with the given
// shape and strides over the larger shape to, if its shape broadcasts to to.
func broadcastStrides(shape, strides, to []int) ([]int, bool) {
	lead := len(to) - len(shape)
	if lead < 0 {
		return nil, false
	}
	out := make([]int, len(to))
	for d, s := range shape {
		switch {
		case s == to[lead+d]:
			out[lead+d] = strides[d]
		case s == 1 && to[lead+d] >= 0:
			out[lead+d] = 0
		default:
			return nil, false
		}
	}
	return out, true
}

// broadcastShape returns the shape that a and b broadcast to under NumPy's
// rules, if they broadcast.
func broadcastShape(a, b []int) ([]int, bool) {
	if len(a) < len(b) {
		a, b = b, a
	}
	out := clone(a)
	lead := len(a) - len(b)
	for d, s := range b {
		switch o := out[lead+d]; {
		case o == s || s == 1:
		case o == 1:
			out[lead+d] = s
		default:
			return nil, false
		}
	}
	return out, true
}

// Squeeze returns a view without the given dimensions, which must have size
// 1; with no axes it removes every dimension of size 1.
func (t *Tensor) Squeeze(axes ...int) *Tensor {
	drop := make([]bool, len(t.shape))
	if len(axes) == 0 {
		for d, s := range t.shape {
			drop[d] = s == 1
		}
	}
	for _, a := range axes {
		d := t.axis("Squeeze", a)
		if t.shape[d] != 1 {
			panic(fmt.Sprintf("tensor: Squeeze: dimension %d of shape %v is not 1", d, t.shape))
		}
		drop[d] = true
	}
	shape, strides := []int{}, []int{}
	for d, s := range t.shape {
		if !drop[d] {
			shape = append(shape, s)
			strides = append(strides, t.strides[d])
		}
	}
	return t.view(shape, strides, t.offset)
}

// Unsqueeze returns a view with a new dimension of size 1 at position axis,
// which may range over 0, …, t.Dims() (negative values count from the end,
// -1 meaning after the last dimension).
func (t *Tensor) Unsqueeze(axis int) *Tensor {
	n := len(t.shape)
	d := axis
	if d < 0 {
		d += n + 1
	}
	if d < 0 || d > n {
		panic(fmt.Sprintf("tensor: Unsqueeze: axis %d out of range for shape %v", axis, t.shape))
	}
	stride := 1
	if d < n {
		stride = t.strides[d] * t.shape[d]
	}
	return t.view(slices.Insert(clone(t.shape), d, 1), slices.Insert(clone(t.strides), d, stride), t.offset)
}
