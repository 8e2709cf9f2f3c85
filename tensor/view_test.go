package tensor_test

import (
	"testing"

	"github.com/reconpatch/rp/tensor"
)

// sharesMemory reports whether writing v's first element changes base.
func sharesMemory(base, v *tensor.Tensor) bool {
	if v.Size() == 0 {
		return false
	}
	before := toDense(base)
	idx := make([]int, v.Dims())
	old := v.At(idx...)
	v.Set(old+1000, idx...)
	after := toDense(base)
	v.Set(old, idx...)
	for i := range before.v {
		if before.v[i] != after.v[i] {
			return true
		}
	}
	return false
}

// checkView checks every element of v against base's data at the position
// that index math gives for it.
func checkView(t *testing.T, name string, v *tensor.Tensor, shape []int, data []float32, pos func(idx []int) int) {
	t.Helper()
	if !sameShape(v.Shape(), shape) {
		t.Fatalf("%s: shape %v, want %v", name, v.Shape(), shape)
	}
	for p := range product(shape) {
		idx := unravelIndex(shape, p)
		if got, want := v.At(idx...), data[pos(idx)]; got != want {
			t.Fatalf("%s: at %v got %v, want %v", name, idx, got, want)
		}
	}
}

func TestViews(t *testing.T) {
	data := seq(2 * 3 * 4)
	x := tensor.FromSlice(data, 2, 3, 4) // x[i][j][k] = data[12i + 4j + k]
	for _, tc := range []struct {
		name  string
		view  *tensor.Tensor
		shape []int
		pos   func(idx []int) int
	}{
		{"Permute(2,0,1)", x.Permute(2, 0, 1), []int{4, 2, 3}, func(i []int) int { return 12*i[1] + 4*i[2] + i[0] }},
		{"Permute(-1,1,0)", x.Permute(-1, 1, 0), []int{4, 3, 2}, func(i []int) int { return 12*i[2] + 4*i[1] + i[0] }},
		{"Transpose(0,2)", x.Transpose(0, 2), []int{4, 3, 2}, func(i []int) int { return 12*i[2] + 4*i[1] + i[0] }},
		{"Transpose(-2,-1)", x.Transpose(-2, -1), []int{2, 4, 3}, func(i []int) int { return 12*i[0] + 4*i[2] + i[1] }},
		{"Narrow(1,1,2)", x.Narrow(1, 1, 2), []int{2, 2, 4}, func(i []int) int { return 12*i[0] + 4*(i[1]+1) + i[2] }},
		{"Narrow(-1,3,1)", x.Narrow(-1, 3, 1), []int{2, 3, 1}, func(i []int) int { return 12*i[0] + 4*i[1] + 3 }},
		{"Narrow(0,1,0)", x.Narrow(0, 1, 0), []int{0, 3, 4}, nil},
		{"Slice(2,1,3)", x.Slice(2, 1, 3), []int{2, 3, 2}, func(i []int) int { return 12*i[0] + 4*i[1] + i[2] + 1 }},
		{"Select(1,2)", x.Select(1, 2), []int{2, 4}, func(i []int) int { return 12*i[0] + 8 + i[1] }},
		{"Select(0,1).Select(0,1)", x.Select(0, 1).Select(0, 1), []int{4}, func(i []int) int { return 16 + i[0] }},
		{"Unsqueeze(0)", x.Unsqueeze(0), []int{1, 2, 3, 4}, func(i []int) int { return 12*i[1] + 4*i[2] + i[3] }},
		{"Unsqueeze(-1)", x.Unsqueeze(-1), []int{2, 3, 4, 1}, func(i []int) int { return 12*i[0] + 4*i[1] + i[2] }},
		{"Unsqueeze(1)", x.Unsqueeze(1), []int{2, 1, 3, 4}, func(i []int) int { return 12*i[0] + 4*i[2] + i[3] }},
		{"Narrow.Squeeze", x.Narrow(1, 2, 1).Squeeze(), []int{2, 4}, func(i []int) int { return 12*i[0] + 8 + i[1] }},
		{"Squeeze(1)", x.Narrow(1, 0, 1).Narrow(0, 1, 1).Squeeze(1), []int{1, 4}, func(i []int) int { return 12 + i[1] }},
		{"Expand row", x.Select(0, 0).Select(0, 1).Expand(3, 4), []int{3, 4}, func(i []int) int { return 4 + i[1] }},
		{"Expand lead", x.Expand(5, 2, 3, 4), []int{5, 2, 3, 4}, func(i []int) int { return 12*i[1] + 4*i[2] + i[3] }},
		{"Expand mid", x.Narrow(1, 1, 1).Expand(2, 6, 4), []int{2, 6, 4}, func(i []int) int { return 12*i[0] + 4 + i[2] }},
		{"Expand to 0", x.Narrow(1, 1, 1).Expand(2, 0, 4), []int{2, 0, 4}, nil},
		{"Reshape view", x.Reshape(6, 4), []int{6, 4}, func(i []int) int { return 4*i[0] + i[1] }},
		{"Reshape -1", x.Reshape(-1, 2, 2), []int{6, 2, 2}, func(i []int) int { return 4*i[0] + 2*i[1] + i[2] }},
		{"Reshape flat", x.Reshape(-1), []int{24}, func(i []int) int { return i[0] }},
		{"Reshape 0-d", x.Narrow(0, 1, 1).Narrow(1, 2, 1).Narrow(2, 3, 1).Reshape(), nil, func([]int) int { return 23 }},
		{"Permute.Reshape", x.Permute(2, 0, 1).Reshape(4, 6), []int{4, 6}, func(i []int) int { return 12*(i[1]/3) + 4*(i[1]%3) + i[0] }},
		{"Narrow.Reshape", x.Narrow(2, 0, 2).Reshape(2, 3, 2, 1), []int{2, 3, 2, 1}, func(i []int) int { return 12*i[0] + 4*i[1] + i[2] }},
		{"Expand.Reshape", x.Narrow(0, 0, 1).Expand(3, 3, 4).Reshape(3, 12), []int{3, 12}, func(i []int) int { return i[1] }},
	} {
		if tc.pos == nil {
			if !sameShape(tc.view.Shape(), tc.shape) || tc.view.Size() != 0 {
				t.Errorf("%s: shape %v, want empty %v", tc.name, tc.view.Shape(), tc.shape)
			}
			continue
		}
		checkView(t, tc.name, tc.view, tc.shape, data, tc.pos)
	}
}

// TestReshapeViewOrCopy checks when Reshape shares memory: always for
// contiguous input and for views whose merged dimensions are contiguous
// among themselves; a copy otherwise.
func TestReshapeViewOrCopy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		base  func() *tensor.Tensor
		from  func(*tensor.Tensor) *tensor.Tensor
		shape []int
		view  bool
	}{
		{"contiguous", nil, func(x *tensor.Tensor) *tensor.Tensor { return x }, []int{4, 6}, true},
		{"split columns of narrowed", nil, func(x *tensor.Tensor) *tensor.Tensor { return x.Narrow(2, 0, 2) }, []int{2, 3, 2, 1}, true},
		{"merge leading of narrowed", nil, func(x *tensor.Tensor) *tensor.Tensor { return x.Narrow(2, 1, 2) }, []int{6, 2}, true},
		{"merge across a gap", nil, func(x *tensor.Tensor) *tensor.Tensor { return x.Narrow(2, 1, 2) }, []int{12}, false},
		{"split a permuted dim", nil, func(x *tensor.Tensor) *tensor.Tensor { return x.Permute(2, 0, 1) }, []int{2, 2, 2, 3}, true},
		{"merge permuted", nil, func(x *tensor.Tensor) *tensor.Tensor { return x.Permute(2, 0, 1) }, []int{4, 6}, true},
		{"flatten permuted", nil, func(x *tensor.Tensor) *tensor.Tensor { return x.Permute(2, 0, 1) }, []int{24}, false},
		{"flatten transposed", nil, func(x *tensor.Tensor) *tensor.Tensor { return x.Transpose(1, 2) }, []int{2, 12}, false},
		{"flatten expanded", nil, func(x *tensor.Tensor) *tensor.Tensor { return x.Narrow(0, 0, 1).Expand(3, 3, 4) }, []int{36}, false},
		{"add ones to transposed", nil, func(x *tensor.Tensor) *tensor.Tensor { return x.Transpose(0, 2) }, []int{1, 4, 3, 1, 2}, true},
	} {
		x := tensor.FromSlice(seq(24), 2, 3, 4)
		v := tc.from(x)
		r := v.Reshape(tc.shape...)
		// Values: the view's elements in row-major order.
		want := toDense(v).v
		got := toDense(r).v
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: element %d = %v, want %v", tc.name, i, got[i], want[i])
			}
		}
		if shares := sharesMemory(x, r); shares != tc.view {
			t.Errorf("%s: Reshape(%v) of shape %v strides %v: view %v, want %v", tc.name, tc.shape, v.Shape(), v.Strides(), shares, tc.view)
		}
	}
}

func TestViewPanics(t *testing.T) {
	x := tensor.New(2, 3, 4)
	mustPanic(t, func() { x.Reshape(5, 5) }, "[2 3 4]", "[5 5]")
	mustPanic(t, func() { x.Reshape(-1, -1) }, "[2 3 4]")
	mustPanic(t, func() { x.Reshape(-1, 5) }, "[2 3 4]", "5]")
	mustPanic(t, func() { x.Permute(0, 1) }, "[0 1]", "[2 3 4]")
	mustPanic(t, func() { x.Permute(0, 1, 1) }, "[0 1 1]", "[2 3 4]")
	mustPanic(t, func() { x.Transpose(0, 3) }, "axis 3", "[2 3 4]")
	mustPanic(t, func() { x.Narrow(1, 2, 2) }, "[2 3 4]")
	mustPanic(t, func() { x.Narrow(1, -1, 1) }, "[2 3 4]")
	mustPanic(t, func() { x.Slice(2, 3, 2) }, "[2 3 4]")
	mustPanic(t, func() { x.Select(0, 2) }, "index 2", "[2 3 4]")
	mustPanic(t, func() { x.Expand(2, 6, 4) }, "[2 3 4]", "[2 6 4]")
	mustPanic(t, func() { x.Expand(3, 4) }, "[2 3 4]", "[3 4]")
	mustPanic(t, func() { x.Squeeze(1) }, "[2 3 4]")
	mustPanic(t, func() { x.Unsqueeze(4) }, "[2 3 4]")
	mustPanic(t, func() { x.Unsqueeze(-5) }, "[2 3 4]")
}

func TestViewsShareMemory(t *testing.T) {
	x := tensor.FromSlice(seq(24), 2, 3, 4)
	for name, v := range map[string]*tensor.Tensor{
		"Permute":   x.Permute(1, 2, 0),
		"Transpose": x.Transpose(0, 1),
		"Narrow":    x.Narrow(2, 1, 2),
		"Select":    x.Select(1, 1),
		"Expand":    x.Expand(2, 2, 3, 4),
		"Squeeze":   x.Unsqueeze(1).Squeeze(),
		"Unsqueeze": x.Unsqueeze(3),
	} {
		if !sharesMemory(x, v) {
			t.Errorf("%s copied", name)
		}
	}
}
