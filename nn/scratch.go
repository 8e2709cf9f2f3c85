package nn

import (
	"sync"

	"github.com/reconpatch/rp/internal/parallel"
	"github.com/reconpatch/rp/tensor"
)

// scratch recycles the float32 buffers layers unfold their inputs into, so
// that a steady stream of Forward calls allocates no scratch. Unlike a
// sync.Pool, which drops its contents at every garbage collection (and a
// forward pass allocates enough to collect several times), the free list
// keeps up to maxScratch buffers: a new buffer costs a page fault per 4 KiB
// page on its first use, as much as the convolution that fills it.
var scratch struct {
	mu   sync.Mutex
	free []*[]float32
}

const maxScratch = 16

// getScratch returns a buffer of n floats with undefined contents: the
// largest free one if it is big enough, otherwise a new one.
func getScratch(n int) *[]float32 {
	scratch.mu.Lock()
	if k := len(scratch.free); k > 0 {
		best := 0
		for i, b := range scratch.free {
			if cap(*b) > cap(*scratch.free[best]) {
				best = i
			}
		}
		b := scratch.free[best]
		if cap(*b) >= n {
			scratch.free[best] = scratch.free[k-1]
			scratch.free = scratch.free[:k-1]
			scratch.mu.Unlock()
			*b = (*b)[:n]
			return b
		}
	}
	scratch.mu.Unlock()
	b := make([]float32, n)
	return &b
}

// putScratch returns b to the free list; when the list is full, the
// smallest buffer is dropped.
func putScratch(b *[]float32) {
	scratch.mu.Lock()
	defer scratch.mu.Unlock()
	if len(scratch.free) < maxScratch {
		scratch.free = append(scratch.free, b)
		return
	}
	small := 0
	for i, f := range scratch.free {
		if cap(*f) < cap(*scratch.free[small]) {
			small = i
		}
	}
	if cap(*b) > cap(*scratch.free[small]) {
		scratch.free[small] = b
	}
}

// parallelFor calls f(i) for every i in [0, n) on up to workers goroutines
// (the caller's included). Work is handed out one index at a time, so the
// indices should be coarse: an image, a group, a channel plane.
func parallelFor(n, workers int, f func(i int)) {
	parallel.For(n, workers, f)
}

// temps holds the storage of tensors released by Release, by length, for
// Temp to hand out again: a network's forward pass allocates the same
// shapes every time, and fresh memory costs a page fault per 4 KiB page on
// first touch (the garbage collector returns freed pages to the OS), which
// measured at 15–40 % of a backbone's forward pass.
var temps struct {
	mu    sync.Mutex
	free  map[int][][]float32
	total int // floats held
}

// maxTempFloats bounds the storage the free list of Temp keeps (512 MiB).
const maxTempFloats = 1 << 27

// Temp returns a contiguous tensor of the given shape with undefined
// contents, reusing the storage of a released tensor of the same size when
// there is one. Pair it with Release once the tensor is dead; a tensor
// never released is simply collected.
func Temp(shape ...int) *tensor.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	temps.mu.Lock()
	if l := temps.free[n]; len(l) > 0 {
		s := l[len(l)-1]
		temps.free[n] = l[:len(l)-1]
		temps.total -= n
		temps.mu.Unlock()
		return tensor.FromSlice(s, shape...)
	}
	temps.mu.Unlock()
	return tensor.New(shape...)
}

// Release hands the storage of t to Temp. The caller must own t outright:
// no other tensor, view or slice may use its storage afterwards. Views
// (non-contiguous tensors or ones not spanning their storage) and nil are
// ignored, as is anything past the free list's bound.
func Release(t *tensor.Tensor) {
	if t == nil || !t.IsContiguous() {
		return
	}
	s := t.Data()
	n := len(s)
	if n == 0 || cap(s) != n {
		return
	}
	temps.mu.Lock()
	defer temps.mu.Unlock()
	if temps.total+n > maxTempFloats {
		return
	}
	if temps.free == nil {
		temps.free = map[int][][]float32{}
	}
	temps.free[n] = append(temps.free[n], s)
	temps.total += n
}
