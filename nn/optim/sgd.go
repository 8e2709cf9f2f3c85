package optim

import "github.com/reconpatch/rp/autograd"

// SGDConfig holds the hyper-parameters of SGD, named as torch.optim.SGD's.
type SGDConfig struct {
	LR          float64 // learning rate
	Momentum    float64 // 0: plain gradient descent
	Dampening   float64 // scales the gradient's share of the momentum by 1 − Dampening
	WeightDecay float64 // L2 penalty, added to the gradient
	Nesterov    bool    // needs Momentum > 0 and Dampening = 0
}

// SGD is stochastic gradient descent with momentum, torch.optim.SGD's rule:
//
//	d = g + wd·θ
//	b = d (first step), else b = μ·b + (1 − dampening)·d
//	d = d + μ·b (Nesterov) or d = b
//	θ = θ − lr·d
type SGD struct {
	base
	cfg SGDConfig
	buf [][]float32 // momentum buffers, nil until the first step
}

// NewSGD returns an SGD optimiser of params.
func NewSGD(params []*autograd.Var, cfg SGDConfig) *SGD {
	checkNonNeg("momentum", cfg.Momentum)
	checkNonNeg("weight decay", cfg.WeightDecay)
	if cfg.Nesterov && (cfg.Momentum <= 0 || cfg.Dampening != 0) {
		panic("optim: SGD: Nesterov momentum needs Momentum > 0 and Dampening = 0")
	}
	return &SGD{base: newBase("SGD", params, cfg.LR), cfg: cfg, buf: make([][]float32, len(params))}
}

// Step applies one update.
func (o *SGD) Step() {
	c := o.cfg
	for i, p := range o.params {
		w, g, ok := grads(p)
		if !ok {
			continue
		}
		first := o.buf[i] == nil
		if c.Momentum != 0 && first {
			o.buf[i] = make([]float32, len(w))
		}
		buf := o.buf[i]
		for j := range w {
			wj := float64(w[j])
			d := float64(g[j]) + c.WeightDecay*wj
			if c.Momentum != 0 {
				b := d
				if !first {
					b = c.Momentum*float64(buf[j]) + (1-c.Dampening)*d
				}
				buf[j] = float32(b)
				if c.Nesterov {
					d += c.Momentum * b
				} else {
					d = b
				}
			}
			w[j] = float32(wj - o.lr*d)
		}
	}
}
