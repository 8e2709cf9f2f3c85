package autograd

import (
	"fmt"

	"github.com/reconpatch/rp/tensor"
)

// Reshape returns x with a new shape (one dimension may be -1), a view of
// x's value when its layout allows, as tensor.Reshape.
// Shape: [d₀ d₁ …] → shape, same number of elements.
func (tp *Tape) Reshape(x *Var, shape ...int) *Var {
	return tp.record("Reshape", x.Value.Reshape(shape...), []*Var{x}, func(g *tensor.Tensor) {
		addGrad(x, g.Reshape(x.Shape()...), true)
	})
}

// Transpose returns x with dimensions d0 and d1 swapped (a view).
// Shape: [… a … b …] → [… b … a …].
func (tp *Tape) Transpose(x *Var, d0, d1 int) *Var {
	return tp.record("Transpose", x.Value.Transpose(d0, d1), []*Var{x}, func(g *tensor.Tensor) {
		addGrad(x, g.Transpose(d0, d1), true) // copied to contiguous by addGrad
	})
}

// Permute returns x with its dimensions reordered: dimension i of the result
// is dimension axes[i] of x (a view).
func (tp *Tape) Permute(x *Var, axes ...int) *Var {
	y := x.Value.Permute(axes...)
	return tp.record("Permute", y, []*Var{x}, func(g *tensor.Tensor) {
		inv := make([]int, len(axes))
		for i, a := range axes {
			if a < 0 {
				a += len(axes)
			}
			inv[a] = i
		}
		addGrad(x, g.Permute(inv...), true)
	})
}

// IndexSelect returns the slices of x at indices along axis, in order
// (indices may repeat; their gradients add up).
// Shape: [… n …] → [… len(indices) …].
func (tp *Tape) IndexSelect(x *Var, axis int, indices []int) *Var {
	y := tensor.IndexSelect(x.Value, axis, indices)
	ax := normAxes("IndexSelect", x.Shape(), []int{axis})[0]
	return tp.record("IndexSelect", y, []*Var{x}, func(g *tensor.Tensor) {
		// Adjoint: gx.Select(ax, indices[j]) += g.Select(ax, j).
		gx := tensor.New(x.Shape()...)
		for j, i := range indices {
			gx.Select(ax, i).AddInPlace(g.Select(ax, j))
		}
		addGrad(x, gx, true)
	})
}

// Gather picks elements of x along axis as tensor.Gather (PyTorch's gather):
// for a 3-d x and axis 1, y[i][j][k] = x[i][index[i][j][k]][k]. index holds
// whole numbers; it is not differentiated.
// Shape: x [d₀ d₁ …], index [e₀ e₁ …] (eᵢ ≤ dᵢ off axis) → [e₀ e₁ …].
func (tp *Tape) Gather(x *Var, axis int, index *tensor.Tensor) *Var {
	y := tensor.Gather(x.Value, axis, index)
	ax := normAxes("Gather", x.Shape(), []int{axis})[0]
	return tp.record("Gather", y, []*Var{x}, func(g *tensor.Tensor) {
		gx := tensor.New(x.Shape()...)
		scatterAdd(gx, ax, index, g)
		addGrad(x, gx, true)
	})
}

// Concat joins xs along axis.
// Shape: [… n₁ …], [… n₂ …], … → [… n₁+n₂+… …].
func (tp *Tape) Concat(axis int, xs ...*Var) *Var {
	if len(xs) == 0 {
		panic("autograd: Concat: no inputs")
	}
	vals := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		vals[i] = x.Value
	}
	y := tensor.Concat(axis, vals...)
	ax := normAxes("Concat", y.Shape(), []int{axis})[0]
	return tp.record("Concat", y, xs, func(g *tensor.Tensor) {
		at := 0
		for _, x := range xs {
			n := x.Shape()[ax]
			if NeedsGrad(x) {
				addGrad(x, g.Narrow(ax, at, n), false)
			}
			at += n
		}
	})
}

// Narrow returns the length elements of x from start along dim (a view).
// Shape: [… n …] → [… length …].
func (tp *Tape) Narrow(x *Var, dim, start, length int) *Var {
	y := x.Value.Narrow(dim, start, length)
	ax := normAxes("Narrow", x.Shape(), []int{dim})[0]
	return tp.record("Narrow", y, []*Var{x}, func(g *tensor.Tensor) {
		gx := tensor.New(x.Shape()...)
		gx.Narrow(ax, start, length).AddInPlace(g)
		addGrad(x, gx, true)
	})
}

// checkRank panics unless v has the given number of dimensions.
func checkRank(op, arg string, v *Var, rank int) {
	if v.Value.Dims() != rank {
		panic(fmt.Sprintf("autograd: %s: %s of shape %v: need %d dimensions", op, arg, v.Shape(), rank))
	}
}
