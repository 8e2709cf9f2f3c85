package tensor

import (
	"fmt"
)

// Tensor is an N-d float32 array. The element at index (i0, i1, …) is
// data[offset + Σ i_d·strides[d]]. Strides may be zero (a broadcast view).
// Several tensors may share one data slice; views never copy.
type Tensor struct {
	shape   []int
	strides []int
	offset  int
	data    []float32
}

// New returns a contiguous tensor of the given shape filled with zeros.
func New(shape ...int) *Tensor {
	n := checkShape(shape)
	return &Tensor{shape: clone(shape), strides: contiguousStrides(shape), data: make([]float32, n)}
}

// FromSlice wraps data, without copying, as a contiguous tensor of the given
// shape. It panics if len(data) is not the product of the shape.
func FromSlice(data []float32, shape ...int) *Tensor {
	n := checkShape(shape)
	if len(data) != n {
		panic(fmt.Sprintf("tensor: FromSlice: %d values for shape %v (%d elements)", len(data), shape, n))
	}
	return &Tensor{shape: clone(shape), strides: contiguousStrides(shape), data: data}
}

// Shape returns the tensor's dimensions. The caller must not modify it.
func (t *Tensor) Shape() []int { return t.shape }

// Strides returns the step in elements for each dimension. The caller must
// not modify it.
func (t *Tensor) Strides() []int { return t.strides }

// Dims is the number of dimensions.
func (t *Tensor) Dims() int { return len(t.shape) }

// Size is the number of elements.
func (t *Tensor) Size() int { return numel(t.shape) }

// Dim returns the size of dimension d; a negative d counts from the end.
func (t *Tensor) Dim(d int) int { return t.shape[t.axis(d)] }

// IsContiguous reports whether the elements lie in row-major order without
// gaps, starting at the view's offset.
func (t *Tensor) IsContiguous() bool {
	want := 1
	for d := len(t.shape) - 1; d >= 0; d-- {
		if t.shape[d] != 1 && t.strides[d] != want {
			return false
		}
		want *= t.shape[d]
	}
	return true
}

// Data returns the elements of a contiguous tensor in row-major order, sharing
// memory with the tensor. It panics if the tensor is not contiguous; call
// Contiguous first.
func (t *Tensor) Data() []float32 {
	if !t.IsContiguous() {
		panic(fmt.Sprintf("tensor: Data of a non-contiguous view (shape %v, strides %v)", t.shape, t.strides))
	}
	return t.data[t.offset : t.offset+t.Size()]
}

func (t *Tensor) axis(d int) int {
	n := len(t.shape)
	if d < 0 {
		d += n
	}
	if d < 0 || d >= n {
		panic(fmt.Sprintf("tensor: axis %d out of range for shape %v", d, t.shape))
	}
	return d
}

func checkShape(shape []int) int {
	n := 1
	for _, s := range shape {
		if s < 0 {
			panic(fmt.Sprintf("tensor: negative dimension in shape %v", shape))
		}
		n *= s
	}
	return n
}

func numel(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

func contiguousStrides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for d := len(shape) - 1; d >= 0; d-- {
		st[d] = s
		s *= shape[d]
	}
	return st
}

func clone(s []int) []int { return append([]int(nil), s...) }

// Contiguous returns t itself if it is contiguous, otherwise a contiguous
// copy of its elements in row-major order.
func (t *Tensor) Contiguous() *Tensor {
	if t.IsContiguous() {
		return t
	}
	out := New(t.shape...)
	dst := out.data
	i := 0
	t.each(func(off int) {
		dst[i] = t.data[off]
		i++
	})
	return out
}

// each calls f with the data offset of every element in row-major order.
func (t *Tensor) each(f func(off int)) {
	n := len(t.shape)
	if t.Size() == 0 {
		return
	}
	if n == 0 {
		f(t.offset)
		return
	}
	idx := make([]int, n)
	off := t.offset
	for {
		f(off)
		d := n - 1
		for ; d >= 0; d-- {
			idx[d]++
			off += t.strides[d]
			if idx[d] < t.shape[d] {
				break
			}
			off -= idx[d] * t.strides[d]
			idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}
