package weights

import (
	"encoding/binary"
	"fmt"
	"math"
)

// DType names the element type a tensor had in its file. Every loader
// converts to float32; the DType is kept so callers can tell, for example, an
// int64 counter from a learned parameter. The names are safetensors'.
type DType string

// The element types the loaders read. Integer and boolean elements convert
// to float32 exactly up to 2^24 in magnitude; F64 rounds to nearest.
const (
	F32  DType = "F32"  // IEEE binary32
	F16  DType = "F16"  // IEEE binary16
	BF16 DType = "BF16" // bfloat16: the top half of a binary32
	F64  DType = "F64"  // IEEE binary64, rounded to float32 on load
	I64  DType = "I64"  // signed 64-bit integer
	I32  DType = "I32"  // signed 32-bit integer
	I16  DType = "I16"  // signed 16-bit integer
	I8   DType = "I8"   // signed 8-bit integer
	U8   DType = "U8"   // unsigned 8-bit integer
	Bool DType = "BOOL" // one byte, 0 or 1

	// PerTensor tells WriteSafetensors to write each tensor as its own
	// DType instead of one type for all.
	PerTensor DType = ""
)

// Size is the number of bytes one element occupies in a file, or 0 for an
// unknown DType.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16, I16:
		return 2
	case I8, U8, Bool:
		return 1
	}
	return 0
}

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool {
	return d == F32 || d == F16 || d == BF16 || d == F64
}

// decode converts len(dst) elements of type d, stored back to back in src in
// the given byte order, to float32. src must hold len(dst)*d.Size() bytes.
func (d DType) decode(dst []float32, src []byte, order binary.ByteOrder) {
	switch d {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(order.Uint32(src[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = HalfToFloat32(order.Uint16(src[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(order.Uint16(src[2*i:])) << 16)
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(order.Uint64(src[8*i:])))
		}
	case I64:
		for i := range dst {
			dst[i] = float32(int64(order.Uint64(src[8*i:])))
		}
	case I32:
		for i := range dst {
			dst[i] = float32(int32(order.Uint32(src[4*i:])))
		}
	case I16:
		for i := range dst {
			dst[i] = float32(int16(order.Uint16(src[2*i:])))
		}
	case I8:
		for i := range dst {
			dst[i] = float32(int8(src[i]))
		}
	case U8:
		for i := range dst {
			dst[i] = float32(src[i])
		}
	case Bool:
		for i := range dst {
			if src[i] != 0 {
				dst[i] = 1
			} else {
				dst[i] = 0
			}
		}
	default:
		panic(fmt.Sprintf("weights: decode of dtype %q", d))
	}
}

// decodeOne converts element i of src.
func (d DType) decodeOne(src []byte, i int, order binary.ByteOrder) float32 {
	var v [1]float32
	n := d.Size()
	d.decode(v[:], src[i*n:i*n+n], order)
	return v[0]
}

// HalfToFloat32 converts an IEEE binary16 value, given by its bits, to
// float32 exactly (every binary16 value, subnormals, infinities and NaN
// included, is representable).
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN; keep the payload's top bits.
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
	case man == 0: // ±0
		return math.Float32frombits(sign)
	}
	// Subnormal: man·2^-24, exact in float32.
	f := float32(man) * (1.0 / (1 << 24))
	if sign != 0 {
		f = -f
	}
	return f
}

// Float32ToHalf converts f to IEEE binary16 bits, rounding to nearest with
// ties to even. Values too large become ±Inf, NaN stays NaN.
func Float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff { // Inf or NaN
		if man == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7e00 | uint16(man>>13)
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal or zero in binary16: value = m·2^-24 with m = round(f·2^24).
		if e < -10 {
			return sign
		}
		m := man | 0x800000 // implicit bit; value = m·2^(exp-127-23)
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		r := m >> shift
		rem := m & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // may carry into the exponent, up to Inf: correct
	}
	return sign | uint16(r)
}

// Float32ToBFloat16 converts f to bfloat16 bits, rounding to nearest with ties
// to even. NaN stays NaN.
func Float32ToBFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN: keep it quiet, don't round into Inf
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// encode converts src to elements of type d (F32, F16 or BF16) in
// little-endian order into dst, which must hold len(src)*d.Size() bytes.
func (d DType) encode(dst []byte, src []float32) {
	switch d {
	case F32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], Float32ToHalf(v))
		}
	case BF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], Float32ToBFloat16(v))
		}
	default:
		panic(fmt.Sprintf("weights: encode to dtype %q", d))
	}
}

// mulCheck returns a·b, or false if either is negative or the product
// exceeds max.
func mulCheck(a, b, max int64) (int64, bool) {
	if a < 0 || b < 0 {
		return 0, false
	}
	if a == 0 || b == 0 {
		return 0, true
	}
	if a > max/b {
		return 0, false
	}
	return a * b, true
}

// numelCheck returns the product of shape, or false if a dimension is
// negative or the product exceeds max.
func numelCheck(shape []int64, max int64) (int64, bool) {
	n := int64(1)
	for _, s := range shape {
		var ok bool
		if n, ok = mulCheck(n, s, max); !ok {
			return 0, false
		}
	}
	return n, true
}

// maxElems caps any element count a file may declare: far beyond any model,
// and small enough that byte sizes (×8) and int conversions cannot overflow.
const maxElems = 1 << 40
