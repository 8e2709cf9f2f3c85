package optim

import (
	"math"

	"github.com/reconpatch/rp/autograd"
)

// AdamPConfig holds the hyper-parameters of AdamP, named as clovaai/AdamP's.
type AdamPConfig struct {
	LR          float64    // learning rate
	Betas       [2]float64 // decay rates of the first and second moments
	Eps         float64    // added to the denominator, and the guard of the norms
	WeightDecay float64    // decoupled
	// Delta is the threshold of the projection test: the projection
	// applies when |cos(g, θ)| < Delta/√(view length).
	Delta float64
	// WDRatio scales the weight decay of parameters that are projected.
	WDRatio  float64
	Nesterov bool // Nesterov's form of the momentum in the direction
}

// DefaultAdamPConfig returns AdamP's defaults with the given learning rate:
// betas (0.9, 0.999), eps 1e-8, weight decay 0, delta 0.1, wd_ratio 0.1,
// no Nesterov. ReConPatch trains with lr 1e-5 and weight decay 1e-2.
func DefaultAdamPConfig(lr float64) AdamPConfig {
	return AdamPConfig{LR: lr, Betas: [2]float64{0.9, 0.999}, Eps: 1e-8, Delta: 0.1, WDRatio: 0.1}
}

// AdamP is Adam with projection (Heo et al., "AdamP: Slowing Down the
// Slowdown for Momentum Optimizers on Scale-invariant Weights", ICLR 2021),
// exactly as clovaai/AdamP's adamp.py. For a parameter θ with gradient g at
// step t:
//
//  1. m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²
//  2. denom = √v/√(1 − β₂ᵗ) + eps;  step = lr/(1 − β₁ᵗ)
//  3. u = m/denom, or (β₁m + (1 − β₁)g)/denom with Nesterov
//  4. if θ has ≥ 2 dimensions, the projection test on the raw gradient g:
//     a. channel view (one row per index of the first dimension, as a
//     Linear layer's output units): if max over rows of |cos(g_r, θ_r)| <
//     Delta/√(row length), every row of u loses its component along θ_r,
//     u_r ← u_r − θ̂_r(θ̂_r·u_r) with θ̂_r = θ_r/(‖θ_r‖ + eps), and the decay
//     factor is WDRatio; otherwise
//     b. layer view (θ flattened): the same test with Delta/√(numel) and the
//     same projection on the whole tensor;
//     with neither, the factor is 1 (always 1 for vectors such as biases);
//  5. θ ← θ·(1 − lr·WeightDecay·factor)   (decoupled; lr without bias correction)
//  6. θ ← θ − step·u
//
// The cosine is PyTorch's F.cosine_similarity: x·y / (max(‖x‖, eps)·max(‖y‖, eps)).
type AdamP struct {
	base
	cfg   AdamPConfig
	state []adamPState
	// Projections counts, per parameter, the steps projected in the
	// channel view and in the layer view (for diagnostics and tests).
	Projections [][2]int
}

type adamPState struct {
	m, v []float32
	u    []float32 // scratch: the update direction
	t    int
}

// NewAdamP returns an AdamP optimiser of params.
func NewAdamP(params []*autograd.Var, cfg AdamPConfig) *AdamP {
	checkBetas(cfg.Betas)
	checkNonNeg("eps", cfg.Eps)
	checkNonNeg("weight decay", cfg.WeightDecay)
	checkNonNeg("delta", cfg.Delta)
	checkNonNeg("wd_ratio", cfg.WDRatio)
	return &AdamP{base: newBase("AdamP", params, cfg.LR), cfg: cfg,
		state: make([]adamPState, len(params)), Projections: make([][2]int, len(params))}
}

// Step applies one update.
//
// A parameter is processed in two passes over its rows (the channel view;
// a vector is one row), run in parallel over rows: the first updates the
// moments, computes the direction u and accumulates each row's g·θ, g·g and
// θ·θ in float64 for the projection test; the second projects u if the test
// says so and updates θ. Row sums and their totals are added in row order,
// so the result does not depend on the number of workers.
func (o *AdamP) Step() {
	c := o.cfg
	b1, b2 := c.Betas[0], c.Betas[1]
	eps32 := float32(c.Eps)
	for i, p := range o.params {
		w, g, ok := grads(p)
		if !ok {
			continue
		}
		s := &o.state[i]
		if s.m == nil {
			s.m, s.v, s.u = make([]float32, len(w)), make([]float32, len(w)), make([]float32, len(w))
		}
		s.t++
		stepSize := o.lr / (1 - math.Pow(b1, float64(s.t)))
		invBC2 := float32(1 / math.Sqrt(1-math.Pow(b2, float64(s.t))))
		shape := p.Shape()
		rows := 1
		if len(shape) >= 2 && len(w) > 0 {
			rows = shape[0]
		}
		cols := len(w) / max(rows, 1)
		project := len(shape) >= 2
		stats := make([]float64, 3*rows) // per row: g·θ, g·g, θ·θ
		u := s.u
		parallelRows(rows, cols, func(r0, r1 int) {
			for r := r0; r < r1; r++ {
				var gw, gg, ww float64
				for j := r * cols; j < (r+1)*cols; j++ {
					gj := float64(g[j])
					m := b1*float64(s.m[j]) + (1-b1)*gj
					v := b2*float64(s.v[j]) + (1-b2)*gj*gj
					s.m[j], s.v[j] = float32(m), float32(v)
					num := float32(m)
					if c.Nesterov {
						num = float32(b1*m + (1-b1)*gj)
					}
					// float32(math.Sqrt(float64(x))) compiles to one SQRTSS.
					u[j] = num / (float32(math.Sqrt(float64(float32(v))))*invBC2 + eps32)
					if project {
						wj := float64(w[j])
						gw += gj * wj
						gg += gj * gj
						ww += wj * wj
					}
				}
				stats[3*r], stats[3*r+1], stats[3*r+2] = gw, gg, ww
			}
		})

		// The projection test: channel view, then layer view.
		view := -1 // 0: channel, 1: layer
		if project {
			if channelTest(stats, rows, cols, c.Delta, c.Eps) {
				view = 0
			} else {
				var gw, gg, ww float64
				for r := range rows {
					gw, gg, ww = gw+stats[3*r], gg+stats[3*r+1], ww+stats[3*r+2]
				}
				if cosine(gw, gg, ww, c.Eps) < c.Delta/math.Sqrt(float64(len(w))) {
					view = 1
				}
			}
		}
		factor := 1.0
		if view >= 0 {
			factor = c.WDRatio
			o.Projections[i][view]++
		}
		decay := 1 - o.lr*c.WeightDecay*factor
		if c.WeightDecay == 0 {
			decay = 1
		}

		// The layer projection needs ŵ·u over the whole tensor first.
		var layerInv, layerDot float64
		if view == 1 {
			var ww float64
			for r := range rows {
				ww += stats[3*r+2]
			}
			layerInv = 1 / (math.Sqrt(ww) + c.Eps)
			parallelRows(rows, cols, func(r0, r1 int) {
				for r := r0; r < r1; r++ {
					stats[3*r] = dot(w[r*cols:(r+1)*cols], u[r*cols:(r+1)*cols])
				}
			})
			for r := range rows {
				layerDot += stats[3*r]
			}
			layerDot *= layerInv
		}
		parallelRows(rows, cols, func(r0, r1 int) {
			for r := r0; r < r1; r++ {
				wr, ur := w[r*cols:(r+1)*cols], u[r*cols:(r+1)*cols]
				// u ← u − ŵ(ŵ·u) with ŵ = θ·inv: coef = inv·(ŵ·u).
				var inv, coef float64
				switch view {
				case 0:
					inv = 1 / (math.Sqrt(stats[3*r+2]) + c.Eps)
					coef = inv * inv * dot(wr, ur)
				case 1:
					inv, coef = layerInv, layerInv*layerDot
				}
				for j, wj := range wr {
					uj := float64(ur[j])
					if view >= 0 {
						uj -= float64(wj) * coef
					}
					wr[j] = float32(float64(wj)*decay - stepSize*uj)
				}
			}
		})
	}
}

// channelTest reports whether every row has |cos(g_r, θ_r)| below
// delta/√cols, from the row sums in stats.
func channelTest(stats []float64, rows, cols int, delta, eps float64) bool {
	limit := delta / math.Sqrt(float64(cols))
	for r := range rows {
		if !(cosine(stats[3*r], stats[3*r+1], stats[3*r+2], eps) < limit) {
			return false
		}
	}
	return true
}

// cosine is |x·y| / (max(‖x‖, eps)·max(‖y‖, eps)) from x·y, x·x and y·y,
// as F.cosine_similarity.
func cosine(xy, xx, yy, eps float64) float64 {
	return math.Abs(xy) / (math.Max(math.Sqrt(xx), eps) * math.Max(math.Sqrt(yy), eps))
}

// dot is Σ x_j·y_j in float64.
func dot(x, y []float32) float64 {
	var s float64
	for j, v := range x {
		s += float64(v) * float64(y[j])
	}
	return s
}
