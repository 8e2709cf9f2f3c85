package autograd

import (
	"fmt"
	"math"

	"github.com/reconpatch/rp/tensor"
)

// BatchNormOptions configures BatchNorm as torch.nn.functional.batch_norm's
// arguments do.
type BatchNormOptions struct {
	// Training normalises with the batch's statistics and updates the
	// running ones; otherwise the running statistics are used.
	Training bool
	// Momentum weighs the batch statistics in the running ones:
	// running ← (1 − momentum)·running + momentum·batch (PyTorch's
	// convention; 0.1 there).
	Momentum float64
	// Eps is added to the variance (1e-5 in PyTorch).
	Eps float64
}

// BatchNorm normalises x per channel (dimension 1) over the batch and any
// spatial dimensions, then scales by gamma and shifts by beta (either may be
// nil: 1 and 0). runningMean and runningVar ([C], may be nil in training)
// are read in evaluation and, in training, updated in place with the batch
// mean and the unbiased batch variance, as PyTorch does.
// Shape: x [N C] or [N C H W] (any trailing dimensions), gamma, beta [C] →
// x's shape.
//
// Training, with M = N·H·W values per channel, x̂ = (x − μ)/√(σ² + eps),
// σ² the biased batch variance:
//
//	∂/∂β = Σ g,  ∂/∂γ = Σ g·x̂,
//	∂/∂x = γ/(M·√(σ² + eps)) · (M·g − Σ g − x̂·Σ g·x̂)
//
// Evaluation is an affine map: ∂/∂x = g·γ/√(var + eps).
// Statistics and channel sums are accumulated in float64.
func (tp *Tape) BatchNorm(x, gamma, beta *Var, runningMean, runningVar *tensor.Tensor, opt BatchNormOptions) *Var {
	xs := x.Shape()
	if len(xs) < 2 {
		panic(fmt.Sprintf("autograd: BatchNorm: input %v: need [N C …]", xs))
	}
	n, c := xs[0], xs[1]
	sp := 1
	for _, s := range xs[2:] {
		sp *= s
	}
	m := n * sp
	for _, p := range []*Var{gamma, beta} {
		if p != nil && (p.Value.Dims() != 1 || p.Shape()[0] != c) {
			panic(fmt.Sprintf("autograd: BatchNorm: parameter %v for input %v", p.Shape(), xs))
		}
	}
	for _, r := range []*tensor.Tensor{runningMean, runningVar} {
		if r != nil && (r.Dims() != 1 || r.Dim(0) != c || !r.IsContiguous()) {
			panic(fmt.Sprintf("autograd: BatchNorm: running statistic %v for input %v", r.Shape(), xs))
		}
	}
	if !opt.Training && (runningMean == nil || runningVar == nil) {
		panic("autograd: BatchNorm: evaluation needs running statistics")
	}
	if opt.Training && m < 2 {
		panic(fmt.Sprintf("autograd: BatchNorm: training needs more than one value per channel, got input %v", xs))
	}
	xd := data(x.Value)
	var gd, bd []float32
	if gamma != nil {
		gd = data(gamma.Value)
	}
	if beta != nil {
		bd = data(beta.Value)
	}
	mean := make([]float64, c)
	invStd := make([]float64, c)
	for ch := range c {
		if opt.Training {
			var s float64
			for i := range n {
				for _, v := range xd[(i*c+ch)*sp:][:sp] {
					s += float64(v)
				}
			}
			mu := s / float64(m)
			var q float64
			for i := range n {
				for _, v := range xd[(i*c+ch)*sp:][:sp] {
					q += (float64(v) - mu) * (float64(v) - mu)
				}
			}
			variance := q / float64(m)
			mean[ch], invStd[ch] = mu, 1/math.Sqrt(variance+opt.Eps)
			if runningMean != nil {
				r := runningMean.Data()
				r[ch] = float32((1-opt.Momentum)*float64(r[ch]) + opt.Momentum*mu)
			}
			if runningVar != nil {
				r := runningVar.Data()
				r[ch] = float32((1-opt.Momentum)*float64(r[ch]) + opt.Momentum*q/float64(m-1))
			}
		} else {
			mean[ch] = float64(runningMean.Data()[ch])
			invStd[ch] = 1 / math.Sqrt(float64(runningVar.Data()[ch])+opt.Eps)
		}
	}
	scale := func(ch int) float64 {
		if gd == nil {
			return 1
		}
		return float64(gd[ch])
	}
	y := tensor.New(xs...)
	yd := y.Data()
	for i := range n {
		for ch := range c {
			a := scale(ch) * invStd[ch]
			sh := -mean[ch] * a
			if bd != nil {
				sh += float64(bd[ch])
			}
			src, dst := xd[(i*c+ch)*sp:][:sp], yd[(i*c+ch)*sp:][:sp]
			for k, v := range src {
				dst[k] = float32(float64(v)*a + sh)
			}
		}
	}
	return tp.record("BatchNorm", y, []*Var{x, gamma, beta}, func(g *tensor.Tensor) {
		gdat := g.Data()
		// Channel sums Σg and Σg·x̂.
		sg := make([]float64, c)
		sgx := make([]float64, c)
		for i := range n {
			for ch := range c {
				src, gg := xd[(i*c+ch)*sp:][:sp], gdat[(i*c+ch)*sp:][:sp]
				var a, b float64
				for k, v := range src {
					a += float64(gg[k])
					b += float64(gg[k]) * (float64(v) - mean[ch]) * invStd[ch]
				}
				sg[ch] += a
				sgx[ch] += b
			}
		}
		if NeedsGrad(beta) {
			gb := gradData(beta)
			for ch := range c {
				gb[ch] += float32(sg[ch])
			}
		}
		if NeedsGrad(gamma) {
			gg := gradData(gamma)
			for ch := range c {
				gg[ch] += float32(sgx[ch])
			}
		}
		if !NeedsGrad(x) {
			return
		}
		// Written over g, which this function owns.
		for i := range n {
			for ch := range c {
				src, gg := xd[(i*c+ch)*sp:][:sp], gdat[(i*c+ch)*sp:][:sp]
				k0 := scale(ch) * invStd[ch]
				if !opt.Training {
					for k := range gg {
						gg[k] = float32(float64(gg[k]) * k0)
					}
					continue
				}
				mg, mgx := sg[ch]/float64(m), sgx[ch]/float64(m)
				for k, v := range src {
					xh := (float64(v) - mean[ch]) * invStd[ch]
					gg[k] = float32(k0 * (float64(gg[k]) - mg - xh*mgx))
				}
			}
		}
		addGrad(x, g, true)
	})
}
