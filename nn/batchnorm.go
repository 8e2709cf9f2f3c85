package nn

import (
	"errors"
	"fmt"
	"math"

	"github.com/reconpatch/rp/tensor"
)

// BatchNorm2d is batch normalisation over the channels of an NCHW tensor in
// eval mode, with fixed running statistics:
//
//	y[n, c, h, w] = (x[n, c, h, w] − μ[c]) / √(σ²[c] + ε) · γ[c] + β[c]
//
// It is built by NewBatchNorm2d and is immutable. Conv2d.FoldBatchNorm
// removes one that follows a convolution.
type BatchNorm2d struct {
	gamma, beta, mean, variance []float32
	eps                         float64

	// scale and shift are γ/√(σ²+ε) and β − μ·scale, computed in float64.
	scale, shift []float32
}

// NewBatchNorm2d returns a batch normalisation with scale gamma, offset beta,
// running mean and running variance, all of shape [C], and epsilon eps
// (PyTorch's default is 1e-5, Keras's 1e-3). A nil gamma means ones and a nil
// beta zeros (PyTorch's affine=False). The tensors are copied. It returns an
// error naming the shapes if they differ, or if eps or a variance is
// negative.
func NewBatchNorm2d(gamma, beta, runningMean, runningVar *tensor.Tensor, eps float64) (*BatchNorm2d, error) {
	if runningMean == nil || runningVar == nil {
		return nil, errors.New("nn: NewBatchNorm2d: nil running mean or variance")
	}
	ms := runningMean.Shape()
	if len(ms) != 1 {
		return nil, fmt.Errorf("nn: NewBatchNorm2d: running mean shape %v is not 1-D [C]", ms)
	}
	ch := ms[0]
	get := func(name string, t *tensor.Tensor, def float32) ([]float32, error) {
		if t == nil {
			s := make([]float32, ch)
			for i := range s {
				s[i] = def
			}
			return s, nil
		}
		if s := t.Shape(); len(s) != 1 || s[0] != ch {
			return nil, fmt.Errorf("nn: NewBatchNorm2d: %s shape %v does not match running mean shape %v", name, s, ms)
		}
		return append([]float32(nil), data(t)...), nil
	}
	bn := &BatchNorm2d{eps: eps}
	var err error
	if bn.gamma, err = get("gamma", gamma, 1); err != nil {
		return nil, err
	}
	if bn.beta, err = get("beta", beta, 0); err != nil {
		return nil, err
	}
	bn.mean, _ = get("running mean", runningMean, 0)
	if bn.variance, err = get("running variance", runningVar, 1); err != nil {
		return nil, err
	}
	if !(eps >= 0) {
		return nil, fmt.Errorf("nn: NewBatchNorm2d: eps = %v", eps)
	}
	bn.scale = make([]float32, ch)
	bn.shift = make([]float32, ch)
	for c := 0; c < ch; c++ {
		if !(bn.variance[c] >= 0) {
			return nil, fmt.Errorf("nn: NewBatchNorm2d: running variance[%d] = %v", c, bn.variance[c])
		}
		s := bn.scale64(c)
		bn.scale[c] = float32(s)
		bn.shift[c] = float32(float64(bn.beta[c]) - float64(bn.mean[c])*s)
	}
	return bn, nil
}

// scale64 is γ/√(σ²+ε) for channel c, in float64.
func (bn *BatchNorm2d) scale64(c int) float64 {
	return float64(bn.gamma[c]) / math.Sqrt(float64(bn.variance[c])+bn.eps)
}

// Channels is the number of channels, C.
func (bn *BatchNorm2d) Channels() int { return len(bn.mean) }

// Forward normalises x, N×C×H×W, into a new tensor of the same shape. It
// panics if x is not 4-D with C channels.
func (bn *BatchNorm2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	n, ch, h, w := nchw("BatchNorm2d.Forward", x)
	if ch != bn.Channels() {
		panic(fmt.Sprintf("nn: BatchNorm2d.Forward: input shape %v does not match %d channels: want N×%d×H×W", x.Shape(), bn.Channels(), bn.Channels()))
	}
	out := tensor.New(x.Shape()...)
	src, dst := data(x), out.Data()
	hw := h * w
	for i := 0; i < n*ch; i++ {
		s, t := bn.scale[i%ch], bn.shift[i%ch]
		in, o := src[i*hw:][:hw], dst[i*hw:][:hw]
		for j, v := range in {
			o[j] = v*s + t
		}
	}
	return out
}
