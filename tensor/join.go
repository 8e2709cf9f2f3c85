package tensor

import (
	"fmt"
	"slices"
)

// Concat returns the tensors joined along axis, in order, as a new
// contiguous tensor. They must have the same shape except along axis.
// Shape: [… n₁ …], [… n₂ …], … → [… n₁+n₂+… …].
func Concat(axis int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor: Concat: no tensors")
	}
	first := ts[0]
	ax := first.axis("Concat", axis)
	shape := clone(first.shape)
	shape[ax] = 0
	for _, t := range ts {
		if !sameShapeExcept(first.shape, t.shape, ax) {
			panic(fmt.Sprintf("tensor: Concat: shapes %v and %v differ outside axis %d", first.shape, t.shape, ax))
		}
		shape[ax] += t.shape[ax]
	}
	out := New(shape...)
	at := 0
	for _, t := range ts {
		copyInto(out.Narrow(ax, at, t.shape[ax]), t)
		at += t.shape[ax]
	}
	return out
}

// Stack returns the tensors joined along a new dimension at position axis
// (0 ≤ axis ≤ Dims, or negative counting from the end as in Unsqueeze), as a
// new contiguous tensor. They must all have the same shape.
// Shape: len(ts) × [d₀ d₁ …] → [d₀ … len(ts) … ].
func Stack(axis int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic("tensor: Stack: no tensors")
	}
	views := make([]*Tensor, len(ts))
	for i, t := range ts {
		if !slices.Equal(t.shape, ts[0].shape) {
			panic(fmt.Sprintf("tensor: Stack: shapes %v and %v differ", ts[0].shape, t.shape))
		}
		views[i] = t.Unsqueeze(axis)
	}
	return Concat(axis, views...)
}

// IndexSelect returns the slices of t at the given indices along axis, in
// the order given (indices may repeat), as a new contiguous tensor.
// Shape: [… n …] → [… len(indices) …].
func IndexSelect(t *Tensor, axis int, indices []int) *Tensor {
	ax := t.axis("IndexSelect", axis)
	n := t.shape[ax]
	for _, i := range indices {
		if i < 0 || i >= n {
			panic(fmt.Sprintf("tensor: IndexSelect: index %d out of range for axis %d of shape %v", i, ax, t.shape))
		}
	}
	shape := clone(t.shape)
	shape[ax] = len(indices)
	out := New(shape...)
	if out.Size() == 0 {
		return out
	}
	if t.IsContiguous() {
		// Copy blocks of the dimensions after axis for each leading index.
		x := t.Data()
		inner := numel(t.shape[ax+1:])
		outer := numel(t.shape[:ax])
		dst := out.data
		for o := range outer {
			for _, i := range indices {
				src := x[(o*n+i)*inner:][:inner]
				dst = dst[copy(dst, src):]
			}
		}
		return out
	}
	for j, i := range indices {
		copyInto(out.Select(ax, j), t.Select(ax, i))
	}
	return out
}

// Gather returns the elements of t picked along axis by index, as PyTorch's
// gather does: for a 3-d t and axis 1,
//
//	out[i][j][k] = t[i][index[i][j][k]][k]
//
// index has as many dimensions as t and is no larger than t in any dimension
// but axis; its values must be whole numbers in [0, t.Dim(axis)). The result
// is a new contiguous tensor with index's shape. Indices as ArgMax and
// ArgMin return them (with keepDim) can be passed straight in.
func Gather(t *Tensor, axis int, index *Tensor) *Tensor {
	ax := t.axis("Gather", axis)
	if index.Dims() != t.Dims() {
		panic(fmt.Sprintf("tensor: Gather: shapes %v and index %v differ in rank", t.shape, index.shape))
	}
	for d, s := range index.shape {
		if d != ax && s > t.shape[d] {
			panic(fmt.Sprintf("tensor: Gather: shapes %v and index %v: index is larger outside axis %d", t.shape, index.shape, ax))
		}
	}
	out := New(index.shape...)
	n, step := t.shape[ax], t.strides[ax]
	base := clone(t.strides)
	base[ax] = 0
	x, ix := t.data, index.data
	newRowWalker(index.shape, index.strides, base, out.strides).walk([]int{index.offset, t.offset, 0}, func(offs, steps []int, cnt int) {
		for j := range cnt {
			v := ix[offs[0]+j*steps[0]]
			i := int(v)
			if float32(i) != v || i < 0 || i >= n {
				panic(fmt.Sprintf("tensor: Gather: index %v out of range for axis %d of shape %v", v, ax, t.shape))
			}
			out.data[offs[2]+j*steps[2]] = x[offs[1]+j*steps[1]+i*step]
		}
	})
	return out
}

// sameShapeExcept reports whether a and b have the same dimensions except,
// possibly, dimension ax.
func sameShapeExcept(a, b []int, ax int) bool {
	if len(a) != len(b) {
		return false
	}
	for d := range a {
		if d != ax && a[d] != b[d] {
			return false
		}
	}
	return true
}
