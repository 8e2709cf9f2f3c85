package autograd

import (
	"math"
	"math/rand/v2"

	"github.com/reconpatch/rp/tensor"
)

// Trainable layers: parameter holders whose Forward records on a Tape. They
// initialise as PyTorch's layers do (kaiming_uniform with a = √5, which is
// U(−1/√fan_in, 1/√fan_in), for weights and biases), drawing from the rng
// they are given, so a seed fixes the initialisation.

// Module is anything with trainable parameters.
type Module interface {
	// Params returns the module's parameters in a fixed order.
	Params() []*Var
}

// Linear is a fully connected layer y = x·Wᵀ + B.
type Linear struct {
	W *Var // [out in]
	B *Var // [out], or nil without bias
}

// NewLinear returns a Linear layer from in to out features with
// PyTorch-style initialisation drawn from rng.
func NewLinear(rng *rand.Rand, in, out int, bias bool) *Linear {
	bound := float32(1 / math.Sqrt(float64(max(in, 1))))
	l := &Linear{W: NewParam(uniform(rng, bound, out, in))}
	if bias {
		l.B = NewParam(uniform(rng, bound, out))
	}
	return l
}

// Forward applies the layer. Shape: [… in] → [… out].
func (l *Linear) Forward(tp *Tape, x *Var) *Var { return tp.Linear(x, l.W, l.B) }

// Params returns W and, if present, B.
func (l *Linear) Params() []*Var { return nonNil(l.W, l.B) }

// Conv2d is a trainable 2-D convolution.
type Conv2d struct {
	W    *Var        // [O C/groups KH KW]
	B    *Var        // [O], or nil without bias
	Opts ConvOptions // stride, padding, dilation, groups
}

// NewConv2d returns a convolution from in to out channels with a kh×kw
// kernel and PyTorch-style initialisation drawn from rng.
func NewConv2d(rng *rand.Rand, in, out, kh, kw int, bias bool, opts ConvOptions) *Conv2d {
	opts = opts.norm()
	fanIn := in / opts.Groups * kh * kw
	bound := float32(1 / math.Sqrt(float64(max(fanIn, 1))))
	c := &Conv2d{W: NewParam(uniform(rng, bound, out, in/opts.Groups, kh, kw)), Opts: opts}
	if bias {
		c.B = NewParam(uniform(rng, bound, out))
	}
	return c
}

// Forward applies the convolution. Shape: [N C H W] → [N O OH OW].
func (c *Conv2d) Forward(tp *Tape, x *Var) *Var { return tp.Conv2d(x, c.W, c.B, c.Opts) }

// Params returns W and, if present, B.
func (c *Conv2d) Params() []*Var { return nonNil(c.W, c.B) }

// BatchNorm is a batch-normalisation layer with affine parameters and
// running statistics.
type BatchNorm struct {
	Gamma, Beta             *Var           // [C]: 1 and 0 initially
	RunningMean, RunningVar *tensor.Tensor // [C]: 0 and 1 initially
	// Training selects batch statistics (and updates the running ones).
	Training bool
	// Momentum and Eps as in BatchNormOptions (PyTorch: 0.1, 1e-5).
	Momentum, Eps float64
}

// NewBatchNorm returns a batch norm over c channels in training mode with
// PyTorch's defaults.
func NewBatchNorm(c int) *BatchNorm {
	return &BatchNorm{
		Gamma: NewParam(tensor.Ones(c)), Beta: NewParam(tensor.Zeros(c)),
		RunningMean: tensor.Zeros(c), RunningVar: tensor.Ones(c),
		Training: true, Momentum: 0.1, Eps: 1e-5,
	}
}

// Forward normalises x. Shape: [N C …] → the same.
func (b *BatchNorm) Forward(tp *Tape, x *Var) *Var {
	return tp.BatchNorm(x, b.Gamma, b.Beta, b.RunningMean, b.RunningVar,
		BatchNormOptions{Training: b.Training, Momentum: b.Momentum, Eps: b.Eps})
}

// Params returns Gamma and Beta.
func (b *BatchNorm) Params() []*Var { return nonNil(b.Gamma, b.Beta) }

// Params concatenates the parameters of modules, in order.
func Params(modules ...Module) []*Var {
	var ps []*Var
	for _, m := range modules {
		ps = append(ps, m.Params()...)
	}
	return ps
}

func uniform(rng *rand.Rand, bound float32, shape ...int) *tensor.Tensor {
	return tensor.RandUniform(rng, -bound, bound, shape...)
}

func nonNil(vs ...*Var) []*Var {
	out := vs[:0:0]
	for _, v := range vs {
		if v != nil {
			out = append(out, v)
		}
	}
	return out
}
