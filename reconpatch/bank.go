package reconpatch

import (
	"errors"
	"fmt"
	"math"

	"github.com/reconpatch/rp/reconpatch/head"
	"github.com/reconpatch/rp/weights"
)

// Precision is how a MemoryBank stores its rows.
type Precision uint8

const (
	// Float32 stores the rows as they are.
	Float32 Precision = iota
	// Float16 stores IEEE half-precision values (rounded to nearest even
	// on store), halving the bank's size; searches decode them to float32.
	// The relative rounding error is at most 2⁻¹¹ per element.
	Float16
)

// String names the precision.
func (p Precision) String() string {
	switch p {
	case Float32:
		return "float32"
	case Float16:
		return "float16"
	}
	return fmt.Sprintf("Precision(%d)", uint8(p))
}

// MemoryBank is the set of nominal patch embeddings, n rows of d values
// (row-major), that test patches are compared with. It is immutable once
// made and safe for concurrent use.
type MemoryBank struct {
	n, d int
	prec Precision
	f32  []float32 // n×d, Float32 banks
	f16  []uint16  // n×d half bits, Float16 banks
}

// NewMemoryBank stores a copy of rows, n×d row-major, at the given
// precision. It returns an error if the bank would be empty, a value is not
// finite, or (Float16) a value overflows the half range (|x| > 65504). It
// panics if rows is shorter than n·d.
func NewMemoryBank(rows []float32, n, d int, prec Precision) (*MemoryBank, error) {
	if n < 0 || d < 0 {
		panic(fmt.Sprintf("reconpatch: NewMemoryBank: negative shape %d×%d", n, d))
	}
	if len(rows) < n*d {
		panic(fmt.Sprintf("reconpatch: NewMemoryBank: %d values for %d×%d", len(rows), n, d))
	}
	if n == 0 || d == 0 {
		return nil, fmt.Errorf("reconpatch: NewMemoryBank: empty bank %d×%d", n, d)
	}
	rows = rows[:n*d]
	for i, v := range rows {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("reconpatch: NewMemoryBank: row %d holds %v", i/d, v)
		}
	}
	b := &MemoryBank{n: n, d: d, prec: prec}
	switch prec {
	case Float32:
		b.f32 = append([]float32(nil), rows...)
	case Float16:
		b.f16 = make([]uint16, len(rows))
		for i, v := range rows {
			h := weights.Float32ToHalf(v)
			if h&0x7c00 == 0x7c00 {
				return nil, fmt.Errorf("reconpatch: NewMemoryBank: row %d value %v overflows float16", i/d, v)
			}
			b.f16[i] = h
		}
	default:
		return nil, fmt.Errorf("reconpatch: NewMemoryBank: unknown precision %v", prec)
	}
	return b, nil
}

// NewMemoryBankHalf wraps stored float16 bits, n×d row-major (as read back
// from a model file), without copying them. It returns an error if the bank
// is empty or holds an Inf or NaN, and panics if bits is shorter than n·d.
func NewMemoryBankHalf(bits []uint16, n, d int) (*MemoryBank, error) {
	if n < 0 || d < 0 {
		panic(fmt.Sprintf("reconpatch: NewMemoryBankHalf: negative shape %d×%d", n, d))
	}
	if len(bits) < n*d {
		panic(fmt.Sprintf("reconpatch: NewMemoryBankHalf: %d values for %d×%d", len(bits), n, d))
	}
	if n == 0 || d == 0 {
		return nil, fmt.Errorf("reconpatch: NewMemoryBankHalf: empty bank %d×%d", n, d)
	}
	for i, h := range bits[:n*d] {
		if h&0x7c00 == 0x7c00 {
			return nil, fmt.Errorf("reconpatch: NewMemoryBankHalf: row %d holds a float16 Inf or NaN", i/d)
		}
	}
	return &MemoryBank{n: n, d: d, prec: Float16, f16: bits[:n*d]}, nil
}

// Len is the number of rows.
func (b *MemoryBank) Len() int { return b.n }

// Dim is the row length.
func (b *MemoryBank) Dim() int { return b.d }

// Precision is the storage precision.
func (b *MemoryBank) Precision() Precision { return b.prec }

// Bytes is the size of the stored values.
func (b *MemoryBank) Bytes() int { return len(b.f32)*4 + len(b.f16)*2 }

// Half returns the stored float16 bits of a Float16 bank (n×d, not to be
// modified), or nil.
func (b *MemoryBank) Half() []uint16 { return b.f16 }

// Float32 returns the rows as float32, n×d: the stored slice itself for a
// Float32 bank (not to be modified), a new decoded copy for a Float16 bank.
func (b *MemoryBank) Float32() []float32 {
	if b.prec == Float32 {
		return b.f32
	}
	out := make([]float32, len(b.f16))
	parallelFor(b.n, b.d, func(lo, hi int) {
		for i := lo * b.d; i < hi*b.d; i++ {
			out[i] = weights.HalfToFloat32(b.f16[i])
		}
	})
	return out
}

// Row copies row i into dst[:d] (allocating when dst is too short) and
// returns it. It panics if i is out of range.
func (b *MemoryBank) Row(i int, dst []float32) []float32 {
	if i < 0 || i >= b.n {
		panic(fmt.Sprintf("reconpatch: MemoryBank.Row: row %d of %d", i, b.n))
	}
	dst = grow(dst, b.d)
	if b.prec == Float32 {
		copy(dst, b.f32[i*b.d:][:b.d])
	} else {
		for j, h := range b.f16[i*b.d:][:b.d] {
			dst[j] = weights.HalfToFloat32(h)
		}
	}
	return dst
}

// BuildMemoryBank selects a coreset of the n×d embeddings (SelectCoreset
// with cc) and stores those rows at precision prec. It returns the bank and
// the selected row indices, in selection order.
func BuildMemoryBank(emb []float32, n, d int, cc CoresetConfig, prec Precision) (*MemoryBank, []int, error) {
	if n == 0 {
		return nil, nil, errors.New("reconpatch: BuildMemoryBank: no embeddings")
	}
	if n < 0 || d < 0 || len(emb) < n*d {
		panic(fmt.Sprintf("reconpatch: BuildMemoryBank: %d values for %d×%d", len(emb), n, d))
	}
	if d == 0 {
		return nil, nil, fmt.Errorf("reconpatch: BuildMemoryBank: empty rows %d×%d", n, d)
	}
	src, err := head.Float32FeaturesOf(emb[:n*d], d)
	if err != nil {
		return nil, nil, err
	}
	return BuildMemoryBankFrom(src, cc, prec)
}

// BuildMemoryBankFrom is BuildMemoryBank on the rows of src (such as a
// head.DiskFeatures): SelectCoresetFrom streams them, then the selected rows
// are read back. The result is BuildMemoryBank's on the same rows.
func BuildMemoryBankFrom(src head.FeatureSource, cc CoresetConfig, prec Precision) (*MemoryBank, []int, error) {
	if src.Len() == 0 {
		return nil, nil, errors.New("reconpatch: BuildMemoryBank: no embeddings")
	}
	idx, err := SelectCoresetFrom(src, cc)
	if err != nil {
		return nil, nil, err
	}
	d := src.Dim()
	rows := make([]float32, len(idx)*d)
	if err := src.Rows(idx, rows); err != nil {
		return nil, nil, fmt.Errorf("reconpatch: reading the memory bank's rows: %w", err)
	}
	bank, err := NewMemoryBank(rows, len(idx), d, prec)
	if err != nil {
		return nil, nil, err
	}
	return bank, idx, nil
}
