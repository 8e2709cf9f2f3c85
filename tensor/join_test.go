package tensor_test

import (
	"fmt"
	"testing"

	"github.com/reconpatch/rp/tensor"
)

func TestConcat(t *testing.T) {
	rng := newRand(30)
	for _, tc := range []struct {
		shapes [][]int
		axis   int
	}{
		{[][]int{{2, 3}, {4, 3}}, 0},
		{[][]int{{2, 3}, {2, 1}, {2, 5}}, 1},
		{[][]int{{2, 3}, {2, 1}, {2, 5}}, -1},
		{[][]int{{2, 3, 4}, {2, 2, 4}}, 1},
		{[][]int{{2, 0, 4}, {2, 2, 4}}, 1},
		{[][]int{{5}}, 0},
	} {
		for _, l := range layouts {
			ts := make([]*tensor.Tensor, len(tc.shapes))
			ins := make([]dense, len(tc.shapes))
			for i, s := range tc.shapes {
				ts[i] = l.make(rng, -1, 1, s)
				ins[i] = toDense(ts[i])
			}
			ax := (tc.axis + len(tc.shapes[0])) % len(tc.shapes[0])
			// Reference: walk the output; find the input by position on ax.
			shape := append([]int{}, tc.shapes[0]...)
			shape[ax] = 0
			for _, s := range tc.shapes {
				shape[ax] += s[ax]
			}
			want := dense{shape: shape, v: make([]float64, product(shape))}
			for pos := range want.v {
				idx := unravelIndex(shape, pos)
				i := 0
				for idx[ax] >= tc.shapes[i][ax] {
					idx[ax] -= tc.shapes[i][ax]
					i++
				}
				want.v[pos] = ins[i].v[ravelIndex(ins[i].shape, idx)]
			}
			t.Run(fmt.Sprintf("%v axis %d %s", tc.shapes, tc.axis, l.name), func(t *testing.T) {
				checkExact(t, tensor.Concat(tc.axis, ts...), want)
			})
		}
	}
	mustPanic(t, func() { tensor.Concat(0, tensor.New(2, 3), tensor.New(2, 4)) }, "Concat", "[2 3]", "[2 4]")
	mustPanic(t, func() { tensor.Concat(0, tensor.New(2, 3), tensor.New(6)) }, "Concat", "[2 3]", "[6]")
	mustPanic(t, func() { tensor.Concat(0) }, "Concat")
}

func TestStack(t *testing.T) {
	a := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	b := tensor.FromSlice([]float32{7, 8, 9, 10, 11, 12}, 3, 2).Transpose(0, 1) // [[7 9 11] [8 10 12]]
	checkExact(t, tensor.Stack(0, a, b), dense{[]int{2, 2, 3}, []float64{1, 2, 3, 4, 5, 6, 7, 9, 11, 8, 10, 12}})
	checkExact(t, tensor.Stack(1, a, b), dense{[]int{2, 2, 3}, []float64{1, 2, 3, 7, 9, 11, 4, 5, 6, 8, 10, 12}})
	checkExact(t, tensor.Stack(-1, a, b), dense{[]int{2, 3, 2}, []float64{1, 7, 2, 9, 3, 11, 4, 8, 5, 10, 6, 12}})
	checkExact(t, tensor.Stack(0, tensor.Scalar(1), tensor.Scalar(2)), dense{[]int{2}, []float64{1, 2}})
	mustPanic(t, func() { tensor.Stack(0, a, tensor.New(3, 2)) }, "Stack", "[2 3]", "[3 2]")
}

func TestIndexSelect(t *testing.T) {
	rng := newRand(31)
	for _, l := range layouts {
		x := l.make(rng, -1, 1, []int{4, 3, 5})
		in := toDense(x)
		for _, tc := range []struct {
			axis    int
			indices []int
		}{
			{0, []int{3, 0, 0, 2}},
			{1, []int{2}},
			{2, []int{4, 1, 3, 1, 0, 2}},
			{-1, []int{}},
		} {
			ax := (tc.axis + 3) % 3
			shape := append([]int{}, in.shape...)
			shape[ax] = len(tc.indices)
			want := dense{shape: shape, v: make([]float64, product(shape))}
			for pos := range want.v {
				idx := unravelIndex(shape, pos)
				idx[ax] = tc.indices[idx[ax]]
				want.v[pos] = in.v[ravelIndex(in.shape, idx)]
			}
			t.Run(fmt.Sprintf("%s axis %d %v", l.name, tc.axis, tc.indices), func(t *testing.T) {
				checkExact(t, tensor.IndexSelect(x, tc.axis, tc.indices), want)
			})
		}
	}
	mustPanic(t, func() { tensor.IndexSelect(tensor.New(4, 3), 1, []int{0, 3}) }, "IndexSelect", "index 3", "[4 3]")
}

func TestGather(t *testing.T) {
	rng := newRand(32)
	for _, l := range layouts {
		x := l.make(rng, -1, 1, []int{4, 3, 5})
		in := toDense(x)
		for axis := range 3 {
			// Index shape: no larger than x outside axis, any size along it.
			ishape := []int{3, 2, 4}
			ishape[axis] = 6
			index := tensor.New(ishape...)
			for pos := range product(ishape) {
				idx := unravelIndex(ishape, pos)
				index.Set(float32(rng.IntN(in.shape[axis])), idx...)
			}
			want := dense{shape: ishape, v: make([]float64, product(ishape))}
			for pos := range want.v {
				idx := unravelIndex(ishape, pos)
				idx[axis] = int(index.At(idx...))
				want.v[pos] = in.v[ravelIndex(in.shape, idx)]
			}
			t.Run(fmt.Sprintf("%s axis %d", l.name, axis), func(t *testing.T) {
				checkExact(t, tensor.Gather(x, axis, index), want)
				// The index may itself be a view.
				checkExact(t, tensor.Gather(x, axis, index.Contiguous().Permute(0, 1, 2)), want)
			})
		}
	}
	// ArgMax with keepDim feeds Gather: the maxima.
	x := tensor.RandUniform(rng, -1, 1, 6, 7)
	if g, m := tensor.Gather(x, 1, tensor.ArgMax(x, 1, true)), tensor.Max(x, 1, true); !tensor.Equal(g, m) {
		t.Errorf("Gather(ArgMax) = %v, want %v", g, m)
	}
	mustPanic(t, func() { tensor.Gather(x, 1, tensor.Full(7, 6, 1)) }, "Gather", "7", "[6 7]")
	mustPanic(t, func() { tensor.Gather(x, 1, tensor.Full(0.5, 6, 1)) }, "Gather", "0.5", "[6 7]")
	mustPanic(t, func() { tensor.Gather(x, 1, tensor.New(7, 1)) }, "Gather", "[6 7]", "[7 1]")
	mustPanic(t, func() { tensor.Gather(x, 1, tensor.New(6)) }, "Gather", "[6 7]", "[6]")
}
