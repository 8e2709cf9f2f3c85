package optim_test

import (
	"fmt"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/nn/optim"
	"github.com/reconpatch/rp/tensor"
)

// Minimise ‖w − (3, −1)‖² with AdamP and a cosine schedule stepped per
// iteration, keeping an exponential moving average of w.
func ExampleAdamP() {
	w := autograd.NewParam(tensor.Zeros(2))
	target := autograd.NewConst(tensor.FromSlice([]float32{3, -1}, 2))
	opt := optim.NewAdamP([]*autograd.Var{w}, optim.DefaultAdamPConfig(0.1))
	sched := optim.NewCosine(opt, 200, 0)
	ema := optim.NewEMA(opt.Params(), 0.9)
	for range 200 {
		tp := autograd.NewTape()
		tp.Backward(tp.Sum(tp.Square(tp.Sub(w, target)), false))
		opt.Step()
		opt.ZeroGrad()
		ema.Update()
		sched.Step()
	}
	fmt.Printf("w = [%.2f %.2f], EMA = [%.2f %.2f], lr %.2g\n", w.Value.At(0), w.Value.At(1),
		ema.Shadow()[0].Value.At(0), ema.Shadow()[0].Value.At(1), opt.LR())
	// Output: w = [3.00 -1.00], EMA = [3.00 -1.00], lr 0
}

func ExampleCosine() {
	opt := optim.NewSGD([]*autograd.Var{autograd.NewParam(tensor.Zeros(1))}, optim.SGDConfig{LR: 1})
	sched := optim.NewCosine(opt, 4, 0)
	for range 5 {
		fmt.Printf("%.3f ", opt.LR())
		sched.Step()
	}
	fmt.Println()
	// Output: 1.000 0.854 0.500 0.146 0.000
}
