package tensor_test

import (
	"math"
	"slices"
	"testing"

	"github.com/reconpatch/rp/tensor"
)

func seq(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(i)
	}
	return s
}

func TestNewAndFromSlice(t *testing.T) {
	for _, tc := range []struct {
		shape, strides []int
		size           int
	}{
		{nil, []int{}, 1},
		{[]int{5}, []int{1}, 5},
		{[]int{2, 3}, []int{3, 1}, 6},
		{[]int{2, 3, 4}, []int{12, 4, 1}, 24},
		{[]int{2, 0, 4}, []int{0, 4, 1}, 0},
	} {
		x := tensor.New(tc.shape...)
		if !sameShape(x.Shape(), tc.shape) || !slices.Equal(x.Strides(), tc.strides) || x.Size() != tc.size || x.Dims() != len(tc.shape) {
			t.Errorf("New(%v): shape %v strides %v size %d dims %d", tc.shape, x.Shape(), x.Strides(), x.Size(), x.Dims())
		}
		if !x.IsContiguous() {
			t.Errorf("New(%v) is not contiguous", tc.shape)
		}
		for _, v := range x.Data() {
			if v != 0 {
				t.Fatalf("New(%v) not zero", tc.shape)
			}
		}
		data := seq(tc.size)
		y := tensor.FromSlice(data, tc.shape...)
		if tc.size > 0 {
			y.Data()[0] = 42
			if data[0] != 42 {
				t.Errorf("FromSlice(%v) copied its data", tc.shape)
			}
		}
	}
	mustPanic(t, func() { tensor.FromSlice(seq(5), 2, 3) }, "5", "[2 3]")
	mustPanic(t, func() { tensor.New(2, -1) }, "[2 -1]")
	if got := tensor.New(2, 3, 4).Dim(-1); got != 4 {
		t.Errorf("Dim(-1) = %d, want 4", got)
	}
	mustPanic(t, func() { tensor.New(2, 3).Dim(2) }, "axis 2", "[2 3]")
}

func TestAtMatchesStrides(t *testing.T) {
	x := tensor.FromSlice(seq(24), 2, 3, 4)
	for i := range 2 {
		for j := range 3 {
			for k := range 4 {
				if got, want := x.At(i, j, k), float32(i*12+j*4+k); got != want {
					t.Fatalf("At(%d,%d,%d) = %v, want %v", i, j, k, got, want)
				}
			}
		}
	}
	x.Set(-1, 1, 2, 3)
	if x.Data()[23] != -1 {
		t.Errorf("Set(-1, 1, 2, 3) did not write element 23")
	}
	if got := tensor.Scalar(2.5).At(); got != 2.5 {
		t.Errorf("Scalar(2.5).At() = %v", got)
	}
	mustPanic(t, func() { x.At(0, 3, 0) }, "[0 3 0]", "[2 3 4]")
	mustPanic(t, func() { x.At(0, 0) }, "[0 0]", "[2 3 4]")
	mustPanic(t, func() { x.Set(1, -1, 0, 0) }, "[-1 0 0]", "[2 3 4]")
}

func TestConstructors(t *testing.T) {
	if d := tensor.Ones(2, 2).Data(); !slices.Equal(d, []float32{1, 1, 1, 1}) {
		t.Errorf("Ones = %v", d)
	}
	if d := tensor.Full(-3, 3).Data(); !slices.Equal(d, []float32{-3, -3, -3}) {
		t.Errorf("Full = %v", d)
	}
	if d := tensor.Zeros(2).Data(); !slices.Equal(d, []float32{0, 0}) {
		t.Errorf("Zeros = %v", d)
	}
	for _, tc := range []struct {
		start, stop, step float32
		want              []float32
	}{
		{0, 5, 1, []float32{0, 1, 2, 3, 4}},
		{1, 2, 0.25, []float32{1, 1.25, 1.5, 1.75}},
		{5, 0, -2, []float32{5, 3, 1}},
		{0, 0, 1, []float32{}},
		{3, 1, 1, []float32{}},
		{0, 1, 0.1, []float32{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.90000004}},
	} {
		got := tensor.Arange(tc.start, tc.stop, tc.step)
		if got.Dims() != 1 || !slices.Equal(got.Data(), tc.want) {
			t.Errorf("Arange(%v, %v, %v) = %v, want %v", tc.start, tc.stop, tc.step, got.Data(), tc.want)
		}
	}
	mustPanic(t, func() { tensor.Arange(0, 1, 0) }, "step")
}

func TestFillCloneContiguous(t *testing.T) {
	base := tensor.FromSlice(seq(12), 3, 4)
	view := base.Narrow(1, 1, 2) // columns 1 and 2
	view.Fill(7)
	want := []float32{0, 7, 7, 3, 4, 7, 7, 7, 8, 7, 7, 11}
	if !slices.Equal(base.Data(), want) {
		t.Fatalf("Fill of a view: base = %v, want %v", base.Data(), want)
	}

	tr := base.Transpose(0, 1) // [4 3]
	if tr.IsContiguous() {
		t.Fatal("transpose reported contiguous")
	}
	mustPanic(t, func() { tr.Data() }, "non-contiguous", "[4 3]")
	c := tr.Contiguous()
	if !c.IsContiguous() || !sameShape(c.Shape(), []int{4, 3}) {
		t.Fatalf("Contiguous: shape %v contiguous %v", c.Shape(), c.IsContiguous())
	}
	for i := range 4 {
		for j := range 3 {
			if c.At(i, j) != base.Data()[j*4+i] {
				t.Fatalf("Contiguous()[%d,%d] = %v, want %v", i, j, c.At(i, j), base.Data()[j*4+i])
			}
		}
	}
	if base.Contiguous() != base {
		t.Error("Contiguous of a contiguous tensor copied")
	}
	cl := base.Clone()
	cl.Set(100, 0, 0)
	if base.At(0, 0) == 100 {
		t.Error("Clone shares memory")
	}
	if !tensor.Equal(cl.Narrow(0, 1, 2), base.Narrow(0, 1, 2)) {
		t.Error("Clone changed values")
	}
}

func TestEqualAllClose(t *testing.T) {
	a := tensor.FromSlice([]float32{1, 2, 3, 4}, 2, 2)
	b := tensor.FromSlice([]float32{1, 3, 2, 4}, 2, 2).Transpose(0, 1)
	if !tensor.Equal(a, b) {
		t.Error("Equal of equal values in different layouts is false")
	}
	if tensor.Equal(a, a.Reshape(4)) {
		t.Error("Equal ignores shape")
	}
	c := tensor.FromSlice([]float32{1, 2, 3, 4.001}, 2, 2)
	if tensor.Equal(a, c) || !tensor.AllClose(a, c, 1e-3, 0) || tensor.AllClose(a, c, 1e-4, 0) {
		t.Error("AllClose tolerance wrong")
	}
	n := tensor.FromSlice([]float32{float32(math.NaN())})
	if tensor.Equal(n, n) {
		t.Error("NaN equals NaN")
	}
}
