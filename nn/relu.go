package nn

import "github.com/reconpatch/rp/tensor"

// ReLU is the rectifier max(x, 0) applied element-wise to a tensor of any
// shape; NaN stays NaN, as in PyTorch.
type ReLU struct{}

// Forward returns a new tensor, of x's shape, holding max(x, 0).
func (ReLU) Forward(x *tensor.Tensor) *tensor.Tensor {
	out := tensor.New(x.Shape()...)
	copy(out.Data(), data(x))
	relu(out.Data())
	return out
}

// relu sets negative elements of s to zero in place. The builtin max is
// branch-free (a branch on the sign mispredicts on half of real activations)
// and keeps NaN.
func relu(s []float32) {
	for i, v := range s {
		s[i] = max(v, 0)
	}
}
