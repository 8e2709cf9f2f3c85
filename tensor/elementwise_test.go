package tensor_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/reconpatch/rp/tensor"
)

// refBroadcastShape applies NumPy's rule: pad the shorter shape with leading
// ones; each pair of dimensions must match or contain a 1.
func refBroadcastShape(a, b []int) ([]int, bool) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for d := range n {
		da, db := 1, 1
		if i := d - (n - len(a)); i >= 0 {
			da = a[i]
		}
		if i := d - (n - len(b)); i >= 0 {
			db = b[i]
		}
		switch {
		case da == db:
			out[d] = da
		case da == 1:
			out[d] = db
		case db == 1:
			out[d] = da
		default:
			return nil, false
		}
	}
	return out, true
}

// broadcastAt returns x's element for index idx of a shape that x's shape
// broadcasts to.
func broadcastAt(x dense, idx []int) float64 {
	lead := len(idx) - len(x.shape)
	pos := 0
	for d, s := range x.shape {
		i := 0
		if s != 1 {
			i = idx[lead+d]
		}
		pos = pos*s + i
	}
	return x.v[pos]
}

func refBinary(a, b dense, f func(x, y float64) float64) dense {
	shape, ok := refBroadcastShape(a.shape, b.shape)
	if !ok {
		panic("test shapes do not broadcast")
	}
	out := dense{shape: shape, v: make([]float64, product(shape))}
	for pos := range out.v {
		idx := unravelIndex(shape, pos)
		// Round each operand to float32 first: the result of a float32
		// operation is the rounding of the exact float64 one.
		out.v[pos] = float64(float32(f(broadcastAt(a, idx), broadcastAt(b, idx))))
	}
	return out
}

var binaryOps = []struct {
	name    string
	op      func(a, b *tensor.Tensor) *tensor.Tensor
	inPlace func(t, b *tensor.Tensor) *tensor.Tensor
	ref     func(x, y float64) float64
}{
	{"Add", tensor.Add, (*tensor.Tensor).AddInPlace, func(x, y float64) float64 { return x + y }},
	{"Sub", tensor.Sub, (*tensor.Tensor).SubInPlace, func(x, y float64) float64 { return x - y }},
	{"Mul", tensor.Mul, (*tensor.Tensor).MulInPlace, func(x, y float64) float64 { return x * y }},
	{"Div", tensor.Div, (*tensor.Tensor).DivInPlace, func(x, y float64) float64 { return x / y }},
}

var broadcastCases = []struct{ a, b []int }{
	{[]int{2, 3}, []int{2, 3}},
	{[]int{2, 3}, []int{3}},
	{[]int{3}, []int{2, 3}},
	{[]int{2, 3}, []int{1, 3}},
	{[]int{2, 3}, []int{2, 1}},
	{[]int{2, 1}, []int{1, 3}},
	{[]int{4, 1, 3}, []int{5, 1}},
	{[]int{7, 1, 5}, []int{1, 6, 1}},
	{[]int{2, 3, 4}, []int{2, 3, 4}},
	{[]int{1}, []int{5}},
	{[]int{1, 1}, []int{1}},
	{nil, []int{2, 3}}, // 0-d
	{[]int{2, 3}, nil},
	{nil, nil},
	{[]int{0, 3}, []int{1, 3}}, // empty
	{[]int{3, 0}, []int{3, 1}},
	{[]int{0}, []int{1}},
	{[]int{2, 0, 3}, []int{3}},
	{[]int{3, 1100}, []int{1100}},       // runs longer than the scratch chunk
	{[]int{1100, 3}, []int{1100, 1}},    // many short runs
	{[]int{2, 2, 2, 2, 3}, []int{2, 3}}, // rank 5
}

func TestBinaryBroadcast(t *testing.T) {
	rng := newRand(1)
	for _, op := range binaryOps {
		for _, tc := range broadcastCases {
			for _, la := range layouts {
				for _, lb := range layouts {
					a := la.make(rng, -2, 2, tc.a)
					b := lb.make(rng, 0.25, 2, tc.b) // away from 0 for Div
					name := fmt.Sprintf("%s(%v %s, %v %s)", op.name, tc.a, la.name, tc.b, lb.name)
					t.Run(name, func(t *testing.T) {
						want := refBinary(toDense(a), toDense(b), op.ref)
						got := op.op(a, b)
						checkExact(t, got, want)
						if !got.IsContiguous() {
							t.Errorf("result is not contiguous")
						}
					})
				}
			}
		}
	}
}

func TestBinaryPanics(t *testing.T) {
	for _, op := range binaryOps {
		for _, tc := range []struct{ a, b []int }{
			{[]int{2, 3}, []int{4, 3}},
			{[]int{2, 3}, []int{2}},
			{[]int{3, 1, 2}, []int{4, 3}},
			{[]int{0}, []int{2}},
		} {
			a, b := tensor.New(tc.a...), tensor.New(tc.b...)
			mustPanic(t, func() { op.op(a, b) }, "tensor: "+op.name, fmt.Sprint(tc.a), fmt.Sprint(tc.b), "do not broadcast")
		}
	}
	// In place, b must broadcast to t's shape itself.
	mustPanic(t, func() { tensor.New(1, 3).AddInPlace(tensor.New(2, 3)) }, "AddInPlace", "[2 3]", "[1 3]")
	mustPanic(t, func() { tensor.New(3).MulInPlace(tensor.New(2, 3)) }, "MulInPlace", "[2 3]", "[3]")
	mustPanic(t, func() { tensor.New(1, 3).Expand(2, 3).AddInPlace(tensor.New(3)) }, "AddInPlace", "broadcast view", "[2 3]")
	mustPanic(t, func() { tensor.New(1, 3).Expand(2, 3).AddScalarInPlace(1) }, "AddScalarInPlace", "broadcast view")
}

func TestBinaryInPlace(t *testing.T) {
	rng := newRand(2)
	for _, op := range binaryOps {
		for _, tc := range []struct{ t, b []int }{
			{[]int{2, 3}, []int{2, 3}},
			{[]int{2, 3}, []int{3}},
			{[]int{2, 3}, []int{2, 1}},
			{[]int{4, 2, 3}, nil},
			{[]int{3, 1100}, []int{1, 1100}},
			{[]int{0, 3}, []int{3}},
		} {
			for _, lt := range layouts[:3] { // a destination may not be a broadcast
				for _, lb := range layouts {
					name := fmt.Sprintf("%s(%v %s, %v %s)", op.name, tc.t, lt.name, tc.b, lb.name)
					t.Run(name, func(t *testing.T) {
						x := lt.make(rng, -2, 2, tc.t)
						b := lb.make(rng, 0.25, 2, tc.b)
						want := refBinary(toDense(x), toDense(b), op.ref)
						if got := op.inPlace(x, b); got != x {
							t.Fatal("did not return its receiver")
						}
						checkExact(t, x, want)
					})
				}
			}
		}
	}
}

// TestInPlaceAliasing checks in-place operations whose operand shares
// memory with the destination.
func TestInPlaceAliasing(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(x *tensor.Tensor)
		want func(x dense) dense
	}{
		{"x += x", func(x *tensor.Tensor) { x.AddInPlace(x) }, func(x dense) dense {
			return refBinary(x, x, func(a, b float64) float64 { return a + b })
		}},
		{"x -= x[0]", func(x *tensor.Tensor) { x.SubInPlace(x.Narrow(0, 0, 1)) }, func(x dense) dense {
			row := dense{shape: []int{1, 4}, v: x.v[:4]}
			return refBinary(x, row, func(a, b float64) float64 { return a - b })
		}},
		{"x *= xᵀ", func(x *tensor.Tensor) {
			sq := x.Narrow(1, 0, 3)
			sq.MulInPlace(sq.Transpose(0, 1))
		}, func(x dense) dense {
			out := dense{shape: x.shape, v: append([]float64{}, x.v...)}
			for i := range 3 {
				for j := range 3 {
					out.v[i*4+j] = float64(float32(x.v[i*4+j] * x.v[j*4+i]))
				}
			}
			return out
		}},
		{"x /= x[:, 1:2] (column)", func(x *tensor.Tensor) { x.DivInPlace(x.Narrow(1, 1, 1)) }, func(x dense) dense {
			col := dense{shape: []int{3, 1}, v: []float64{x.v[1], x.v[5], x.v[9]}}
			return refBinary(x, col, func(a, b float64) float64 { return a / b })
		}},
	} {
		x := tensor.RandUniform(newRand(3), 0.5, 2, 3, 4)
		want := tc.want(toDense(x))
		tc.run(x)
		checkExact(t, x, want)
	}
}

func TestInPlaceLeavesRestOfBase(t *testing.T) {
	base := tensor.FromSlice(seq(20), 4, 5)
	view := base.Narrow(0, 1, 2).Narrow(1, 1, 3) // rows 1-2, columns 1-3
	view.AddInPlace(tensor.FromSlice([]float32{100, 200, 300}, 3))
	view.MulScalarInPlace(2).AddScalarInPlace(1)
	for i := range 4 {
		for j := range 5 {
			want := float32(i*5 + j)
			if i >= 1 && i <= 2 && j >= 1 && j <= 3 {
				want = (want+float32(100*j))*2 + 1
			}
			if got := base.At(i, j); got != want {
				t.Fatalf("base[%d,%d] = %v, want %v", i, j, got, want)
			}
		}
	}
}

var unaryOps = []struct {
	name    string
	op      func(*tensor.Tensor) *tensor.Tensor
	inPlace func(*tensor.Tensor) *tensor.Tensor
	ref     func(float64) float64
	tol     float64 // relative; 0 means exact
}{
	{"Neg", tensor.Neg, nil, func(x float64) float64 { return -x }, 0},
	{"Abs", tensor.Abs, nil, math.Abs, 0},
	{"Exp", tensor.Exp, nil, math.Exp, 1e-7},
	{"Log", tensor.Log, nil, math.Log, 1e-7},
	{"Sqrt", tensor.Sqrt, nil, math.Sqrt, 0},
	{"ReLU", tensor.ReLU, nil, func(x float64) float64 { return max(x, 0) }, 0},
	{"Clamp(-0.5,1)", func(x *tensor.Tensor) *tensor.Tensor { return tensor.Clamp(x, -0.5, 1) },
		func(x *tensor.Tensor) *tensor.Tensor { return x.ClampInPlace(-0.5, 1) },
		func(x float64) float64 { return min(max(x, -0.5), 1) }, 0},
	{"AddScalar(1.5)", func(x *tensor.Tensor) *tensor.Tensor { return tensor.AddScalar(x, 1.5) },
		func(x *tensor.Tensor) *tensor.Tensor { return x.AddScalarInPlace(1.5) },
		func(x float64) float64 { return x + 1.5 }, 0},
	{"MulScalar(-3)", func(x *tensor.Tensor) *tensor.Tensor { return tensor.MulScalar(x, -3) },
		func(x *tensor.Tensor) *tensor.Tensor { return x.MulScalarInPlace(-3) },
		func(x float64) float64 { return x * -3 }, 0},
	{"Apply(x²+1)", func(x *tensor.Tensor) *tensor.Tensor {
		return tensor.Apply(x, func(v float32) float32 { return v*v + 1 })
	}, func(x *tensor.Tensor) *tensor.Tensor {
		return x.ApplyInPlace(func(v float32) float32 { return v*v + 1 })
	}, func(x float64) float64 { return float64(float32(x*x)) + 1 }, 0},
}

func TestUnary(t *testing.T) {
	rng := newRand(4)
	for _, op := range unaryOps {
		for _, shape := range [][]int{nil, {0}, {7}, {3, 4}, {2, 3, 5}, {3, 1100}} {
			for _, l := range layouts {
				lo := float32(-3)
				if op.name == "Log" || op.name == "Sqrt" {
					lo = 0.01
				}
				x := l.make(rng, lo, 3, shape)
				in := toDense(x)
				want := dense{shape: in.shape, v: make([]float64, len(in.v))}
				for i, v := range in.v {
					want.v[i] = float64(float32(op.ref(v)))
				}
				name := fmt.Sprintf("%s(%v %s)", op.name, shape, l.name)
				t.Run(name, func(t *testing.T) {
					if op.tol == 0 {
						checkExact(t, op.op(x), want)
					} else {
						checkClose(t, op.op(x), want, op.tol, absAll(want.v))
					}
					if op.inPlace != nil && l.name != "expanded" {
						if got := op.inPlace(x); got != x {
							t.Fatal("in-place form did not return its receiver")
						}
						checkExact(t, x, want)
					}
				})
			}
		}
	}
}

func absAll(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Abs(x)
	}
	return out
}

func TestUnarySpecialValues(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	x := tensor.FromSlice([]float32{-2, -0, 0, 2, inf, -inf, nan}, 7)
	for _, tc := range []struct {
		name string
		got  *tensor.Tensor
		want []float32
	}{
		{"ReLU", tensor.ReLU(x), []float32{0, 0, 0, 2, inf, 0, nan}},
		{"Clamp", tensor.Clamp(x, -1, 1), []float32{-1, 0, 0, 1, 1, -1, nan}},
		{"Abs", tensor.Abs(x), []float32{2, 0, 0, 2, inf, inf, nan}},
		{"Sqrt", tensor.Sqrt(x), []float32{nan, 0, 0, float32(math.Sqrt2), inf, nan, nan}},
		{"Log", tensor.Log(x), []float32{nan, -inf, -inf, float32(math.Ln2), inf, nan, nan}},
		{"Exp", tensor.Exp(x), []float32{float32(math.Exp(-2)), 1, 1, float32(math.Exp(2)), inf, 0, nan}},
		{"Div by zero", tensor.Div(x, tensor.Scalar(0)), []float32{-inf, nan, nan, inf, inf, -inf, nan}},
	} {
		for i, w := range tc.want {
			g := tc.got.At(i)
			if g != w && !(g != g && w != w) {
				t.Errorf("%s(%v) = %v, want %v", tc.name, x.At(i), g, w)
			}
		}
	}
	if math.Signbit(float64(tensor.Abs(x).At(1))) {
		t.Error("Abs(-0) has its sign bit set")
	}
	mustPanic(t, func() { tensor.Clamp(x, 1, -1) }, "Clamp", "1", "-1")
}

func TestFillBroadcastSetAliases(t *testing.T) {
	base := tensor.New(1, 3)
	e := base.Expand(4, 3)
	e.Set(5, 2, 1) // writes base[0,1]
	if base.At(0, 1) != 5 || e.At(0, 1) != 5 || e.At(3, 1) != 5 {
		t.Error("Set on a broadcast view did not write the shared element")
	}
}

func BenchmarkAdd(b *testing.B) {
	rng := newRand(5)
	for _, tc := range []struct {
		name   string
		sa, sb []int
	}{
		{"1K", []int{1024}, []int{1024}},
		{"1M", []int{1 << 20}, []int{1 << 20}},
		{"1M/bias-row", []int{1024, 1024}, []int{1024}},
		{"1M/bias-col", []int{1024, 1024}, []int{1024, 1}},
		{"1M/transposed", []int{1024, 1024}, []int{1024, 1024}},
	} {
		x := tensor.RandUniform(rng, -1, 1, tc.sa...)
		y := tensor.RandUniform(rng, -1, 1, tc.sb...)
		if tc.name == "1M/transposed" {
			y = y.Transpose(0, 1)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(4 * 3 * x.Size()))
			for b.Loop() {
				tensor.Add(x, y)
			}
		})
	}
}

func BenchmarkExp(b *testing.B) {
	x := tensor.RandUniform(newRand(6), -1, 1, 1<<20)
	b.Run("1M", func(b *testing.B) {
		b.SetBytes(int64(4 * 2 * x.Size()))
		for b.Loop() {
			tensor.Exp(x)
		}
	})
}
