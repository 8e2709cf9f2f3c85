package autograd_test

import (
	"fmt"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/tensor"
)

// The gradient of a small least-squares loss with respect to a weight
// matrix and a bias.
func ExampleTape() {
	x := autograd.NewConst(tensor.FromSlice([]float32{1, 2, 3, 4}, 2, 2)) // [N=2 in=2]
	w := autograd.NewParam(tensor.FromSlice([]float32{0.5, -1}, 1, 2))    // [out=1 in=2]
	b := autograd.NewParam(tensor.FromSlice([]float32{0.25}, 1))          // [out=1]
	target := autograd.NewConst(tensor.FromSlice([]float32{0, 1}, 2, 1))  // [N=2 1]

	tp := autograd.NewTape()
	y := tp.Linear(x, w, b)                              // [2 1]
	loss := tp.Mean(tp.Square(tp.Sub(y, target)), false) // []
	tp.Backward(loss)
	fmt.Printf("loss %.4f\n", loss.Item())
	fmt.Println("dL/dw", w.Grad.Data(), "dL/db", b.Grad.Data())
	// Output:
	// loss 6.0625
	// dL/dw [-11 -15.5] dL/db [-4.5]
}

// Operations inside NoGrad, or on a nil tape, record nothing: this is how
// an EMA network or inference runs.
func ExampleTape_NoGrad() {
	w := autograd.NewParam(tensor.FromSlice([]float32{1, 2}, 2))
	tp := autograd.NewTape()
	var y *autograd.Var
	tp.NoGrad(func() { y = tp.Exp(w) })
	var inference *autograd.Tape // nil: no grad
	z := inference.Scale(w, 3)
	fmt.Println(y.RequiresGrad(), z.RequiresGrad(), tp.Len(), z.Value.Data())
	// Output: false false 0 [3 6]
}

// A custom operation: the value and a backward function.
func ExampleTape_Func() {
	x := autograd.NewParam(tensor.FromSlice([]float32{1, 2, 3}, 3))
	tp := autograd.NewTape()
	cube := tp.Func("cube", tensor.Apply(x.Value, func(v float32) float32 { return v * v * v }), []*autograd.Var{x},
		func(g *tensor.Tensor) []*tensor.Tensor {
			return []*tensor.Tensor{tensor.Mul(g, tensor.Mul(x.Value, x.Value)).MulScalarInPlace(3)}
		})
	tp.Backward(tp.Sum(cube, false))
	fmt.Println(x.Grad.Data())
	// Output: [3 12 27]
}
