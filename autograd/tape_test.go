package autograd_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/autograd/autogradtest"
	"github.com/reconpatch/rp/tensor"
)

func TestAccumulateAndZeroGrad(t *testing.T) {
	w := autograd.NewParam(tensor.FromSlice([]float32{1, 2, 3}, 3))
	for range 2 {
		tp := autograd.NewTape()
		// loss = Σ w² + Σ 3w: w used twice, gradients add within a pass.
		loss := tp.Add(tp.Sum(tp.Square(w), false), tp.Sum(tp.Scale(w, 3), false))
		tp.Backward(loss)
		if tp.Len() != 0 {
			t.Fatalf("tape not reset: %d nodes", tp.Len())
		}
	}
	// Two passes: 2·(2w + 3).
	want := []float32{10, 14, 18}
	for i, v := range w.Grad.Data() {
		if v != want[i] {
			t.Fatalf("accumulated gradient %v, want %v", w.Grad.Data(), want)
		}
	}
	w.ZeroGrad()
	if w.Grad != nil {
		t.Fatal("ZeroGrad left a gradient")
	}
}

func TestNoGradModes(t *testing.T) {
	w := autograd.NewParam(tensor.FromSlice([]float32{1, -2}, 2))
	tp := autograd.NewTape()
	var inside *autograd.Var
	tp.NoGrad(func() { inside = tp.Exp(w) })
	if inside.RequiresGrad() || tp.Len() != 0 {
		t.Fatalf("NoGrad recorded: requiresGrad %v, %d nodes", inside.RequiresGrad(), tp.Len())
	}
	var nilTape *autograd.Tape
	if y := nilTape.Mul(w, w); y.RequiresGrad() || y.Value.At(1) != 4 {
		t.Fatalf("nil tape: requiresGrad %v value %v", y.RequiresGrad(), y.Value)
	}
	// Detach stops the gradient: y = w·stop(w) has ∂y/∂w = stop(w).
	y := tp.Sum(tp.Mul(w, tp.Detach(w)), false)
	tp.Backward(y)
	if got := w.Grad.Data(); got[0] != 1 || got[1] != -2 {
		t.Fatalf("gradient through Detach %v, want [1 -2]", got)
	}
	// Constants receive nothing.
	c := autograd.NewConst(tensor.Ones(2))
	tp.Backward(tp.Sum(tp.Mul(c, w), false))
	if c.Grad != nil {
		t.Fatal("a constant received a gradient")
	}
}

// TestPairDistZero checks that duplicate rows give finite, zero pair
// gradients: the distance between them has no direction.
func TestPairDistZero(t *testing.T) {
	z := autograd.NewParam(tensor.FromSlice([]float32{
		1, 2, 3,
		1, 2, 3, // duplicate of row 0
		0, 0, 1,
	}, 3, 3))
	tp := autograd.NewTape()
	d := tp.PairDist(z, 0)
	if d.Value.At(0, 1) != 0 || d.Value.At(1, 1) != 0 {
		t.Fatalf("distances %v: want exact zeros", d.Value)
	}
	tp.Backward(tp.Sum(d, false))
	// Only the pairs with row 2 move rows 0 and 1: ∂/∂z_0 = 2(z_0 − z_2)/d_02.
	d02 := math.Sqrt(1 + 4 + 4)
	want := []float64{2 / d02, 4 / d02, 4 / d02}
	for j, v := range want {
		for _, i := range []int{0, 1} {
			if g := float64(z.Grad.At(i, j)); math.Abs(g-v) > 1e-6 {
				t.Fatalf("gradient row %d = %v, want %v", i, z.Grad, want)
			}
		}
	}
}

// TestConvChunks runs a convolution forced into one-sample chunks and
// compares it, forward and backward, with the unchunked run.
func TestConvChunks(t *testing.T) {
	g := newGen(3)
	x, w, b := g.u(-1, 1, 5, 4, 6, 7), g.u(-1, 1, 6, 2, 3, 3), g.u(-1, 1, 6)
	opt := autograd.ConvOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, Groups: 2}
	run := func() []*tensor.Tensor {
		xs := []*autograd.Var{autograd.NewParam(x.Clone()), autograd.NewParam(w.Clone()), autograd.NewParam(b.Clone())}
		tp := autograd.NewTape()
		y := tp.Conv2d(xs[0], xs[1], xs[2], opt)
		tp.Backward(tp.Sum(tp.Square(y), false))
		return []*tensor.Tensor{y.Value, xs[0].Grad, xs[1].Grad, xs[2].Grad}
	}
	whole := run()
	old := autograd.SetConvColBudget(1)
	defer autograd.SetConvColBudget(old)
	chunked := run()
	for i := range whole {
		if !tensor.AllClose(whole[i], chunked[i], 1e-6, 1e-6) {
			t.Fatalf("tensor %d differs between chunked and whole runs", i)
		}
	}
}

// TestGradCheckFloat32 exercises the Richardson mode of the helper (no
// float64 reference) on a small smooth network: Linear → BatchNorm → exp(·/2) →
// Linear → CrossEntropy.
func TestGradCheckFloat32(t *testing.T) {
	g := newGen(4)
	labels := []int{0, 2, 1, 1, 0, 2, 2}
	res, err := autogradtest.Check(autogradtest.Case{
		Inputs: []*tensor.Tensor{g.u(-1, 1, 7, 5), g.u(-0.5, 0.5, 6, 5), g.u(-0.5, 0.5, 6),
			g.u(0.5, 1.5, 6), g.u(-0.2, 0.2, 6), g.u(-0.5, 0.5, 3, 6)},
		F: func(tp *autograd.Tape, v []*autograd.Var) *autograd.Var {
			h := tp.Linear(v[0], v[1], v[2])
			h = tp.BatchNorm(h, v[3], v[4], nil, nil, autograd.BatchNormOptions{Training: true, Eps: 1e-5})
			return tp.CrossEntropy(tp.Linear(tp.Exp(tp.Scale(h, 0.5)), v[5], nil), labels)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("float32 central differences with Richardson extrapolation: gradient error %.1e (L2 %.1e)", res.Grad, res.GradL2)
	if res.Grad > 5e-4 {
		t.Errorf("gradient error %.2g", res.Grad)
	}
}

func TestLayersInit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	l := autograd.NewLinear(rng, 16, 4, true)
	bound := float32(0.25)
	for _, p := range l.Params() {
		for _, v := range p.Value.Data() {
			if v < -bound || v >= bound {
				t.Fatalf("init value %v outside ±%v", v, bound)
			}
		}
	}
	l2 := autograd.NewLinear(rand.New(rand.NewPCG(1, 2)), 16, 4, true)
	if !tensor.Equal(l.W.Value, l2.W.Value) {
		t.Fatal("same seed, different weights")
	}
	c := autograd.NewConv2d(rng, 4, 6, 3, 3, false, autograd.ConvOptions{Groups: 2})
	if s := c.W.Shape(); s[1] != 2 || len(c.Params()) != 1 {
		t.Fatalf("conv weight %v, %d params", s, len(c.Params()))
	}
}
