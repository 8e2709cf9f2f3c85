package nn

import (
	"fmt"

	"github.com/reconpatch/rp/tensor"
)

// Layer is anything that maps one tensor to another; every layer of this
// package is one.
type Layer interface {
	// Forward computes the layer's output for x, leaving x unchanged.
	Forward(x *tensor.Tensor) *tensor.Tensor
}

// Sequential runs its layers in order, each on the output of the one before.
type Sequential []Layer

// Forward runs x through every layer in turn; an empty Sequential returns x.
func (s Sequential) Forward(x *tensor.Tensor) *tensor.Tensor {
	for _, l := range s {
		x = l.Forward(x)
	}
	return x
}

// Activation is an element-wise function that a layer applies to its output
// as it writes it.
type Activation uint8

const (
	// ActivationNone leaves the output as it is.
	ActivationNone Activation = iota
	// ActivationReLU replaces negative outputs by zero (NaN stays NaN).
	ActivationReLU
)

// String names the activation as PyTorch's functional API does.
func (a Activation) String() string {
	switch a {
	case ActivationNone:
		return "none"
	case ActivationReLU:
		return "relu"
	}
	return fmt.Sprintf("Activation(%d)", uint8(a))
}

// nchw returns the four dimensions of an NCHW tensor, panicking with the
// layer's name and the shape if x is not 4-D.
func nchw(layer string, x *tensor.Tensor) (n, c, h, w int) {
	if x.Dims() != 4 {
		panic(fmt.Sprintf("nn: %s: input shape %v is not 4-D N×C×H×W", layer, x.Shape()))
	}
	s := x.Shape()
	return s[0], s[1], s[2], s[3]
}

// data returns x's elements in row-major order, copying only when x is a
// non-contiguous view.
func data(x *tensor.Tensor) []float32 { return x.Contiguous().Data() }

// pair returns v with zero entries replaced by def.
func pair(v [2]int, def int) [2]int {
	for i := range v {
		if v[i] == 0 {
			v[i] = def
		}
	}
	return v
}

// sameShape reports whether a and b are equal.
func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// floorDiv is a/b rounded towards negative infinity (b > 0).
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
