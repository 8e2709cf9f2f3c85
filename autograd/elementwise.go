package autograd

import (
	"fmt"
	"math"
	"slices"

	"github.com/reconpatch/rp/tensor"
)

// Elementwise operations. The binary ones broadcast as tensor.Add does
// (NumPy rules); their backward passes sum the gradient over the broadcast
// dimensions back to each input's shape.
// Shape: a [A…], b [B…] → broadcast(A, B).

// Add returns a + b.
func (tp *Tape) Add(a, b *Var) *Var {
	return tp.record("Add", tensor.Add(a.Value, b.Value), []*Var{a, b}, func(g *tensor.Tensor) {
		// ∂/∂a = g, ∂/∂b = g (each summed to its shape). b copies g if it
		// needs it unreduced; a may then take g itself.
		if NeedsGrad(b) {
			r, same := reduceTo(g, b.Shape())
			addGrad(b, r, !same)
		}
		if NeedsGrad(a) {
			r, _ := reduceTo(g, a.Shape())
			addGrad(a, r, true)
		}
	})
}

// Sub returns a − b.
func (tp *Tape) Sub(a, b *Var) *Var {
	return tp.record("Sub", tensor.Sub(a.Value, b.Value), []*Var{a, b}, func(g *tensor.Tensor) {
		// ∂/∂a = g, ∂/∂b = −g.
		if NeedsGrad(b) {
			r, same := reduceTo(g, b.Shape())
			if same {
				r = tensor.Neg(r)
			} else {
				r.MulScalarInPlace(-1)
			}
			addGrad(b, r, true)
		}
		if NeedsGrad(a) {
			r, _ := reduceTo(g, a.Shape())
			addGrad(a, r, true)
		}
	})
}

// Mul returns a ⊙ b (elementwise).
func (tp *Tape) Mul(a, b *Var) *Var {
	return tp.record("Mul", tensor.Mul(a.Value, b.Value), []*Var{a, b}, func(g *tensor.Tensor) {
		// ∂/∂a = g ⊙ b, ∂/∂b = g ⊙ a.
		if NeedsGrad(a) {
			r, _ := reduceTo(tensor.Mul(g, b.Value), a.Shape())
			addGrad(a, r, true)
		}
		if NeedsGrad(b) {
			r, _ := reduceTo(g.MulInPlace(a.Value), b.Shape())
			addGrad(b, r, true)
		}
	})
}

// Div returns a / b (elementwise).
func (tp *Tape) Div(a, b *Var) *Var {
	y := tensor.Div(a.Value, b.Value)
	return tp.record("Div", y, []*Var{a, b}, func(g *tensor.Tensor) {
		// ∂/∂a = g / b, ∂/∂b = −g ⊙ a / b² = −g ⊙ y / b.
		if NeedsGrad(a) {
			r, _ := reduceTo(tensor.Div(g, b.Value), a.Shape())
			addGrad(a, r, true)
		}
		if NeedsGrad(b) {
			t := g.MulInPlace(y).DivInPlace(b.Value).MulScalarInPlace(-1)
			r, _ := reduceTo(t, b.Shape())
			addGrad(b, r, true)
		}
	})
}

// Neg returns −x.
func (tp *Tape) Neg(x *Var) *Var {
	return tp.record("Neg", tensor.Neg(x.Value), []*Var{x}, func(g *tensor.Tensor) {
		addGrad(x, g.MulScalarInPlace(-1), true)
	})
}

// Scale returns c·x for a constant c.
func (tp *Tape) Scale(x *Var, c float32) *Var {
	return tp.record("Scale", tensor.MulScalar(x.Value, c), []*Var{x}, func(g *tensor.Tensor) {
		addGrad(x, g.MulScalarInPlace(c), true)
	})
}

// AddScalar returns x + c for a constant c.
func (tp *Tape) AddScalar(x *Var, c float32) *Var {
	return tp.record("AddScalar", tensor.AddScalar(x.Value, c), []*Var{x}, func(g *tensor.Tensor) {
		addGrad(x, g, true)
	})
}

// Exp returns eˣ.
func (tp *Tape) Exp(x *Var) *Var {
	y := tensor.Exp(x.Value)
	return tp.record("Exp", y, []*Var{x}, func(g *tensor.Tensor) {
		addGrad(x, g.MulInPlace(y), true) // ∂eˣ/∂x = eˣ
	})
}

// Log returns the natural logarithm of x.
func (tp *Tape) Log(x *Var) *Var {
	return tp.record("Log", tensor.Log(x.Value), []*Var{x}, func(g *tensor.Tensor) {
		addGrad(x, g.DivInPlace(x.Value), true) // ∂ln x/∂x = 1/x
	})
}

// Sqrt returns √x. Its gradient at x = 0 is +Inf, as in PyTorch; use
// PairDist for distances.
func (tp *Tape) Sqrt(x *Var) *Var {
	y := tensor.Sqrt(x.Value)
	return tp.record("Sqrt", y, []*Var{x}, func(g *tensor.Tensor) {
		addGrad(x, g.DivInPlace(y).MulScalarInPlace(0.5), true) // 1/(2√x)
	})
}

// Pow returns xᵖ for a constant exponent p, computed in float64 per element
// (math.Pow's rules for negative bases and special values).
func (tp *Tape) Pow(x *Var, p float64) *Var {
	y := tensor.Apply(x.Value, func(v float32) float32 { return float32(math.Pow(float64(v), p)) })
	return tp.record("Pow", y, []*Var{x}, func(g *tensor.Tensor) {
		// ∂xᵖ/∂x = p·xᵖ⁻¹
		gd, xd := g.Data(), data(x.Value)
		for i, v := range xd {
			gd[i] = float32(float64(gd[i]) * p * math.Pow(float64(v), p-1))
		}
		addGrad(x, g, true)
	})
}

// Square returns x² (Pow(x, 2) without math.Pow).
func (tp *Tape) Square(x *Var) *Var {
	return tp.record("Square", tensor.Mul(x.Value, x.Value), []*Var{x}, func(g *tensor.Tensor) {
		addGrad(x, g.MulInPlace(x.Value).MulScalarInPlace(2), true)
	})
}

// ReLU returns max(x, 0). Its gradient is 1 where x > 0 and 0 elsewhere
// (at 0 included), as PyTorch's relu.
func (tp *Tape) ReLU(x *Var) *Var {
	return tp.record("ReLU", tensor.ReLU(x.Value), []*Var{x}, func(g *tensor.Tensor) {
		maskGrad(g, x.Value, func(v float32) bool { return v > 0 })
		addGrad(x, g, true)
	})
}

// Clamp returns x limited to [lo, hi]. The gradient passes where
// lo ≤ x ≤ hi (bounds included, as PyTorch's clamp) and is 0 elsewhere.
func (tp *Tape) Clamp(x *Var, lo, hi float32) *Var {
	if !(lo <= hi) {
		panic(fmt.Sprintf("autograd: Clamp: empty range [%v, %v]", lo, hi))
	}
	return tp.record("Clamp", tensor.Clamp(x.Value, lo, hi), []*Var{x}, func(g *tensor.Tensor) {
		maskGrad(g, x.Value, func(v float32) bool { return v >= lo && v <= hi })
		addGrad(x, g, true)
	})
}

// ClampMin returns max(x, lo), such as the hinge max(m − δ, 0) of the
// contrastive loss. The gradient passes where x ≥ lo (PyTorch's clamp_min).
func (tp *Tape) ClampMin(x *Var, lo float32) *Var {
	y := tensor.Apply(x.Value, func(v float32) float32 { return max(v, lo) })
	return tp.record("ClampMin", y, []*Var{x}, func(g *tensor.Tensor) {
		maskGrad(g, x.Value, func(v float32) bool { return v >= lo })
		addGrad(x, g, true)
	})
}

// maskGrad zeroes the elements of g (contiguous) where keep(x) is false.
func maskGrad(g, x *tensor.Tensor, keep func(float32) bool) {
	gd, xd := g.Data(), data(x)
	for i, v := range xd {
		if !keep(v) {
			gd[i] = 0
		}
	}
}

// reduceTo sums g over the dimensions along which a tensor of shape was
// broadcast to g's shape. same reports that no reduction was needed and the
// result is g itself.
func reduceTo(g *tensor.Tensor, shape []int) (r *tensor.Tensor, same bool) {
	gs := g.Shape()
	if slices.Equal(gs, shape) {
		return g, true
	}
	lead := len(gs) - len(shape)
	if lead < 0 {
		panic(fmt.Sprintf("autograd: internal error: reduce %v to %v", gs, shape))
	}
	r = g
	if lead > 0 {
		r = tensor.Sum(r.Reshape(append([]int{-1}, gs[lead:]...)...), 0, false)
	}
	for d, s := range shape {
		if s == 1 && r.Dim(d) != 1 {
			r = tensor.Sum(r, d, true)
		}
	}
	if r == g {
		r = r.Reshape(shape...)
		return r, true
	}
	return r.Reshape(shape...), false
}
