package autograd

import (
	"fmt"

	"github.com/reconpatch/rp/simd"
	"github.com/reconpatch/rp/tensor"
)

// MatMul returns the matrix product a·b with NumPy batch broadcasting, as
// tensor.MatMul.
// Shape: [batch… m k] × [batch… k n] → [batch… m n].
//
// Backward: ∂/∂a = g·bᵀ and ∂/∂b = aᵀ·g, both on tensor.MatMul, which hands
// the transposed views to simd.Sgemm without copying; gradients of broadcast
// batch dimensions are summed.
func (tp *Tape) MatMul(a, b *Var) *Var {
	return tp.record("MatMul", tensor.MatMul(a.Value, b.Value), []*Var{a, b}, func(g *tensor.Tensor) {
		if NeedsGrad(a) {
			r, _ := reduceTo(tensor.MatMul(g, b.Value.Transpose(-2, -1)), a.Shape())
			addGrad(a, r, true)
		}
		if NeedsGrad(b) {
			r, _ := reduceTo(tensor.MatMul(a.Value.Transpose(-2, -1), g), b.Shape())
			addGrad(b, r, true)
		}
	})
}

// Linear returns x·wᵀ + b, PyTorch's linear layer; b may be nil.
// Shape: x [… in], w [out in], b [out] → [… out].
//
// Forward and backward run on simd.Sgemm with the rows of x flattened into
// one matrix X (M = number of rows):
//
//	Y  [M out] = X [M in] · Wᵀ              (B transposed, no copy)
//	dX [M in]  = dY [M out] · W [out in]
//	dW [out in] += dYᵀ [out M] · X [M in]   (A transposed; beta = 1 accumulates)
//	db [out]  += column sums of dY
func (tp *Tape) Linear(x, w, b *Var) *Var {
	checkRank("Linear", "weight", w, 2)
	out, in := w.Shape()[0], w.Shape()[1]
	xs := x.Shape()
	if len(xs) == 0 || xs[len(xs)-1] != in {
		panic(fmt.Sprintf("autograd: Linear: input %v and weight %v: need […, %d]", xs, w.Shape(), in))
	}
	if b != nil && (b.Value.Dims() != 1 || b.Shape()[0] != out) {
		panic(fmt.Sprintf("autograd: Linear: bias %v for weight %v", b.Shape(), w.Shape()))
	}
	m := x.Value.Size() / max(in, 1)
	yShape := append(append([]int{}, xs[:len(xs)-1]...), out)
	y := tensor.New(yShape...)
	xd, wd := data(x.Value), data(w.Value)
	yd := y.Data()
	if m > 0 && out > 0 {
		if in > 0 {
			simd.Sgemm(false, true, m, out, in, 1, xd, max(in, 1), wd, max(in, 1), 0, yd, out)
		}
		if b != nil {
			bd := data(b.Value)
			for i := range m {
				row := yd[i*out : (i+1)*out]
				for j, v := range bd {
					row[j] += v
				}
			}
		}
	}
	inputs := []*Var{x, w, b}
	return tp.record("Linear", y, inputs, func(g *tensor.Tensor) {
		gd := g.Data()
		if m == 0 || out == 0 || in == 0 {
			if NeedsGrad(x) {
				addGrad(x, tensor.New(xs...), true)
			}
			if NeedsGrad(w) {
				gradData(w)
			}
			if NeedsGrad(b) {
				gradData(b)
			}
			return
		}
		if NeedsGrad(w) {
			simd.Sgemm(true, false, out, in, m, 1, gd, out, xd, in, 1, gradData(w), in)
		}
		if NeedsGrad(b) {
			gb := gradData(b)
			for i := range m {
				simd.Axpy(1, gd[i*out:(i+1)*out], gb)
			}
		}
		if NeedsGrad(x) {
			gx := tensor.New(xs...)
			simd.Sgemm(false, false, m, in, out, 1, gd, out, wd, in, 0, gx.Data(), in)
			addGrad(x, gx, true)
		}
	})
}
