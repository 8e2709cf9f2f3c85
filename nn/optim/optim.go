package optim

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/reconpatch/rp/autograd"
)

// Optimizer updates parameters from their accumulated gradients.
type Optimizer interface {
	// Step applies one update to every parameter that has a gradient.
	Step()
	// ZeroGrad drops the gradients of all parameters.
	ZeroGrad()
	// LR is the current learning rate.
	LR() float64
	// SetLR sets the learning rate used by the next Step (schedules call
	// it).
	SetLR(lr float64)
	// Params returns the parameters being optimised.
	Params() []*autograd.Var
}

// base holds what every optimiser has: the parameters and the learning
// rate.
type base struct {
	params []*autograd.Var
	lr     float64
}

// ZeroGrad drops the gradients of all parameters.
func (b *base) ZeroGrad() {
	for _, p := range b.params {
		p.ZeroGrad()
	}
}

// LR is the current learning rate.
func (b *base) LR() float64 { return b.lr }

// SetLR sets the learning rate of the next Step.
func (b *base) SetLR(lr float64) {
	checkNonNeg("learning rate", lr)
	b.lr = lr
}

// Params returns the parameters being optimised.
func (b *base) Params() []*autograd.Var { return b.params }

func newBase(name string, params []*autograd.Var, lr float64) base {
	for i, p := range params {
		if p == nil || !p.RequiresGrad() {
			panic(fmt.Sprintf("optim: %s: parameter %d is not trainable", name, i))
		}
		if !p.Value.IsContiguous() {
			panic(fmt.Sprintf("optim: %s: parameter %d is not contiguous", name, i))
		}
	}
	checkNonNeg("learning rate", lr)
	return base{params: params, lr: lr}
}

func checkNonNeg(what string, v float64) {
	if !(v >= 0) || math.IsInf(v, 0) {
		panic(fmt.Sprintf("optim: %s %v: need a finite value ≥ 0", what, v))
	}
}

func checkBetas(b [2]float64) {
	for _, v := range b {
		if !(v >= 0 && v < 1) {
			panic(fmt.Sprintf("optim: betas %v: need values in [0, 1)", b))
		}
	}
}

// grads returns p's value and gradient as slices, or ok = false when p has
// no gradient.
func grads(p *autograd.Var) (w, g []float32, ok bool) {
	if p.Grad == nil {
		return nil, nil, false
	}
	return p.Value.Data(), p.Grad.Data(), true
}

// parallelMin is the number of elements from which an update is split
// across goroutines.
const parallelMin = 1 << 15

// parallel runs fn over [0, n) in contiguous ranges, on several goroutines
// when n is large. Element updates are independent, so the result does not
// depend on the split.
func parallel(n int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n/parallelMin)
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for k := range workers {
		lo, hi := k*n/workers, (k+1)*n/workers
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}

// parallelRows runs fn over the rows [0, rows) of a rows×cols array in
// contiguous ranges, on several goroutines when the array is large.
func parallelRows(rows, cols int, fn func(r0, r1 int)) {
	workers := min(runtime.GOMAXPROCS(0), rows*cols/parallelMin, rows)
	if workers <= 1 {
		fn(0, rows)
		return
	}
	var wg sync.WaitGroup
	for k := range workers {
		lo, hi := k*rows/workers, (k+1)*rows/workers
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}
