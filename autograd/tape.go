package autograd

import (
	"fmt"
	"slices"

	"github.com/reconpatch/rp/tensor"
)

// Var is a value in a computation and, after Backward, the gradient of the
// differentiated output with respect to it.
//
// Leaves are made by NewParam (trainable: gradients accumulate into Grad
// across Backward calls until ZeroGrad) and NewConst (never differentiated).
// Every other Var is the result of an operation of a Tape.
type Var struct {
	// Value is the forward value. Operations never modify it; optimisers
	// update a parameter's Value in place.
	Value *tensor.Tensor
	// Grad is the accumulated gradient, a contiguous tensor of Value's
	// shape, or nil when no gradient has reached this Var. Gradients of
	// intermediate results are released once they have been propagated.
	Grad *tensor.Tensor
	// Name is an optional label for messages and debugging.
	Name string

	requiresGrad bool
}

// NewParam returns a trainable leaf holding t (made contiguous, otherwise not
// copied). Backward accumulates into its Grad.
func NewParam(t *tensor.Tensor) *Var {
	return &Var{Value: t.Contiguous(), requiresGrad: true}
}

// NewConst returns a leaf holding t that no gradient flows into: data,
// labels, or the parameters of a network that is not trained (such as an
// exponential moving average).
func NewConst(t *tensor.Tensor) *Var { return &Var{Value: t} }

// RequiresGrad reports whether gradients flow into v: v is a parameter or
// was computed, while recording, from one.
func (v *Var) RequiresGrad() bool { return v.requiresGrad }

// Shape is the shape of v's value. The caller must not modify it.
func (v *Var) Shape() []int { return v.Value.Shape() }

// ZeroGrad drops v's accumulated gradient (sets Grad to nil), as PyTorch's
// zero_grad(set_to_none=True) does. Optimisers skip parameters without a
// gradient.
func (v *Var) ZeroGrad() { v.Grad = nil }

// Item returns the value of a one-element Var as a float64.
func (v *Var) Item() float64 {
	if v.Value.Size() != 1 {
		panic(fmt.Sprintf("autograd: Item of a Var of shape %v", v.Shape()))
	}
	return float64(v.Value.Contiguous().Data()[0])
}

// Tape records operations, in the order they run, so that Backward can
// visit them in reverse. Its methods are the differentiable operations; each
// computes its value at once and, while the tape records and some input
// requires a gradient, appends a node holding what the backward pass needs.
//
// A nil *Tape is valid and records nothing: the operations then only compute
// values, which is the no-grad mode of inference and of the EMA network. A
// Tape is used by one goroutine at a time; concurrent computations use one
// Tape each.
type Tape struct {
	nodes  []*node
	paused int
}

// node is one recorded operation: its output, its inputs and the function
// that propagates the output's gradient into the inputs.
type node struct {
	name     string
	out      *Var
	inputs   []*Var
	backward backwardFunc
}

// backwardFunc receives the gradient with respect to the node's output,
// contiguous and of the output's shape; it owns g and may overwrite it or
// hand it to one input (see addGrad).
type backwardFunc func(g *tensor.Tensor)

// NewTape returns an empty tape that records.
func NewTape() *Tape { return &Tape{} }

// Len is the number of recorded operations.
func (tp *Tape) Len() int {
	if tp == nil {
		return 0
	}
	return len(tp.nodes)
}

// Recording reports whether operations run now are recorded: tp is not nil
// and not inside NoGrad.
func (tp *Tape) Recording() bool { return tp != nil && tp.paused == 0 }

// NoGrad runs f with recording switched off, as torch.no_grad does: results
// computed inside do not require gradients, whatever their inputs. Calls nest.
func (tp *Tape) NoGrad(f func()) {
	if tp == nil {
		f()
		return
	}
	tp.paused++
	defer func() { tp.paused-- }()
	f()
}

// Reset forgets every recorded operation without running backward.
func (tp *Tape) Reset() {
	if tp != nil {
		clear(tp.nodes)
		tp.nodes = tp.nodes[:0]
	}
}

// Backward computes the gradient of y, which must hold one element, with
// respect to every parameter that y depends on through recorded operations,
// and adds it to their Grad. It then resets the tape: build the graph again
// for another backward pass.
func (tp *Tape) Backward(y *Var) {
	if y.Value.Size() != 1 {
		panic(fmt.Sprintf("autograd: Backward of a Var of shape %v: need one element, or use BackwardWith", y.Shape()))
	}
	tp.BackwardWith(y, tensor.Ones(y.Shape()...))
}

// BackwardWith runs the backward pass from y with the given gradient of
// y (same shape as y's value), that is, it computes the vector–Jacobian
// product seedᵀ·∂y/∂θ for every parameter θ. It resets the tape.
func (tp *Tape) BackwardWith(y *Var, seed *tensor.Tensor) {
	if !slices.Equal(seed.Shape(), y.Shape()) {
		panic(fmt.Sprintf("autograd: BackwardWith: seed shape %v for a Var of shape %v", seed.Shape(), y.Shape()))
	}
	if !y.requiresGrad {
		tp.Reset()
		return
	}
	addGrad(y, seed.Clone(), true)
	if tp == nil {
		return
	}
	for i := len(tp.nodes) - 1; i >= 0; i-- {
		n := tp.nodes[i]
		g := n.out.Grad
		if g == nil {
			continue
		}
		n.out.Grad = nil // intermediate gradients are released
		n.backward(g)
	}
	tp.Reset()
}

// record makes the result of an operation. When the tape records and an
// input requires a gradient, the result does too and the node is appended.
func (tp *Tape) record(name string, value *tensor.Tensor, inputs []*Var, backward backwardFunc) *Var {
	out := &Var{Value: value}
	if !tp.Recording() {
		return out
	}
	for _, in := range inputs {
		if in != nil && in.requiresGrad {
			out.requiresGrad = true
			break
		}
	}
	if out.requiresGrad {
		tp.nodes = append(tp.nodes, &node{name: name, out: out, inputs: inputs, backward: backward})
	}
	return out
}

// Func records a custom operation: value, computed by the caller from the
// inputs' values, and backward, which returns, for the gradient g of the
// output, one gradient per input, each of that input's shape (or nil for
// inputs that need none; NeedsGrad says which do). The returned tensors are
// copied where needed, so they may be views of g or share memory.
func (tp *Tape) Func(name string, value *tensor.Tensor, inputs []*Var, backward func(g *tensor.Tensor) []*tensor.Tensor) *Var {
	return tp.record(name, value, inputs, func(g *tensor.Tensor) {
		grads := backward(g)
		if len(grads) != len(inputs) {
			panic(fmt.Sprintf("autograd: Func %s: backward returned %d gradients for %d inputs", name, len(grads), len(inputs)))
		}
		for i, in := range inputs {
			if in != nil && in.requiresGrad && grads[i] != nil {
				if !slices.Equal(grads[i].Shape(), in.Shape()) {
					panic(fmt.Sprintf("autograd: Func %s: gradient of shape %v for input %d of shape %v", name, grads[i].Shape(), i, in.Shape()))
				}
				addGrad(in, grads[i], false)
			}
		}
	})
}

// NeedsGrad reports whether v is a Var that gradients flow into; custom
// backward functions skip the others.
func NeedsGrad(v *Var) bool { return v != nil && v.requiresGrad }

// Detach returns a constant sharing v's value: gradients stop there.
func (tp *Tape) Detach(v *Var) *Var { return NewConst(v.Value) }

// addGrad adds g, which has v's shape, into v.Grad. When v has no gradient
// yet, g becomes it if owned (g is not used elsewhere and may be written),
// otherwise a contiguous copy of g does.
func addGrad(v *Var, g *tensor.Tensor, owned bool) {
	if !slices.Equal(g.Shape(), v.Shape()) {
		panic(fmt.Sprintf("autograd: internal error: gradient of shape %v for a value of shape %v", g.Shape(), v.Shape()))
	}
	if v.Grad == nil {
		if !owned || !g.IsContiguous() {
			g = g.Clone()
		}
		v.Grad = g
		return
	}
	v.Grad.AddInPlace(g)
}

// gradData returns v's gradient as a contiguous slice to accumulate into,
// allocating zeros if v has none yet.
func gradData(v *Var) []float32 {
	if v.Grad == nil {
		v.Grad = tensor.New(v.Shape()...)
	}
	return v.Grad.Data()
}

// data returns the elements of t in row-major order, copying only if t is
// not contiguous. The caller must not write to the result.
func data(t *tensor.Tensor) []float32 { return t.Contiguous().Data() }
