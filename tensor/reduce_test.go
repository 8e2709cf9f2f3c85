package tensor_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/reconpatch/rp/tensor"
)

// refReduce reduces x along axis with f, which sees the elements of one
// result in increasing index order along the axis.
func refReduce(x dense, axis int, keepDim bool, f func(vs []float64) float64) dense {
	var shape []int
	for d, s := range x.shape {
		switch {
		case d != axis:
			shape = append(shape, s)
		case keepDim:
			shape = append(shape, 1)
		}
	}
	kept := append([]int{}, x.shape...)
	kept[axis] = 1
	out := dense{shape: shape, v: make([]float64, product(kept))}
	for pos := range out.v {
		idx := unravelIndex(kept, pos)
		vs := make([]float64, x.shape[axis])
		for i := range vs {
			idx[axis] = i
			vs[i] = x.v[ravelIndex(x.shape, idx)]
		}
		out.v[pos] = f(vs)
	}
	return out
}

func refSum(vs []float64) float64 {
	s := 0.0
	for _, v := range vs {
		s += v
	}
	return s
}

func refMean(vs []float64) float64 { return refSum(vs) / float64(len(vs)) }

// refArg returns the first index of the largest (sign 1) or smallest (sign
// -1) value, or of the first NaN.
func refArg(sign float64) func(vs []float64) float64 {
	return func(vs []float64) float64 {
		best := 0
		for i, v := range vs {
			if math.IsNaN(v) {
				return float64(i)
			}
			if sign*v > sign*vs[best] {
				best = i
			}
		}
		return float64(best)
	}
}

func refExtreme(sign float64) func(vs []float64) float64 {
	arg := refArg(sign)
	return func(vs []float64) float64 { return vs[int(arg(vs))] }
}

var reductions = []struct {
	name string
	op   func(t *tensor.Tensor, axis int, keepDim bool) *tensor.Tensor
	ref  func(vs []float64) float64
}{
	{"Sum", tensor.Sum, refSum},
	{"Mean", tensor.Mean, refMean},
	{"Max", tensor.Max, refExtreme(1)},
	{"Min", tensor.Min, refExtreme(-1)},
	{"ArgMax", tensor.ArgMax, refArg(1)},
	{"ArgMin", tensor.ArgMin, refArg(-1)},
}

// TestReduceAxis compares every reduction along every axis with the
// reference, exactly: the order of evaluation is part of the contract.
func TestReduceAxis(t *testing.T) {
	rng := newRand(10)
	shapes := [][]int{{5}, {3, 4}, {2, 3, 4}, {4, 1, 5}, {40, 30}, {3, 2000}, {1, 1}}
	for _, r := range reductions {
		for _, shape := range shapes {
			for _, l := range layouts {
				x := l.make(rng, -2, 2, shape)
				// Small integers make ties likely, to check the first one wins.
				if shape[0] == 4 && len(shape) == 3 {
					x = tensor.Apply(x, func(v float32) float32 { return float32(math.Round(float64(v))) })
				}
				in := toDense(x)
				for axis := range shape {
					for _, keep := range []bool{false, true} {
						name := fmt.Sprintf("%s(%v %s, axis %d, keep %v)", r.name, shape, l.name, axis, keep)
						t.Run(name, func(t *testing.T) {
							checkExact(t, r.op(x, axis, keep), refReduce(in, axis, keep, r.ref))
							// A negative axis names the same one.
							checkExact(t, r.op(x, axis-len(shape), keep), refReduce(in, axis, keep, r.ref))
						})
					}
				}
			}
		}
	}
}

func TestReduceDeterministic(t *testing.T) {
	x := tensor.RandNormal(newRand(11), 0, 1e4, 64, 48, 5)
	views := []*tensor.Tensor{x, x.Permute(2, 0, 1).Contiguous().Permute(1, 2, 0)}
	for axis := range 3 {
		a, b := tensor.Sum(views[0], axis, false), tensor.Sum(views[1], axis, false)
		if !tensor.Equal(a, b) {
			t.Errorf("Sum along %d depends on layout", axis)
		}
	}
	if tensor.SumAll(views[0]) != tensor.SumAll(views[1]) {
		t.Error("SumAll depends on layout")
	}
}

func TestReduceSpecial(t *testing.T) {
	nan := float32(math.NaN())
	x := tensor.FromSlice([]float32{1, nan, 3, nan, 5, 5, -1, -1}, 2, 4)
	checkExact(t, tensor.Max(x, 1, false), dense{[]int{2}, []float64{math.NaN(), 5}})
	checkExact(t, tensor.Min(x, 1, false), dense{[]int{2}, []float64{math.NaN(), -1}})
	checkExact(t, tensor.ArgMax(x, 1, false), dense{[]int{2}, []float64{1, 0}})
	checkExact(t, tensor.ArgMin(x, 1, true), dense{[]int{2, 1}, []float64{1, 2}})
	checkExact(t, tensor.Max(x, 0, false), dense{[]int{4}, []float64{5, math.NaN(), 3, math.NaN()}})
	checkExact(t, tensor.ArgMax(x, 0, false), dense{[]int{4}, []float64{1, 0, 0, 0}})

	// The sweep path of ArgMax (many results, strided axis) with NaN and ties.
	y := tensor.Full(2, 5, 20)
	y.Set(nan, 3, 7)
	y.Set(nan, 4, 7)
	y.Set(9, 2, 4)
	y.Set(9, 4, 4)
	got := tensor.ArgMax(y, 0, false)
	for j := range 20 {
		want := float32(0)
		switch j {
		case 7:
			want = 3
		case 4:
			want = 2
		}
		if got.At(j) != want {
			t.Errorf("ArgMax sweep column %d = %v, want %v", j, got.At(j), want)
		}
	}

	empty := tensor.New(0, 3)
	checkExact(t, tensor.Sum(empty, 0, false), dense{[]int{3}, []float64{0, 0, 0}})
	checkExact(t, tensor.Sum(empty, 1, true), dense{[]int{0, 1}, nil})
	if m := tensor.Mean(empty, 0, false).At(0); !math.IsNaN(float64(m)) {
		t.Errorf("Mean over an empty axis = %v, want NaN", m)
	}
	mustPanic(t, func() { tensor.Max(empty, 0, false) }, "Max", "[0 3]")
	mustPanic(t, func() { tensor.ArgMin(empty, 0, false) }, "ArgMin", "[0 3]")
	mustPanic(t, func() { tensor.MaxAll(empty) }, "MaxAll", "[0 3]")
	mustPanic(t, func() { tensor.Sum(empty, 2, false) }, "Sum", "axis 2", "[0 3]")
	if s := tensor.SumAll(empty); s != 0 {
		t.Errorf("SumAll(empty) = %v", s)
	}
	if m := tensor.MeanAll(empty); !math.IsNaN(float64(m)) {
		t.Errorf("MeanAll(empty) = %v, want NaN", m)
	}
}

func TestReduceAll(t *testing.T) {
	rng := newRand(12)
	for _, shape := range [][]int{nil, {1}, {7}, {3, 4}, {2, 3, 4}, {30, 50}} {
		for _, l := range layouts {
			x := l.make(rng, -2, 2, shape)
			in := toDense(x)
			name := fmt.Sprintf("%v %s", shape, l.name)
			sum := refSum(in.v)
			if got := tensor.SumAll(x); got != float32(sum) {
				t.Errorf("%s: SumAll = %v, want %v", name, got, float32(sum))
			}
			if got, want := tensor.MeanAll(x), float32(sum/float64(len(in.v))); got != want {
				t.Errorf("%s: MeanAll = %v, want %v", name, got, want)
			}
			for _, tc := range []struct {
				op   string
				arg  int
				val  float32
				sign float64
			}{
				{"Max", tensor.ArgMaxAll(x), tensor.MaxAll(x), 1},
				{"Min", tensor.ArgMinAll(x), tensor.MinAll(x), -1},
			} {
				want := int(refArg(tc.sign)(in.v))
				if tc.arg != want || tc.val != float32(in.v[want]) {
					t.Errorf("%s: Arg%sAll = %d, %sAll = %v; want %d, %v", name, tc.op, tc.arg, tc.op, tc.val, want, in.v[want])
				}
			}
		}
	}
	x := tensor.FromSlice([]float32{3, 1, 3, float32(math.NaN()), 1}, 5)
	if got := tensor.ArgMaxAll(x); got != 3 {
		t.Errorf("ArgMaxAll with NaN = %d, want 3", got)
	}
	if got := tensor.MinAll(x); !math.IsNaN(float64(got)) {
		t.Errorf("MinAll with NaN = %v", got)
	}
	if got := tensor.ArgMaxAll(tensor.FromSlice([]float32{1, 3, 3}, 3)); got != 1 {
		t.Errorf("ArgMaxAll tie = %d, want 1", got)
	}
}

func BenchmarkSum(b *testing.B) {
	x := tensor.RandUniform(newRand(13), -1, 1, 1024, 1024)
	for _, axis := range []int{0, 1} {
		b.Run(fmt.Sprintf("1M/axis%d", axis), func(b *testing.B) {
			b.SetBytes(int64(4 * x.Size()))
			for b.Loop() {
				tensor.Sum(x, axis, false)
			}
		})
	}
}

func BenchmarkArgMax(b *testing.B) {
	x := tensor.RandUniform(newRand(14), -1, 1, 1024, 1024)
	for _, axis := range []int{0, 1} {
		b.Run(fmt.Sprintf("1M/axis%d", axis), func(b *testing.B) {
			b.SetBytes(int64(4 * x.Size()))
			for b.Loop() {
				tensor.ArgMax(x, axis, false)
			}
		})
	}
}
