package tensor

import (
	"fmt"
	"slices"
	"unsafe"
)

// rowWalker visits the elements of several operands laid out over one shape,
// in row-major order of that shape, a run at a time. Dimensions of size 1 are
// dropped and neighbouring dimensions that are contiguous in every operand are
// merged, so that a contiguous tensor is a single run and the run along the
// innermost dimension is as long as the layouts allow.
type rowWalker struct {
	dims    []int   // merged outer dimensions (the innermost is the run)
	strides [][]int // strides[i][d]: operand i's stride along dims[d]
	run     int     // elements per run
	steps   []int   // each operand's stride along the run
	empty   bool    // the shape has no elements

	idx, offs []int // scratch for walk
}

// newRowWalker prepares a walk over shape for operands with the given
// strides, one stride slice per operand, each as long as shape.
func newRowWalker(shape []int, strides ...[]int) *rowWalker {
	k := len(strides)
	w := &rowWalker{strides: make([][]int, k), run: 1, steps: make([]int, k), offs: make([]int, k)}
	var dims []int
	for d, size := range shape {
		if size == 0 {
			w.empty = true
			return w
		}
		if size == 1 {
			continue
		}
		if last := len(dims) - 1; last >= 0 && mergeable(w.strides, strides, last, d, size) {
			dims[last] *= size
			for i := range k {
				w.strides[i][last] = strides[i][d]
			}
			continue
		}
		dims = append(dims, size)
		for i := range k {
			w.strides[i] = append(w.strides[i], strides[i][d])
		}
	}
	if inner := len(dims) - 1; inner >= 0 {
		w.run = dims[inner]
		for i := range k {
			w.steps[i] = w.strides[i][inner]
			w.strides[i] = w.strides[i][:inner]
		}
		dims = dims[:inner]
	}
	w.dims = dims
	w.idx = make([]int, len(dims))
	return w
}

// mergeable reports whether dimension d of every operand continues the run of
// the merged dimension last: the outer stride equals the inner one times size.
func mergeable(merged, strides [][]int, last, d, size int) bool {
	for i := range strides {
		if merged[i][last] != strides[i][d]*size {
			return false
		}
	}
	return true
}

// walk calls row once per run, in row-major order. offs holds each operand's
// data offset at the start of the run, starting from offsets; steps holds its
// stride along the run and n the run's length. A 0-d shape is one run of one
// element; a shape with no elements has no runs. row must not modify offs or
// steps.
func (w *rowWalker) walk(offsets []int, row func(offs, steps []int, n int)) {
	if w.empty {
		return
	}
	offs := w.offs
	copy(offs, offsets)
	idx := w.idx
	clear(idx)
	for {
		row(offs, w.steps, w.run)
		d := len(w.dims) - 1
		for ; d >= 0; d-- {
			idx[d]++
			for i, st := range w.strides {
				offs[i] += st[d]
			}
			if idx[d] < w.dims[d] {
				break
			}
			for i, st := range w.strides {
				offs[i] -= idx[d] * st[d]
			}
			idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}

// chunk is the number of elements a strided run is gathered into scratch
// buffers at a time.
const chunk = 1024

// gather copies n := len(dst) elements from src[off], src[off+step], … .
func gather(dst, src []float32, off, step int) {
	for i := range dst {
		dst[i] = src[off]
		off += step
	}
}

// scatter copies src to dst[off], dst[off+step], … .
func scatter(dst []float32, off, step int, src []float32) {
	for _, v := range src {
		dst[off] = v
		off += step
	}
}

// mapRows sets dst = f(src) elementwise, where src has dst's shape (it may be
// a broadcast view) and f works on contiguous slices of equal length. dst
// may be src itself.
func mapRows(dst, src *Tensor, f func(dst, src []float32)) {
	var bufD, bufS []float32
	w := newRowWalker(dst.shape, dst.strides, src.strides)
	w.walk([]int{dst.offset, src.offset}, func(offs, steps []int, n int) {
		d0, s0 := offs[0], offs[1]
		ds, ss := steps[0], steps[1]
		if ds == 1 && ss == 1 {
			f(dst.data[d0:d0+n], src.data[s0:s0+n])
			return
		}
		if bufD == nil {
			bufD, bufS = make([]float32, min(n, chunk)), make([]float32, min(n, chunk))
		}
		for lo := 0; lo < n; lo += len(bufD) {
			m := min(len(bufD), n-lo)
			gather(bufS[:m], src.data, s0+lo*ss, ss)
			f(bufD[:m], bufS[:m])
			scatter(dst.data, d0+lo*ds, ds, bufD[:m])
		}
	})
}

// copyInto copies src, which has dst's shape, into dst.
func copyInto(dst, src *Tensor) {
	if dst.IsContiguous() && src.IsContiguous() {
		copy(dst.Data(), src.Data())
		return
	}
	mapRows(dst, src, func(d, s []float32) { copy(d, s) })
}

// checkWritable panics if two indices of t name the same element, which a
// zero stride of a dimension longer than 1 does (a broadcast view).
func checkWritable(op string, t *Tensor) {
	if t.Size() == 0 {
		return
	}
	for d, s := range t.strides {
		if s == 0 && t.shape[d] > 1 {
			panic(fmt.Sprintf("tensor: %s: destination is a broadcast view (shape %v, strides %v)", op, t.shape, t.strides))
		}
	}
}

// overlaps reports whether the memory of x and y overlaps.
func overlaps(x, y []float32) bool {
	if len(x) == 0 || len(y) == 0 {
		return false
	}
	const size = unsafe.Sizeof(float32(0))
	x0 := uintptr(unsafe.Pointer(unsafe.SliceData(x)))
	y0 := uintptr(unsafe.Pointer(unsafe.SliceData(y)))
	return x0 < y0+uintptr(len(y))*size && y0 < x0+uintptr(len(x))*size
}

// sameView reports whether x and y are the same view of the same memory.
func sameView(x, y *Tensor) bool {
	return x.offset == y.offset && slices.Equal(x.shape, y.shape) && slices.Equal(x.strides, y.strides) &&
		len(x.data) > 0 && len(y.data) > 0 && &x.data[0] == &y.data[0]
}

// readOnlyCopy returns src, or a copy of it if it shares memory with dst
// other than as the very same view, so that writing dst element by element
// cannot change src elements that are still to be read.
func readOnlyCopy(dst, src *Tensor) *Tensor {
	if overlaps(dst.data, src.data) && !sameView(dst, src) {
		return src.Clone()
	}
	return src
}
