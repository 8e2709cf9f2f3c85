package simd

import (
	"sync"
	"unsafe"
)

// buffer is a scratch slice whose first element is 64-byte aligned, so packed
// panels start on a cache line.
type buffer struct {
	data []float32
	raw  []float32
}

var bufferPool sync.Pool

// getBuffer returns a scratch buffer of n floats with undefined contents.
func getBuffer(n int) *buffer {
	if v := bufferPool.Get(); v != nil {
		b := v.(*buffer)
		if cap(b.raw) >= n+16 {
			b.data = align64(b.raw[:n+16])[:n]
			return b
		}
	}
	raw := make([]float32, n+16)
	return &buffer{data: align64(raw)[:n], raw: raw}
}

func putBuffer(b *buffer) { bufferPool.Put(b) }

// align64 drops leading elements of s until its start is 64-byte aligned.
func align64(s []float32) []float32 {
	off := int(uintptr(unsafe.Pointer(unsafe.SliceData(s))) & 63)
	if off == 0 {
		return s
	}
	return s[(64-off)/4:]
}
