package tensor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// binaryMagic starts the encoding of MarshalBinary.
const binaryMagic = "rpT1"

// maxBinaryDims bounds the rank that UnmarshalBinary accepts.
const maxBinaryDims = 64

// FromBytes decodes len(b)/4 little-endian IEEE 754 float32 values as a new
// contiguous tensor of the given shape. It returns an error if a dimension is
// negative or b does not hold exactly the shape's number of values.
func FromBytes(b []byte, shape ...int) (*Tensor, error) {
	n, ok := elementCount(shape)
	if !ok || n > math.MaxInt/4 {
		return nil, fmt.Errorf("tensor: FromBytes: bad shape %v", shape)
	}
	if len(b) != 4*n {
		return nil, fmt.Errorf("tensor: FromBytes: %d bytes for shape %v (want %d)", len(b), shape, 4*n)
	}
	t := New(shape...)
	for i := range t.data {
		t.data[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return t, nil
}

// AppendBinary appends the encoding of MarshalBinary to b.
func (t *Tensor) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, binaryMagic...)
	b = binary.AppendUvarint(b, uint64(len(t.shape)))
	for _, s := range t.shape {
		b = binary.AppendUvarint(b, uint64(s))
	}
	newRowWalker(t.shape, t.strides).walk([]int{t.offset}, func(offs, steps []int, n int) {
		for i := range n {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(t.data[offs[0]+i*steps[0]]))
		}
	})
	return b, nil
}

// MarshalBinary encodes t's shape and elements: the magic "rpT1", the rank
// and each dimension as unsigned varints, then the elements in row-major
// order as little-endian float32 values. It never fails.
func (t *Tensor) MarshalBinary() ([]byte, error) {
	return t.AppendBinary(make([]byte, 0, len(binaryMagic)+binary.MaxVarintLen64*(1+t.Dims())+4*t.Size()))
}

// UnmarshalBinary replaces t with a new contiguous tensor decoded from the
// encoding of MarshalBinary; it does not keep data. It returns an error,
// leaving t unchanged, if data is not exactly one valid encoding.
func (t *Tensor) UnmarshalBinary(data []byte) error {
	if len(data) < len(binaryMagic) || string(data[:len(binaryMagic)]) != binaryMagic {
		return errors.New("tensor: UnmarshalBinary: not a tensor encoding")
	}
	data = data[len(binaryMagic):]
	rank, k := binary.Uvarint(data)
	if k <= 0 || rank > maxBinaryDims {
		return errors.New("tensor: UnmarshalBinary: bad rank")
	}
	data = data[k:]
	shape := make([]int, rank)
	for d := range shape {
		s, k := binary.Uvarint(data)
		if k <= 0 || s > math.MaxInt32 {
			return fmt.Errorf("tensor: UnmarshalBinary: bad dimension %d", d)
		}
		shape[d] = int(s)
		data = data[k:]
	}
	u, err := FromBytes(data, shape...)
	if err != nil {
		return fmt.Errorf("tensor: UnmarshalBinary: %d bytes of data for shape %v", len(data), shape)
	}
	*t = *u
	return nil
}
