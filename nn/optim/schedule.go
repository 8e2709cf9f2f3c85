package optim

import (
	"fmt"
	"math"
)

// Cosine is cosine annealing of an optimiser's learning rate, PyTorch's
// CosineAnnealingLR without restarts: after t calls of Step the rate is
//
//	η_t = η_min + (η₀ − η_min)·(1 + cos(π·t/T_max))/2
//
// with η₀ the optimiser's rate when the schedule was made. Call Step once
// per epoch (T_max in epochs, the ReConPatch default) or once per
// iteration (T_max in iterations). Beyond T_max the rate rises again along
// the same cosine, as PyTorch's closed form does.
type Cosine struct {
	opt    Optimizer
	base   float64
	etaMin float64
	tMax   int
	t      int
}

// NewCosine returns a cosine schedule for opt over tMax steps down to
// etaMin, starting from opt's current rate.
func NewCosine(opt Optimizer, tMax int, etaMin float64) *Cosine {
	if tMax <= 0 {
		panic(fmt.Sprintf("optim: NewCosine: T_max %d ≤ 0", tMax))
	}
	checkNonNeg("eta_min", etaMin)
	return &Cosine{opt: opt, base: opt.LR(), etaMin: etaMin, tMax: tMax}
}

// Step advances the schedule by one and sets the optimiser's rate.
func (c *Cosine) Step() {
	c.t++
	c.opt.SetLR(c.At(c.t))
}

// T is the number of Step calls so far.
func (c *Cosine) T() int { return c.t }

// At returns the rate after t steps.
func (c *Cosine) At(t int) float64 {
	return c.etaMin + (c.base-c.etaMin)*(1+math.Cos(math.Pi*float64(t)/float64(c.tMax)))/2
}
