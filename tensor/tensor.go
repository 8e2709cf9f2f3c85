package tensor

import (
	"fmt"
	"math"
)

// Tensor is an N-d float32 array. The element at index (i0, i1, …) is
// data[offset + Σ i_d·strides[d]]. Strides may be zero (a broadcast view).
// Several tensors may share one data slice; views never copy.
//
// Tensors are made by New, FromSlice and the other constructors; the zero
// Tensor is only a target for UnmarshalBinary. A Tensor is not safe for
// concurrent use when any goroutine writes to it or to a view sharing its
// data.
type Tensor struct {
	shape   []int
	strides []int
	offset  int
	data    []float32
}

// New returns a contiguous tensor of the given shape filled with zeros. With
// no arguments it returns a 0-d tensor holding one zero.
func New(shape ...int) *Tensor {
	n := checkShape("New", shape)
	return &Tensor{shape: clone(shape), strides: contiguousStrides(shape), data: make([]float32, n)}
}

// FromSlice wraps data, without copying, as a contiguous tensor of the given
// shape. It panics if len(data) is not the product of the shape.
func FromSlice(data []float32, shape ...int) *Tensor {
	n := checkShape("FromSlice", shape)
	if len(data) != n {
		panic(fmt.Sprintf("tensor: FromSlice: %d values for shape %v (%d elements)", len(data), shape, n))
	}
	return &Tensor{shape: clone(shape), strides: contiguousStrides(shape), data: data}
}

// Scalar returns a 0-d tensor holding v. It broadcasts against any shape.
func Scalar(v float32) *Tensor { return FromSlice([]float32{v}) }

// Zeros returns a contiguous tensor of the given shape filled with zeros; it
// is the same as New.
func Zeros(shape ...int) *Tensor { return New(shape...) }

// Ones returns a contiguous tensor of the given shape filled with ones.
func Ones(shape ...int) *Tensor { return Full(1, shape...) }

// Full returns a contiguous tensor of the given shape filled with v.
func Full(v float32, shape ...int) *Tensor {
	t := New(shape...)
	if v != 0 {
		for i := range t.data {
			t.data[i] = v
		}
	}
	return t
}

// Arange returns the 1-d tensor [start, start+step, start+2·step, …] of the
// values below stop (above stop when step is negative), as NumPy's arange
// does. Each value is computed in float64 as start + i·step and then rounded,
// so errors do not accumulate. It panics if step is zero or not finite.
func Arange(start, stop, step float32) *Tensor {
	if step == 0 || math.IsInf(float64(step), 0) || math.IsNaN(float64(step)) {
		panic(fmt.Sprintf("tensor: Arange: step %v", step))
	}
	span := (float64(stop) - float64(start)) / float64(step)
	n := 0
	if span > 0 {
		n = int(math.Ceil(span))
	}
	t := New(n)
	for i := range t.data {
		t.data[i] = float32(float64(start) + float64(i)*float64(step))
	}
	return t
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
func (t *Tensor) Dim(d int) int { return t.shape[t.axis("Dim", d)] }

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

// Contiguous returns t itself if it is contiguous, otherwise a contiguous
// copy of its elements in row-major order.
func (t *Tensor) Contiguous() *Tensor {
	if t.IsContiguous() {
		return t
	}
	return t.Clone()
}

// Clone returns a contiguous copy of t that shares no memory with it.
func (t *Tensor) Clone() *Tensor {
	out := New(t.shape...)
	copyInto(out, t)
	return out
}

// At returns the element at the given index, one entry per dimension; a 0-d
// tensor takes no index. It panics if the index is out of range.
func (t *Tensor) At(index ...int) float32 { return t.data[t.offsetOf("At", index)] }

// Set stores v at the given index, one entry per dimension. In a broadcast
// view (see Expand) several indices name the same element. It panics if the
// index is out of range.
func (t *Tensor) Set(v float32, index ...int) { t.data[t.offsetOf("Set", index)] = v }

// Fill sets every element of t, which may be a view, to v and returns t.
func (t *Tensor) Fill(v float32) *Tensor {
	if t.IsContiguous() {
		d := t.Data()
		for i := range d {
			d[i] = v
		}
		return t
	}
	mapRows(t, t, func(dst, _ []float32) {
		for i := range dst {
			dst[i] = v
		}
	})
	return t
}

func (t *Tensor) offsetOf(op string, index []int) int {
	if len(index) != len(t.shape) {
		panic(fmt.Sprintf("tensor: %s: index %v for shape %v", op, index, t.shape))
	}
	off := t.offset
	for d, i := range index {
		if i < 0 || i >= t.shape[d] {
			panic(fmt.Sprintf("tensor: %s: index %v out of range for shape %v", op, index, t.shape))
		}
		off += i * t.strides[d]
	}
	return off
}

// axis resolves a possibly negative axis of t, panicking with op's name if it
// is out of range.
func (t *Tensor) axis(op string, d int) int {
	n := len(t.shape)
	if d < 0 {
		d += n
	}
	if d < 0 || d >= n {
		panic(fmt.Sprintf("tensor: %s: axis %d out of range for shape %v", op, d, t.shape))
	}
	return d
}

// checkShape returns the number of elements of shape, panicking if a
// dimension is negative or the count overflows an int.
func checkShape(op string, shape []int) int {
	n, ok := elementCount(shape)
	if !ok {
		panic(fmt.Sprintf("tensor: %s: bad shape %v (negative dimension or too many elements)", op, shape))
	}
	return n
}

// elementCount returns the product of shape, reporting false if a dimension
// is negative or the product overflows an int.
func elementCount(shape []int) (int, bool) {
	n := 1
	for _, s := range shape {
		if s < 0 {
			return 0, false
		}
		if s == 0 {
			n = 0
		}
	}
	if n == 0 {
		return 0, true
	}
	for _, s := range shape {
		if n > math.MaxInt/s {
			return 0, false
		}
		n *= s
	}
	return n, true
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

func clone(s []int) []int { return append([]int{}, s...) }
