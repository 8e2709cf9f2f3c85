package tensor_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"github.com/reconpatch/rp/tensor"
)

func TestBinaryRoundTrip(t *testing.T) {
	rng := newRand(50)
	for _, x := range []*tensor.Tensor{
		tensor.Scalar(3),
		tensor.New(0, 4),
		tensor.RandNormal(rng, 0, 1, 3, 4, 5),
		tensor.RandNormal(rng, 0, 1, 3, 4, 5).Permute(2, 0, 1).Narrow(0, 1, 3),
		tensor.FromSlice([]float32{float32(math.Inf(-1)), float32(math.Copysign(0, -1))}, 2),
	} {
		b, err := x.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var y tensor.Tensor
		if err := y.UnmarshalBinary(b); err != nil {
			t.Fatalf("UnmarshalBinary of shape %v: %v", x.Shape(), err)
		}
		if !tensor.Equal(x, &y) || !y.IsContiguous() {
			t.Errorf("round trip of shape %v gave %v", x.Shape(), y.Shape())
		}
	}
}

func TestBinaryFormat(t *testing.T) {
	x := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3).Transpose(0, 1)
	b, _ := x.MarshalBinary()
	want := []byte("rpT1")
	want = append(want, 2, 3, 2)
	for _, v := range []float32{1, 4, 2, 5, 3, 6} {
		want = binary.LittleEndian.AppendUint32(want, math.Float32bits(v))
	}
	if !bytes.Equal(b, want) {
		t.Errorf("MarshalBinary = %x, want %x", b, want)
	}
	raw := want[7:]
	y, err := tensor.FromBytes(raw, 3, 2)
	if err != nil || !tensor.Equal(x, y) {
		t.Errorf("FromBytes = %v, %v", y, err)
	}
	raw[0] = 99 // FromBytes copies.
	if y.At(0, 0) != 1 {
		t.Error("FromBytes kept its input")
	}
}

func TestBinaryErrors(t *testing.T) {
	good, _ := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3).MarshalBinary()
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"magic", append([]byte("rpT2"), good[4:]...)},
		{"no rank", good[:4]},
		{"truncated dims", good[:6]},
		{"truncated data", good[:len(good)-1]},
		{"trailing data", append(append([]byte{}, good...), 0)},
		{"huge rank", append([]byte("rpT1"), 0xff, 0xff, 0xff, 0xff, 0x0f)},
		{"huge dims", append([]byte("rpT1"), 3, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f)},
		{"bad varint", append([]byte("rpT1"), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)},
	} {
		x := tensor.Scalar(7)
		if err := x.UnmarshalBinary(tc.data); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
		if x.At() != 7 || x.Dims() != 0 {
			t.Errorf("%s: failed UnmarshalBinary changed its receiver", tc.name)
		}
	}
	for _, tc := range []struct {
		n     int
		shape []int
	}{{7, []int{2}}, {8, []int{-1, -2}}, {4, []int{1 << 40, 1 << 40}}, {4, []int{1 << 61}}} {
		if _, err := tensor.FromBytes(make([]byte, tc.n), tc.shape...); err == nil {
			t.Errorf("FromBytes(%d bytes, %v): no error", tc.n, tc.shape)
		}
	}
	// An empty shape may have huge dimensions besides the zero.
	if x, err := tensor.FromBytes(nil, 1<<62, 1<<62, 0); err != nil || x.Size() != 0 {
		t.Errorf("FromBytes(nil, 2^62, 2^62, 0) = %v, %v", x, err)
	}
}

func FuzzUnmarshalBinary(f *testing.F) {
	good, _ := tensor.RandNormal(newRand(51), 0, 1, 2, 3).MarshalBinary()
	f.Add(good)
	f.Add([]byte("rpT1\x00\x00\x00\x80\x3f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var x tensor.Tensor
		if err := x.UnmarshalBinary(data); err != nil {
			return
		}
		again, err := x.MarshalBinary()
		if err != nil || !bytes.Equal(again, data) {
			// Varints have more than one encoding; compare values instead.
			var y tensor.Tensor
			if err := y.UnmarshalBinary(again); err != nil || !sameShape(x.Shape(), y.Shape()) {
				t.Fatalf("re-encoding failed: %v", err)
			}
		}
	})
}
