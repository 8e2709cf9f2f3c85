package optim

import (
	"math"

	"github.com/reconpatch/rp/autograd"
)

// AdamConfig holds the hyper-parameters of Adam and AdamW, named as
// torch.optim.Adam's.
type AdamConfig struct {
	LR          float64    // learning rate
	Betas       [2]float64 // decay rates of the first and second moments
	Eps         float64    // added to the denominator
	WeightDecay float64    // L2 (Adam) or decoupled (AdamW)
}

// DefaultAdamConfig returns PyTorch's defaults with the given learning rate:
// betas (0.9, 0.999), eps 1e-8, no weight decay. (torch.optim.AdamW's
// default weight decay is 1e-2; set it explicitly.)
func DefaultAdamConfig(lr float64) AdamConfig {
	return AdamConfig{LR: lr, Betas: [2]float64{0.9, 0.999}, Eps: 1e-8}
}

// Adam is torch.optim.Adam (decoupled = false: the weight decay is an L2
// term added to the gradient) or torch.optim.AdamW (decoupled: θ is first
// multiplied by 1 − lr·wd). At step t:
//
//	g ← g + wd·θ                       (Adam only)
//	θ ← θ·(1 − lr·wd)                  (AdamW only)
//	m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²
//	θ ← θ − lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + eps)
type Adam struct {
	base
	cfg       AdamConfig
	decoupled bool
	state     []adamState
}

// adamState is one parameter's moments and step count.
type adamState struct {
	m, v []float32
	t    int
}

// NewAdam returns an Adam optimiser of params.
func NewAdam(params []*autograd.Var, cfg AdamConfig) *Adam {
	return newAdam("Adam", params, cfg, false)
}

// NewAdamW returns an AdamW optimiser of params (decoupled weight decay).
func NewAdamW(params []*autograd.Var, cfg AdamConfig) *Adam {
	return newAdam("AdamW", params, cfg, true)
}

func newAdam(name string, params []*autograd.Var, cfg AdamConfig, decoupled bool) *Adam {
	checkBetas(cfg.Betas)
	checkNonNeg("eps", cfg.Eps)
	checkNonNeg("weight decay", cfg.WeightDecay)
	return &Adam{base: newBase(name, params, cfg.LR), cfg: cfg, decoupled: decoupled, state: make([]adamState, len(params))}
}

// Step applies one update.
func (o *Adam) Step() {
	b1, b2 := o.cfg.Betas[0], o.cfg.Betas[1]
	for i, p := range o.params {
		w, g, ok := grads(p)
		if !ok {
			continue
		}
		s := &o.state[i]
		if s.m == nil {
			s.m, s.v = make([]float32, len(w)), make([]float32, len(w))
		}
		s.t++
		stepSize := o.lr / (1 - math.Pow(b1, float64(s.t)))
		invBC2 := float32(1 / math.Sqrt(1-math.Pow(b2, float64(s.t))))
		eps := float32(o.cfg.Eps)
		decay, l2 := 1.0, o.cfg.WeightDecay
		if o.decoupled {
			decay, l2 = 1-o.lr*o.cfg.WeightDecay, 0
		}
		parallel(len(w), func(lo, hi int) {
			for j := lo; j < hi; j++ {
				wj := float64(w[j])
				gj := float64(g[j]) + l2*wj
				m := b1*float64(s.m[j]) + (1-b1)*gj
				v := b2*float64(s.v[j]) + (1-b2)*gj*gj
				s.m[j], s.v[j] = float32(m), float32(v)
				// float32(math.Sqrt(float64(x))) compiles to one SQRTSS.
				u := float32(m) / (float32(math.Sqrt(float64(float32(v))))*invBC2 + eps)
				w[j] = float32(wj*decay - stepSize*float64(u))
			}
		})
	}
}
