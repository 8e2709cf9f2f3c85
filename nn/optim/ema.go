package optim

import (
	"fmt"
	"slices"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/simd"
)

// EMA is an exponential moving average of a parameter set: shadow copies θ̄
// updated as θ̄ ← γ·θ̄ + (1 − γ)·θ after each optimiser step. In ReConPatch
// the shadows are the similarity network f̄, ḡ; they are constants (no
// gradient flows into them).
type EMA struct {
	// Decay is γ.
	Decay  float64
	src    []*autograd.Var
	shadow []*autograd.Var
}

// NewEMA returns an EMA of src whose shadows start as copies of src.
func NewEMA(src []*autograd.Var, decay float64) *EMA {
	if !(decay >= 0 && decay <= 1) {
		panic(fmt.Sprintf("optim: NewEMA: decay %v outside [0, 1]", decay))
	}
	sh := make([]*autograd.Var, len(src))
	for i, p := range src {
		sh[i] = autograd.NewConst(p.Value.Clone())
		sh[i].Name = p.Name
	}
	return &EMA{Decay: decay, src: src, shadow: sh}
}

// Shadow returns the averaged parameters, in the order of src.
func (e *EMA) Shadow() []*autograd.Var { return e.shadow }

// Update moves every shadow towards its parameter, in float32 on the SIMD
// vector kernels (θ̄ ← γ·θ̄, then θ̄ ← θ̄ + (1 − γ)·θ).
func (e *EMA) Update() {
	for i, p := range e.src {
		s := e.shadow[i].Value
		if !slices.Equal(s.Shape(), p.Shape()) {
			panic(fmt.Sprintf("optim: EMA: parameter %d changed shape from %v to %v", i, s.Shape(), p.Shape()))
		}
		sd, pd := s.Data(), p.Value.Contiguous().Data()
		g := float32(e.Decay)
		parallel(len(sd), func(lo, hi int) {
			simd.Scale(g, sd[lo:hi])
			simd.Axpy(1-g, pd[lo:hi], sd[lo:hi])
		})
	}
}
