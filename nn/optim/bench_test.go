package optim_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/nn/optim"
	"github.com/reconpatch/rp/tensor"
)

// benchParams returns the parameters of the default ReConPatch head
// (1024 → 512 → 128, with biases: 590,464 values) with random gradients.
func benchParams() []*autograd.Var {
	rng := rand.New(rand.NewPCG(1, 1))
	var ps []*autograd.Var
	for _, s := range [][]int{{512, 1024}, {512}, {128, 512}, {128}} {
		p := autograd.NewParam(tensor.RandNormal(rng, 0, 0.05, s...))
		p.Grad = tensor.RandNormal(rng, 0, 1e-3, s...)
		ps = append(ps, p)
	}
	return ps
}

func BenchmarkStep(b *testing.B) {
	for _, c := range []struct {
		name string
		make func([]*autograd.Var) optim.Optimizer
	}{
		{"AdamP", func(ps []*autograd.Var) optim.Optimizer { return optim.NewAdamP(ps, optim.DefaultAdamPConfig(1e-5)) }},
		{"Adam", func(ps []*autograd.Var) optim.Optimizer { return optim.NewAdam(ps, optim.DefaultAdamConfig(1e-5)) }},
		{"SGD", func(ps []*autograd.Var) optim.Optimizer {
			return optim.NewSGD(ps, optim.SGDConfig{LR: 1e-3, Momentum: 0.9})
		}},
	} {
		b.Run(fmt.Sprintf("%s/head_1024-512-128", c.name), func(b *testing.B) {
			opt := c.make(benchParams())
			for b.Loop() {
				opt.Step()
			}
		})
	}
	b.Run("EMA/head_1024-512-128", func(b *testing.B) {
		e := optim.NewEMA(benchParams(), 0.99)
		for b.Loop() {
			e.Update()
		}
	})
}
