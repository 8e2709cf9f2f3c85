package head

import (
	"fmt"
	"sync"

	"github.com/reconpatch/rp/tensor"
	"github.com/reconpatch/rp/weights"
)

// FeatureSource is the cache of training patch features that Train draws
// its mini-batches from: Len rows of Dim values each, the patch features of
// every training image (section 7: the backbone is frozen, so they are
// extracted once). Implementations may keep them in memory, as float32
// (Float32Features) or float16 (Float16Features), or read them from a file
// (DiskFeatures).
//
// Train calls the methods from one goroutine.
type FeatureSource interface {
	// Len is the number of rows (patches).
	Len() int
	// Dim is the width of a row, D_in.
	Dim() int
	// Rows copies the rows idx[0], idx[1], … into dst, which holds
	// len(idx)·Dim() values (row r at dst[r·Dim():]). Indices are in
	// [0, Len()) and may come in any order.
	Rows(idx []int, dst []float32) error
}

// checkRows validates a Rows call.
func checkRows(typ string, n, d int, idx []int, dst []float32) error {
	if len(dst) < len(idx)*d {
		return fmt.Errorf("head: %s.Rows: dst holds %d values, need %d for %d rows of %d", typ, len(dst), len(idx)*d, len(idx), d)
	}
	for _, i := range idx {
		if i < 0 || i >= n {
			return fmt.Errorf("head: %s.Rows: row %d out of range [0, %d)", typ, i, n)
		}
	}
	return nil
}

// Float32Features holds patch features in memory as float32: a row-major
// N×D slice that grows by Append.
type Float32Features struct {
	d    int
	data []float32
}

// NewFloat32Features returns an empty store of rows of d values.
func NewFloat32Features(d int) (*Float32Features, error) {
	if d < 1 {
		return nil, fmt.Errorf("head: NewFloat32Features: width %d < 1", d)
	}
	return &Float32Features{d: d}, nil
}

// Float32FeaturesOf wraps data (N×d, row-major) without copying. The caller
// must not modify data while the store is in use.
func Float32FeaturesOf(data []float32, d int) (*Float32Features, error) {
	if d < 1 || len(data)%d != 0 {
		return nil, fmt.Errorf("head: Float32FeaturesOf: %d values are not rows of %d", len(data), d)
	}
	return &Float32Features{d: d, data: data}, nil
}

// Float32FeaturesFromTensor wraps the rows of t [… D] (such as the N×P×D
// patch features of N images), sharing its memory when t is contiguous.
func Float32FeaturesFromTensor(t *tensor.Tensor) (*Float32Features, error) {
	if t.Dims() == 0 {
		return nil, fmt.Errorf("head: Float32FeaturesFromTensor: a 0-d tensor has no rows")
	}
	return Float32FeaturesOf(t.Contiguous().Data(), t.Dim(-1))
}

// Append adds rows (a multiple of Dim values, such as one image's P×D
// features), copying them.
func (f *Float32Features) Append(rows []float32) error {
	if len(rows)%f.d != 0 {
		return fmt.Errorf("head: Float32Features.Append: %d values are not rows of %d", len(rows), f.d)
	}
	f.data = append(f.data, rows...)
	return nil
}

// Grow makes room for rows more rows without another allocation, so that
// appending a known number of rows does not copy the store (nor need twice
// its memory while it grows).
func (f *Float32Features) Grow(rows int) {
	f.data = grow(f.data, rows*f.d)
}

// grow is slices.Grow without its clearing of the new capacity: a store of
// gigabytes was zeroed page by page on one thread before the first feature
// was written (24 s of `rp train`'s start on this VM). A fresh allocation
// from make is zero already, and its pages are touched as rows arrive.
func grow[E any](s []E, n int) []E {
	if cap(s)-len(s) >= n {
		return s
	}
	g := make([]E, len(s), len(s)+n)
	copy(g, s)
	return g
}

// Len is the number of rows.
func (f *Float32Features) Len() int { return len(f.data) / f.d }

// Dim is the width of a row.
func (f *Float32Features) Dim() int { return f.d }

// Data returns the rows, N×D row-major, sharing memory.
func (f *Float32Features) Data() []float32 { return f.data }

// Rows copies the rows idx into dst.
func (f *Float32Features) Rows(idx []int, dst []float32) error {
	if err := checkRows("Float32Features", f.Len(), f.d, idx, dst); err != nil {
		return err
	}
	for r, i := range idx {
		copy(dst[r*f.d:(r+1)*f.d], f.data[i*f.d:(i+1)*f.d])
	}
	return nil
}

// Float16Features holds patch features in memory as IEEE binary16 (half the
// memory of float32: 307k patches × 1024 take 0.63 GB instead of 1.26 GB);
// Rows converts them back to float32. Conversion to half rounds to nearest
// even, so a value keeps 11 significant bits; values beyond ±65504 become
// ±Inf, which Append rejects.
type Float16Features struct {
	d    int
	bits []uint16
}

// NewFloat16Features returns an empty store of rows of d values.
func NewFloat16Features(d int) (*Float16Features, error) {
	if d < 1 {
		return nil, fmt.Errorf("head: NewFloat16Features: width %d < 1", d)
	}
	return &Float16Features{d: d}, nil
}

// Float16FeaturesOf wraps half-precision bits (N×d, row-major) without
// copying.
func Float16FeaturesOf(bits []uint16, d int) (*Float16Features, error) {
	if d < 1 || len(bits)%d != 0 {
		return nil, fmt.Errorf("head: Float16FeaturesOf: %d values are not rows of %d", len(bits), d)
	}
	return &Float16Features{d: d, bits: bits}, nil
}

// Append converts rows (a multiple of Dim values) to half precision and
// adds them. It fails, adding nothing, if a value is NaN or overflows the
// half range.
func (f *Float16Features) Append(rows []float32) error {
	if len(rows)%f.d != 0 {
		return fmt.Errorf("head: Float16Features.Append: %d values are not rows of %d", len(rows), f.d)
	}
	n0 := len(f.bits)
	f.bits = append(f.bits, make([]uint16, len(rows))...)
	if i := toHalf(f.bits[n0:], rows); i >= 0 {
		f.bits = f.bits[:n0]
		return fmt.Errorf("head: Float16Features.Append: value %v (row %d of the batch) is not a finite half", rows[i], i/f.d)
	}
	return nil
}

// toHalf converts src to binary16 bits in dst (rounding to nearest even)
// and returns the index of the first value that is NaN or overflows the
// half range, or −1.
func toHalf(dst []uint16, src []float32) int {
	for i, v := range src {
		h := weights.Float32ToHalf(v)
		if h&0x7c00 == 0x7c00 { // Inf or NaN
			return i
		}
		dst[i] = h
	}
	return -1
}

// Grow makes room for rows more rows without another allocation, so that
// appending a known number of rows does not copy the store (nor need twice
// its memory while it grows).
func (f *Float16Features) Grow(rows int) {
	f.bits = grow(f.bits, rows*f.d)
}

// Len is the number of rows.
func (f *Float16Features) Len() int { return len(f.bits) / f.d }

// Dim is the width of a row.
func (f *Float16Features) Dim() int { return f.d }

// Bits returns the rows as binary16 bits, N×D row-major, sharing memory.
func (f *Float16Features) Bits() []uint16 { return f.bits }

// Rows converts the rows idx into dst.
func (f *Float16Features) Rows(idx []int, dst []float32) error {
	if err := checkRows("Float16Features", f.Len(), f.d, idx, dst); err != nil {
		return err
	}
	tab := halfTable()
	for r, i := range idx {
		out := dst[r*f.d : (r+1)*f.d]
		for j, h := range f.bits[i*f.d : (i+1)*f.d] {
			out[j] = tab[h]
		}
	}
	return nil
}

// halfTable maps every binary16 bit pattern to its float32 value (256 KiB,
// built on first use): a table lookup converts faster than the bit
// arithmetic of weights.HalfToFloat32 it is built from.
var halfTable = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = weights.HalfToFloat32(uint16(i))
	}
	return &t
})
