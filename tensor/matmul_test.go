package tensor_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/reconpatch/rp/simd"
	"github.com/reconpatch/rp/tensor"
)

// refMatMul multiplies in float64 with NumPy's batch broadcasting, and
// returns Σ|a||b| per element as the scale of the float32 rounding error.
func refMatMul(a, b dense) (out dense, scale []float64) {
	ra, rb := len(a.shape), len(b.shape)
	m, k, n := a.shape[ra-2], a.shape[ra-1], b.shape[rb-1]
	batch, ok := refBroadcastShape(a.shape[:ra-2], b.shape[:rb-2])
	if !ok {
		panic("test batch shapes do not broadcast")
	}
	shape := append(append([]int{}, batch...), m, n)
	out = dense{shape: shape, v: make([]float64, product(shape))}
	scale = make([]float64, len(out.v))
	for pos := range out.v {
		idx := unravelIndex(shape, pos)
		// ia = [batch… i p], ib = [batch… p j]
		r := len(batch)
		ia := append([]int{}, idx...)
		ib := append([]int{}, idx...)
		var s, mag float64
		for p := range k {
			ia[r+1], ib[r] = p, p
			x, y := broadcastAt(a, ia), broadcastAt(b, ib)
			s += x * y
			mag += math.Abs(x * y)
		}
		out.v[pos], scale[pos] = s, mag
	}
	return out, scale
}

// matrixLayout makes a tensor of shape [batch… rows cols] with a given
// layout of its last two dimensions.
type matrixLayout struct {
	name string
	make func(rng *rand.Rand, shape []int) *tensor.Tensor
}

func swapLast(s []int) []int {
	s = append([]int{}, s...)
	n := len(s)
	s[n-2], s[n-1] = s[n-1], s[n-2]
	return s
}

var matrixLayouts = []matrixLayout{
	{"rowmajor", func(rng *rand.Rand, shape []int) *tensor.Tensor {
		return tensor.RandUniform(rng, -1, 1, shape...)
	}},
	{"transposed", func(rng *rand.Rand, shape []int) *tensor.Tensor {
		// Stored [… cols rows]; Sgemm reads it with the transpose flag.
		return tensor.RandUniform(rng, -1, 1, swapLast(shape)...).Transpose(-2, -1)
	}},
	{"padded", func(rng *rand.Rand, shape []int) *tensor.Tensor {
		// A window of a wider matrix: leading dimension > cols.
		big := append([]int{}, shape...)
		big[len(big)-1] += 5
		return tensor.RandUniform(rng, -1, 1, big...).Narrow(-1, 3, shape[len(shape)-1])
	}},
	{"padded-transposed", func(rng *rand.Rand, shape []int) *tensor.Tensor {
		big := swapLast(shape)
		big[len(big)-1] += 4
		return tensor.RandUniform(rng, -1, 1, big...).Narrow(-1, 1, shape[len(shape)-2]).Transpose(-2, -1)
	}},
	{"strided", func(rng *rand.Rand, shape []int) *tensor.Tensor {
		// Column stride 2: Sgemm cannot read it, so it is copied.
		big := append(append([]int{}, shape...), 2)
		return tensor.RandUniform(rng, -1, 1, big...).Select(-1, 1)
	}},
}

func checkMatMul(t *testing.T, a, b *tensor.Tensor) {
	t.Helper()
	want, scale := refMatMul(toDense(a), toDense(b))
	got := tensor.MatMul(a, b)
	// Float32 GEMM: error ≤ about k·ε·Σ|a||b|; allow a margin.
	k := a.Dim(-1)
	checkClose(t, got, want, float64(k+2)*0x1p-23, scale)
}

func TestMatMul2D(t *testing.T) {
	rng := newRand(20)
	for _, size := range [][3]int{{1, 1, 1}, {1, 7, 1}, {3, 5, 7}, {7, 1, 3}, {17, 33, 9}, {64, 70, 65}} {
		m, k, n := size[0], size[1], size[2]
		for _, la := range matrixLayouts {
			for _, lb := range matrixLayouts {
				t.Run(fmt.Sprintf("%dx%dx%d/%s*%s", m, k, n, la.name, lb.name), func(t *testing.T) {
					checkMatMul(t, la.make(rng, []int{m, k}), lb.make(rng, []int{k, n}))
				})
			}
		}
	}
	// Large enough for Sgemm to use several workers.
	checkMatMul(t, matrixLayouts[1].make(rng, []int{130, 300}), tensor.RandUniform(rng, -1, 1, 300, 120))
}

func TestMatMulBatched(t *testing.T) {
	rng := newRand(21)
	const m, k, n = 5, 6, 7
	for _, tc := range []struct{ a, b []int }{
		{[]int{3, m, k}, []int{3, k, n}},
		{[]int{3, m, k}, []int{k, n}},       // b shared: one stacked product
		{[]int{3, m, k}, []int{1, k, n}},    // likewise
		{[]int{m, k}, []int{3, k, n}},       // a shared
		{[]int{1, m, k}, []int{3, k, n}},    // likewise
		{[]int{2, 1, m, k}, []int{3, k, n}}, // batch dims broadcast both ways
		{[]int{2, 3, m, k}, []int{2, 3, k, n}},
		{[]int{1, m, k}, []int{1, k, n}},
		{[]int{0, m, k}, []int{k, n}},
	} {
		for _, la := range matrixLayouts {
			for _, lb := range matrixLayouts {
				t.Run(fmt.Sprintf("%v*%v/%s*%s", tc.a, tc.b, la.name, lb.name), func(t *testing.T) {
					checkMatMul(t, la.make(rng, tc.a), lb.make(rng, tc.b))
				})
			}
		}
	}
	// Batch dimensions that are themselves views: permuted, expanded.
	base := tensor.RandUniform(rng, -1, 1, m, 4, k)
	b := tensor.RandUniform(rng, -1, 1, 4, n, k).Transpose(1, 2)
	checkMatMul(t, base.Permute(1, 0, 2), b)
	checkMatMul(t, tensor.RandUniform(rng, -1, 1, 1, m, k).Expand(4, m, k), b)
	checkMatMul(t, base.Permute(1, 0, 2), tensor.RandUniform(rng, -1, 1, k, n).Expand(4, k, n))
	// Many small products, spread over workers.
	prev := simd.SetThreads(4)
	defer simd.SetThreads(prev)
	checkMatMul(t, tensor.RandUniform(rng, -1, 1, 37, 3, 8).Transpose(1, 2), tensor.RandUniform(rng, -1, 1, 37, 3, 5))
}

func TestMatMulThreadsSameBits(t *testing.T) {
	rng := newRand(23)
	small := [2]*tensor.Tensor{tensor.RandUniform(rng, -1, 1, 9, 4, 30), tensor.RandUniform(rng, -1, 1, 9, 30, 6)}
	large := [2]*tensor.Tensor{tensor.RandUniform(rng, -1, 1, 2, 150, 200), tensor.RandUniform(rng, -1, 1, 200, 170)}
	for _, in := range [][2]*tensor.Tensor{small, large} {
		var ref *tensor.Tensor
		for _, th := range []int{1, 2, 3} {
			prev := simd.SetThreads(th)
			got := tensor.MatMul(in[0], in[1])
			simd.SetThreads(prev)
			if ref == nil {
				ref = got
			} else if !tensor.Equal(got, ref) {
				t.Errorf("MatMul(%v, %v) on %d workers differs from 1 worker", in[0].Shape(), in[1].Shape(), th)
			}
		}
	}
}

func TestMatMulEdges(t *testing.T) {
	// k = 0: a sum of nothing.
	z := tensor.MatMul(tensor.New(3, 0), tensor.New(0, 4))
	if !tensor.Equal(z, tensor.New(3, 4)) {
		t.Errorf("MatMul with k = 0 = %v", z)
	}
	if e := tensor.MatMul(tensor.New(0, 3), tensor.New(3, 4)); !sameShape(e.Shape(), []int{0, 4}) {
		t.Errorf("MatMul with m = 0: shape %v", e.Shape())
	}
	// Inputs are not modified.
	a := tensor.FromSlice([]float32{1, 2, 3, 4}, 2, 2)
	p := tensor.MatMul(a, a.Transpose(0, 1))
	checkExact(t, p, dense{[]int{2, 2}, []float64{5, 11, 11, 25}})
	checkExact(t, a, dense{[]int{2, 2}, []float64{1, 2, 3, 4}})

	mustPanic(t, func() { tensor.MatMul(tensor.New(2, 3), tensor.New(4, 5)) }, "MatMul", "[2 3]", "[4 5]", "inner")
	mustPanic(t, func() { tensor.MatMul(tensor.New(2, 2, 3), tensor.New(3, 3, 4)) }, "MatMul", "[2 2 3]", "[3 3 4]", "batch")
	mustPanic(t, func() { tensor.MatMul(tensor.New(3), tensor.New(3, 4)) }, "MatMul", "[3]", "[3 4]")
}

func BenchmarkMatMul(b *testing.B) {
	rng := newRand(22)
	for _, tc := range []struct {
		m, k, n int
		transB  bool
	}{
		{64, 64, 64, false},
		{256, 256, 256, false},
		{256, 256, 256, true},
		{1024, 1024, 1024, false},
		{4096, 64, 1024, true},
	} {
		name := fmt.Sprintf("%dx%dx%d", tc.m, tc.k, tc.n)
		x := tensor.RandUniform(rng, -1, 1, tc.m, tc.k)
		y := tensor.RandUniform(rng, -1, 1, tc.k, tc.n)
		if tc.transB {
			name += "/transB"
			y = tensor.RandUniform(rng, -1, 1, tc.n, tc.k).Transpose(0, 1)
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				tensor.MatMul(x, y)
			}
			flops := 2 * float64(tc.m) * float64(tc.k) * float64(tc.n) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
	// A batch of small products.
	x := tensor.RandUniform(rng, -1, 1, 256, 32, 32)
	y := tensor.RandUniform(rng, -1, 1, 256, 32, 32)
	b.Run("256x(32x32x32)", func(b *testing.B) {
		for b.Loop() {
			tensor.MatMul(x, y)
		}
		b.ReportMetric(256*2*32*32*32*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
