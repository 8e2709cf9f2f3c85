package autograd_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/autograd/autogradtest"
	"github.com/reconpatch/rp/tensor"
)

// Gradient checks of every operation: the tape's float32 gradient against
// central differences of an independent float64 implementation (see
// autogradtest.Check), on random inputs of odd shapes. Inputs keep away from
// kinks (ReLU at 0, clamp bounds) and from the poles of Log, Sqrt and Div.

// gradTol bounds the gradient error relative to the gradient's scale, and
// fwdTol the relative L2 error of the forward value, both against float64.
const (
	gradTol = 1e-6
	fwdTol  = 5e-7
)

// gen draws test inputs.
type gen struct{ rng *rand.Rand }

func newGen(seed uint64) gen { return gen{rand.New(rand.NewPCG(seed, 7))} }

// u draws from U(lo, hi).
func (g gen) u(lo, hi float32, shape ...int) *tensor.Tensor {
	return tensor.RandUniform(g.rng, lo, hi, shape...)
}

// away draws ±U(0.2, 1): no values near 0.
func (g gen) away(shape ...int) *tensor.Tensor {
	return tensor.Apply(g.u(-0.8, 0.8, shape...), func(v float32) float32 {
		if v < 0 {
			return v - 0.2
		}
		return v + 0.2
	})
}

type opCase struct {
	name   string
	inputs []*tensor.Tensor
	noGrad []bool
	f      func(tp *autograd.Tape, xs []*autograd.Var) *autograd.Var
	ref    func(xs [][]float64) []float64
	// gradTol overrides the default tolerance when not zero.
	gradTol float64
}

func opCases() []opCase {
	g := newGen(1)
	bin := func(name string, as, bs []int, a, b *tensor.Tensor, op func(tp *autograd.Tape, x, y *autograd.Var) *autograd.Var, f func(x, y float64) float64) opCase {
		return opCase{name: name, inputs: []*tensor.Tensor{a, b},
			f:   func(tp *autograd.Tape, xs []*autograd.Var) *autograd.Var { return op(tp, xs[0], xs[1]) },
			ref: refBinary(as, bs, f)}
	}
	un := func(name string, x *tensor.Tensor, op func(tp *autograd.Tape, x *autograd.Var) *autograd.Var, f func(float64) float64) opCase {
		return opCase{name: name, inputs: []*tensor.Tensor{x},
			f:   func(tp *autograd.Tape, xs []*autograd.Var) *autograd.Var { return op(tp, xs[0]) },
			ref: refUnary(f)}
	}
	add := func(x, y float64) float64 { return x + y }
	sub := func(x, y float64) float64 { return x - y }
	mul := func(x, y float64) float64 { return x * y }
	div := func(x, y float64) float64 { return x / y }
	s35, s235, s315, s41, s5 := []int{3, 5}, []int{2, 3, 5}, []int{3, 1, 5}, []int{4, 1}, []int{5}

	convCase := func(name string, xs, ws []int, bias bool, o autograd.ConvOptions) opCase {
		ins := []*tensor.Tensor{g.u(-1, 1, xs...), g.u(-1, 1, ws...)}
		if bias {
			ins = append(ins, g.u(-1, 1, ws[0]))
		}
		return opCase{name: name, inputs: ins,
			f: func(tp *autograd.Tape, v []*autograd.Var) *autograd.Var {
				var b *autograd.Var
				if bias {
					b = v[2]
				}
				return tp.Conv2d(v[0], v[1], b, o)
			},
			ref: func(v [][]float64) []float64 {
				var b []float64
				if bias {
					b = v[2]
				}
				return refConv2d(xs, ws, v[0], v[1], b, o)
			}}
	}

	idx := tensor.FromSlice([]float32{2, 0, 0, 1, 4, 3, 4, 4, 1, 0, 2, 2}, 3, 4)
	return []opCase{
		bin("Add/same", s35, s35, g.u(-1, 1, s35...), g.u(-1, 1, s35...), (*autograd.Tape).Add, add),
		bin("Add/broadcast", s315, s41, g.u(-1, 1, s315...), g.u(-1, 1, s41...), (*autograd.Tape).Add, add),
		bin("Sub/broadcast", s235, s5, g.u(-1, 1, s235...), g.u(-1, 1, s5...), (*autograd.Tape).Sub, sub),
		bin("Sub/scalar", s35, []int{}, g.u(-1, 1, s35...), g.u(-1, 1), (*autograd.Tape).Sub, sub),
		bin("Mul/broadcast", s41, s315, g.u(-1, 1, s41...), g.u(-1, 1, s315...), (*autograd.Tape).Mul, mul),
		bin("Div/broadcast", s235, []int{3, 1}, g.u(-1, 1, s235...), g.u(0.5, 2, 3, 1), (*autograd.Tape).Div, div),
		un("Neg", g.u(-1, 1, 3, 7), (*autograd.Tape).Neg, func(x float64) float64 { return -x }),
		un("Scale", g.u(-1, 1, 3, 7), func(tp *autograd.Tape, x *autograd.Var) *autograd.Var { return tp.Scale(x, -2.5) },
			func(x float64) float64 { return -2.5 * x }),
		un("AddScalar", g.u(-1, 1, 3, 7), func(tp *autograd.Tape, x *autograd.Var) *autograd.Var { return tp.AddScalar(x, 0.75) },
			func(x float64) float64 { return x + 0.75 }),
		un("Exp", g.u(-2, 2, 2, 3, 5), (*autograd.Tape).Exp, math.Exp),
		un("Log", g.u(0.3, 3, 2, 3, 5), (*autograd.Tape).Log, math.Log),
		un("Sqrt", g.u(0.3, 3, 7, 3), (*autograd.Tape).Sqrt, math.Sqrt),
		un("Pow/2.5", g.u(0.3, 2, 7, 3), func(tp *autograd.Tape, x *autograd.Var) *autograd.Var { return tp.Pow(x, 2.5) },
			func(x float64) float64 { return math.Pow(x, 2.5) }),
		un("Pow/-1", g.u(0.5, 2, 7, 3), func(tp *autograd.Tape, x *autograd.Var) *autograd.Var { return tp.Pow(x, -1) },
			func(x float64) float64 { return 1 / x }),
		un("Square", g.u(-2, 2, 7, 3), (*autograd.Tape).Square, func(x float64) float64 { return x * x }),
		un("ReLU", g.away(5, 7), (*autograd.Tape).ReLU, func(x float64) float64 { return math.Max(x, 0) }),
		un("Clamp", g.away(5, 7), func(tp *autograd.Tape, x *autograd.Var) *autograd.Var { return tp.Clamp(x, -0.5, 0.45) },
			func(x float64) float64 { return math.Min(math.Max(x, -0.5), 0.45) }),
		un("ClampMin", g.away(5, 7), func(tp *autograd.Tape, x *autograd.Var) *autograd.Var { return tp.ClampMin(x, 0) },
			func(x float64) float64 { return math.Max(x, 0) }),
		{name: "Sum/axes", inputs: []*tensor.Tensor{g.u(-1, 1, 2, 3, 5)},
			f: func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var { return tp.Sum(x[0], false, 0, -1) },
			ref: func(x [][]float64) []float64 {
				return refReduce([]int{2, 3, 5}, []int{0, 2}, x[0], 0, func(a, v float64) float64 { return a + v })
			}},
		{name: "Sum/all", inputs: []*tensor.Tensor{g.u(-1, 1, 3, 5)},
			f: func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var { return tp.Sum(x[0], false) },
			ref: func(x [][]float64) []float64 {
				return refReduce([]int{3, 5}, []int{0, 1}, x[0], 0, func(a, v float64) float64 { return a + v })
			}},
		{name: "Mean/keepdim", inputs: []*tensor.Tensor{g.u(-1, 1, 2, 3, 5)},
			f: func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var { return tp.Mean(x[0], true, 1) },
			ref: func(x [][]float64) []float64 {
				out := refReduce([]int{2, 3, 5}, []int{1}, x[0], 0, func(a, v float64) float64 { return a + v })
				for i := range out {
					out[i] /= 3
				}
				return out
			}},
		{name: "Max/axis", inputs: []*tensor.Tensor{g.u(-1, 1, 3, 5, 2)},
			f: func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var { return tp.Max(x[0], 1, false) },
			ref: func(x [][]float64) []float64 {
				return refReduce([]int{3, 5, 2}, []int{1}, x[0], math.Inf(-1), math.Max)
			}},
		{name: "Reshape", inputs: []*tensor.Tensor{g.u(-1, 1, 3, 5, 2)},
			f: func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var {
				return tp.Mul(tp.Reshape(x[0], 5, -1), tp.Reshape(x[0], 5, 6)) // reuse: gradients add
			},
			ref: refUnary(func(x float64) float64 { return x * x })},
		{name: "Transpose", inputs: []*tensor.Tensor{g.u(-1, 1, 3, 5, 2)},
			f:   func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var { return tp.Transpose(x[0], 0, 2) },
			ref: func(x [][]float64) []float64 { return refPermute([]int{3, 5, 2}, []int{2, 1, 0}, x[0]) }},
		{name: "Permute", inputs: []*tensor.Tensor{g.u(-1, 1, 3, 5, 2)},
			f:   func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var { return tp.Permute(x[0], 1, 2, 0) },
			ref: func(x [][]float64) []float64 { return refPermute([]int{3, 5, 2}, []int{1, 2, 0}, x[0]) }},
		{name: "Narrow", inputs: []*tensor.Tensor{g.u(-1, 1, 3, 7)},
			f: func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var { return tp.Narrow(x[0], 1, 2, 4) },
			ref: func(x [][]float64) []float64 {
				var out []float64
				for i := range 3 {
					out = append(out, x[0][i*7+2:i*7+6]...)
				}
				return out
			}},
		{name: "IndexSelect/repeats", inputs: []*tensor.Tensor{g.u(-1, 1, 3, 5, 2)},
			f: func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var {
				return tp.IndexSelect(x[0], 1, []int{4, 0, 4, 2, 4, 1, 0})
			},
			ref: func(x [][]float64) []float64 {
				var out []float64
				for i := range 3 {
					for _, j := range []int{4, 0, 4, 2, 4, 1, 0} {
						out = append(out, x[0][(i*5+j)*2:(i*5+j)*2+2]...)
					}
				}
				return out
			}},
		{name: "Gather", inputs: []*tensor.Tensor{g.u(-1, 1, 3, 5)},
			f: func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var { return tp.Gather(x[0], 1, idx) },
			ref: func(x [][]float64) []float64 {
				var out []float64
				for i := range 3 {
					for j := range 4 {
						out = append(out, x[0][i*5+int(idx.At(i, j))])
					}
				}
				return out
			}},
		{name: "Concat", inputs: []*tensor.Tensor{g.u(-1, 1, 3, 2), g.u(-1, 1, 3, 5), g.u(-1, 1, 3, 1)},
			noGrad: []bool{false, true, false},
			f:      func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var { return tp.Concat(1, x...) },
			ref: func(x [][]float64) []float64 {
				var out []float64
				for i := range 3 {
					out = append(out, x[0][i*2:i*2+2]...)
					out = append(out, x[1][i*5:i*5+5]...)
					out = append(out, x[2][i:i+1]...)
				}
				return out
			}},
		{name: "MatMul/2d", inputs: []*tensor.Tensor{g.u(-1, 1, 3, 7), g.u(-1, 1, 7, 5)},
			f:   func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var { return tp.MatMul(x[0], x[1]) },
			ref: func(x [][]float64) []float64 { return refMatMul([]int{3, 7}, []int{7, 5}, x[0], x[1]) }},
		{name: "MatMul/batch-broadcast", inputs: []*tensor.Tensor{g.u(-1, 1, 2, 3, 7), g.u(-1, 1, 7, 5)},
			f:   func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var { return tp.MatMul(x[0], x[1]) },
			ref: func(x [][]float64) []float64 { return refMatMul([]int{2, 3, 7}, []int{7, 5}, x[0], x[1]) }},
		{name: "MatMul/transposed-view", inputs: []*tensor.Tensor{g.u(-1, 1, 7, 3), g.u(-1, 1, 7, 5)},
			f: func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var {
				return tp.MatMul(tp.Transpose(x[0], 0, 1), x[1])
			},
			ref: func(x [][]float64) []float64 {
				return refMatMul([]int{3, 7}, []int{7, 5}, refPermute([]int{7, 3}, []int{1, 0}, x[0]), x[1])
			}},
		{name: "Linear", inputs: []*tensor.Tensor{g.u(-1, 1, 2, 3, 7), g.u(-1, 1, 5, 7), g.u(-1, 1, 5)},
			f: func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var { return tp.Linear(x[0], x[1], x[2]) },
			ref: func(x [][]float64) []float64 {
				out := refMatMul([]int{6, 7}, []int{7, 5}, x[0], refPermute([]int{5, 7}, []int{1, 0}, x[1]))
				for i := range out {
					out[i] += x[2][i%5]
				}
				return out
			}},
		{name: "Linear/no-bias", inputs: []*tensor.Tensor{g.u(-1, 1, 9, 7), g.u(-1, 1, 5, 7)},
			f: func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var { return tp.Linear(x[0], x[1], nil) },
			ref: func(x [][]float64) []float64 {
				return refMatMul([]int{9, 7}, []int{7, 5}, x[0], refPermute([]int{5, 7}, []int{1, 0}, x[1]))
			}},
		{name: "PairSqDist", inputs: []*tensor.Tensor{g.u(-1, 1, 7, 5)},
			f:   func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var { return tp.PairSqDist(x[0]) },
			ref: func(x [][]float64) []float64 { return refPairDist(7, 5, x[0], false, 0) }},
		{name: "PairDist", inputs: []*tensor.Tensor{g.u(-1, 1, 7, 5)},
			f:   func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var { return tp.PairDist(x[0], 0) },
			ref: func(x [][]float64) []float64 { return refPairDist(7, 5, x[0], true, 0) }},
		{name: "PairDist/eps", inputs: []*tensor.Tensor{g.u(-1, 1, 6, 3)},
			f:   func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var { return tp.PairDist(x[0], 1e-3) },
			ref: func(x [][]float64) []float64 { return refPairDist(6, 3, x[0], true, 1e-3) }},
		convCase("Conv2d/3x3-pad1", []int{2, 3, 5, 6}, []int{4, 3, 3, 3}, true, autograd.ConvOptions{Padding: [2]int{1, 1}}),
		convCase("Conv2d/stride2-groups", []int{2, 4, 7, 5}, []int{6, 2, 3, 2}, true,
			autograd.ConvOptions{Stride: [2]int{2, 1}, Padding: [2]int{1, 0}, Groups: 2}),
		convCase("Conv2d/dilated-no-bias", []int{1, 2, 7, 7}, []int{3, 2, 3, 3}, false,
			autograd.ConvOptions{Dilation: [2]int{2, 1}, Padding: [2]int{2, 1}}),
		convCase("Conv2d/1x1-depthwise", []int{3, 4, 3, 5}, []int{4, 1, 1, 1}, true, autograd.ConvOptions{Groups: 4}),
		{name: "BatchNorm/2d", inputs: []*tensor.Tensor{g.u(-1, 1, 7, 3), g.u(0.5, 1.5, 3), g.u(-1, 1, 3)},
			f: func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var {
				return tp.BatchNorm(x[0], x[1], x[2], nil, nil, autograd.BatchNormOptions{Training: true, Eps: 1e-5})
			},
			ref: func(x [][]float64) []float64 { return refBatchNorm([]int{7, 3}, x[0], x[1], x[2], 1e-5) }},
		{name: "BatchNorm/4d", inputs: []*tensor.Tensor{g.u(-1, 1, 3, 2, 3, 5), g.u(0.5, 1.5, 2), g.u(-1, 1, 2)},
			f: func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var {
				return tp.BatchNorm(x[0], x[1], x[2], tensor.Zeros(2), tensor.Ones(2),
					autograd.BatchNormOptions{Training: true, Momentum: 0.1, Eps: 1e-5})
			},
			ref: func(x [][]float64) []float64 { return refBatchNorm([]int{3, 2, 15}, x[0], x[1], x[2], 1e-5) }},
		{name: "LogSoftmax", inputs: []*tensor.Tensor{g.u(-2, 2, 2, 3, 5)},
			f:   func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var { return tp.LogSoftmax(x[0]) },
			ref: func(x [][]float64) []float64 { return refLogSoftmax(5, x[0]) }},
		{name: "CrossEntropy", inputs: []*tensor.Tensor{g.u(-2, 2, 5, 3)},
			f: func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var {
				return tp.CrossEntropy(x[0], []int{2, 0, 1, 1, 2})
			},
			ref: func(x [][]float64) []float64 {
				lp := refLogSoftmax(3, x[0])
				var s float64
				for i, l := range []int{2, 0, 1, 1, 2} {
					s -= lp[i*3+l]
				}
				return []float64{s / 5}
			}},
		{name: "Func/custom", inputs: []*tensor.Tensor{g.u(-1, 1, 3, 4)},
			f: func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var {
				// y = x³ as a custom op.
				v := tensor.Apply(x[0].Value, func(a float32) float32 { return a * a * a })
				return tp.Func("cube", v, x, func(g *tensor.Tensor) []*tensor.Tensor {
					return []*tensor.Tensor{tensor.Mul(g, tensor.Mul(x[0].Value, x[0].Value)).MulScalarInPlace(3)}
				})
			},
			ref: refUnary(func(x float64) float64 { return x * x * x })},
	}
}

func TestGradCheck(t *testing.T) {
	for i, c := range opCases() {
		t.Run(c.name, func(t *testing.T) {
			res, err := autogradtest.Check(autogradtest.Case{F: c.f, Ref: c.ref, Inputs: c.inputs, NoGrad: c.noGrad, Seed: uint64(i)})
			if err != nil {
				t.Fatal(err)
			}
			tol := gradTol
			if c.gradTol != 0 {
				tol = c.gradTol
			}
			if res.Forward > fwdTol || res.Grad > tol {
				t.Errorf("forward error %.2g (max %.0g), gradient error %.2g (L2 %.2g, max %.0g)", res.Forward, fwdTol, res.Grad, res.GradL2, tol)
			}
			t.Logf("forward %.1e gradient %.1e (L2 %.1e), %d evaluations", res.Forward, res.Grad, res.GradL2, res.Evals)
		})
	}
}
