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

// buffers is the free list of getBuffer. A sync.Pool would drop its
// contents at every garbage collection, and a fresh buffer costs a page
// fault per 4 KiB page on first use (the packed B block of one product is
// up to 8 MB); the list keeps up to maxBuffers buffers of maxBufferFloats
// floats in all.
var buffers struct {
	mu    sync.Mutex
	free  []*buffer
	total int
}

const (
	maxBuffers      = 32
	maxBufferFloats = 1 << 24
)

// getBuffer returns a scratch buffer of n floats with undefined contents:
// the smallest free one that is big enough, or a new one.
func getBuffer(n int) *buffer {
	buffers.mu.Lock()
	best := -1
	for i, b := range buffers.free {
		if cap(b.raw) >= n+16 && (best < 0 || cap(b.raw) < cap(buffers.free[best].raw)) {
			best = i
		}
	}
	if best >= 0 {
		b := buffers.free[best]
		last := len(buffers.free) - 1
		buffers.free[best] = buffers.free[last]
		buffers.free = buffers.free[:last]
		buffers.total -= cap(b.raw)
		buffers.mu.Unlock()
		b.data = align64(b.raw[:n+16])[:n]
		return b
	}
	buffers.mu.Unlock()
	raw := make([]float32, n+16)
	return &buffer{data: align64(raw)[:n], raw: raw}
}

// putBuffer returns b to the free list, or drops it when the list is full.
func putBuffer(b *buffer) {
	buffers.mu.Lock()
	defer buffers.mu.Unlock()
	if len(buffers.free) >= maxBuffers || buffers.total+cap(b.raw) > maxBufferFloats {
		return
	}
	buffers.free = append(buffers.free, b)
	buffers.total += cap(b.raw)
}

// align64 drops leading elements of s until its start is 64-byte aligned.
func align64(s []float32) []float32 {
	off := int(uintptr(unsafe.Pointer(unsafe.SliceData(s))) & 63)
	if off == 0 {
		return s
	}
	return s[(64-off)/4:]
}
