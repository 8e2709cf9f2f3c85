package autogradtest

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/tensor"
)

// Case is one gradient check: a function of some tensors, differentiated by
// the tape, and the means to differentiate it numerically.
type Case struct {
	// F builds the function on the tape from the inputs (parameters, or
	// constants where NoGrad says so).
	F func(tp *autograd.Tape, xs []*autograd.Var) *autograd.Var
	// Ref, if not nil, is a float64 implementation of F: it receives the
	// inputs in row-major order and returns the output in row-major order.
	// The numerical derivative is then a central difference of Ref in
	// float64, and F's forward value is checked against it too. If nil,
	// the central differences are taken on F itself (float32), with
	// Richardson extrapolation, and are correspondingly less precise.
	Ref func(xs [][]float64) []float64
	// Inputs are the values at which to differentiate.
	Inputs []*tensor.Tensor
	// NoGrad marks inputs that are constants (not differentiated); it may
	// be shorter than Inputs.
	NoGrad []bool
	// Seed chooses the random cotangent that weighs the outputs.
	Seed uint64
}

// Result holds the measured errors of a check.
type Result struct {
	// Forward is ‖F − Ref‖₂/‖Ref‖₂ of the values (0 without Ref).
	Forward float64
	// Grad is max_j |analytic_j − numeric_j| / max_j |numeric_j| over the
	// elements j of all differentiated inputs together: the error of the
	// tape's gradient relative to the gradient's scale. (A per-input ratio
	// would divide by zero for inputs whose true gradient vanishes, such as
	// a bias before a batch norm.)
	Grad float64
	// GradL2 is ‖analytic − numeric‖₂/‖numeric‖₂ over all inputs together.
	GradL2 float64
	// Evals is the number of forward evaluations made.
	Evals int
}

// Check runs the gradient check of c.
//
// Method: the scalar φ(x) = Σ_k r_k·y_k(x), with r a fixed random cotangent
// drawn from U(−1, 1), is differentiated twice. The tape gives ∇φ = rᵀ·J by
// one BackwardWith(y, r). Numerically, every input element x_j in turn is
// moved by ±h and ∂φ/∂x_j ≈ (φ(x + h·e_j) − φ(x − h·e_j))/(2h):
//
//   - with Ref, φ is evaluated in float64 with h = 1e-6·max(1, |x_j|), which
//     makes the difference accurate to about 1e-9 relative for smooth
//     functions: the comparison then measures the float32 error of the tape;
//   - without Ref, φ is F's float32 output summed in float64, the step is a
//     power of two near 2⁻⁶·max(1, |x_j|) and the actual step (x_j ± h
//     rounded to float32) is used; the two estimates for h and h/2 are
//     combined by Richardson extrapolation, (4·D(h/2) − D(h))/3, cancelling
//     the h² truncation term. Expect errors around 1e-4 relative.
//
// Inputs should keep away from kinks (ReLU at 0, ties of Max, clamp bounds)
// by more than h, as for any finite-difference check.
func Check(c Case) (Result, error) {
	var res Result
	rng := rand.New(rand.NewPCG(c.Seed, 0x9e3779b97f4a7c15))
	needs := func(i int) bool { return i >= len(c.NoGrad) || !c.NoGrad[i] }

	// The tape's gradient.
	xs := make([]*autograd.Var, len(c.Inputs))
	for i, in := range c.Inputs {
		if needs(i) {
			xs[i] = autograd.NewParam(in.Clone())
		} else {
			xs[i] = autograd.NewConst(in.Clone())
		}
	}
	tp := autograd.NewTape()
	y := c.F(tp, xs)
	r := tensor.RandUniform(rng, -1, 1, y.Shape()...)
	rd := r.Data()
	tp.BackwardWith(y, r)
	yd := y.Value.Contiguous().Data()

	x64 := make([][]float64, len(c.Inputs))
	for i, in := range c.Inputs {
		x64[i] = to64(in.Contiguous().Data())
	}
	if c.Ref != nil {
		want := c.Ref(x64)
		res.Evals++
		if len(want) != len(yd) {
			return res, fmt.Errorf("Ref returned %d values, F %d", len(want), len(yd))
		}
		res.Forward = relL2(to64(yd), want)
	}
	phi64 := func() float64 {
		res.Evals++
		out := c.Ref(x64)
		var s float64
		for k, v := range out {
			s += float64(rd[k]) * v
		}
		return s
	}
	x32 := make([]*tensor.Tensor, len(c.Inputs))
	for i, in := range c.Inputs {
		x32[i] = in.Clone()
	}
	phi32 := func() float64 {
		res.Evals++
		vs := make([]*autograd.Var, len(x32))
		for i, x := range x32 {
			vs[i] = autograd.NewConst(x)
		}
		out := c.F(nil, vs).Value.Contiguous().Data()
		var s float64
		for k, v := range out {
			s += float64(rd[k]) * float64(v)
		}
		return s
	}

	var anaAll, numAll []float64
	for i := range c.Inputs {
		if !needs(i) {
			continue
		}
		if xs[i].Grad == nil {
			return res, fmt.Errorf("input %d received no gradient", i)
		}
		ana := to64(xs[i].Grad.Data())
		num := make([]float64, len(ana))
		for j := range num {
			if c.Ref != nil {
				x0 := x64[i][j]
				h := 1e-6 * math.Max(1, math.Abs(x0))
				x64[i][j] = x0 + h
				fp := phi64()
				x64[i][j] = x0 - h
				fm := phi64()
				x64[i][j] = x0
				num[j] = (fp - fm) / (2 * h)
				continue
			}
			xd := x32[i].Data()
			x0 := xd[j]
			h := math.Ldexp(1, int(math.Floor(math.Log2(math.Max(1, math.Abs(float64(x0))))))-6)
			diff := func(h float64) float64 {
				xp, xm := float32(float64(x0)+h), float32(float64(x0)-h)
				xd[j] = xp
				fp := phi32()
				xd[j] = xm
				fm := phi32()
				xd[j] = x0
				return (fp - fm) / (float64(xp) - float64(xm))
			}
			num[j] = (4*diff(h/2) - diff(h)) / 3
		}
		anaAll = append(anaAll, ana...)
		numAll = append(numAll, num...)
	}
	var maxErr, maxNum float64
	for j := range numAll {
		maxErr = math.Max(maxErr, math.Abs(anaAll[j]-numAll[j]))
		maxNum = math.Max(maxNum, math.Abs(numAll[j]))
	}
	if maxErr > 0 {
		res.Grad = maxErr / math.Max(maxNum, 1e-30)
	}
	res.GradL2 = relL2(anaAll, numAll)
	return res, nil
}

func to64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// relL2 returns ‖got − want‖₂ / ‖want‖₂ (the absolute norm if want is 0).
func relL2(got, want []float64) float64 {
	var num, den float64
	for i, w := range want {
		e := got[i] - w
		num += e * e
		den += w * w
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

// RelErr returns ‖got − want‖₂/‖want‖₂ of a float32 result against a
// float64 reference (the absolute norm when want is all zeros): the error
// measure used against the PyTorch fixtures.
func RelErr(got []float32, want []float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	return relL2(to64(got), want)
}
