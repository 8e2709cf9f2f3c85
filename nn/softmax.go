package nn

import (
	"fmt"
	"math"

	"github.com/reconpatch/rp/tensor"
)

// Softmax is torch.nn.Softmax: exp(xᵢ)/Σⱼexp(xⱼ) along dimension Dim (a
// negative Dim counts from the end), computed stably by subtracting the
// maximum first, with float64 exponentials and sums.
type Softmax struct {
	// Dim is the dimension normalised; negative counts from the end.
	Dim int
}

// Forward returns a new tensor of x's shape holding the softmax along Dim.
// It panics if Dim is out of range for x.
func (s Softmax) Forward(x *tensor.Tensor) *tensor.Tensor {
	nd := x.Dims()
	d := s.Dim
	if d < 0 {
		d += nd
	}
	if d < 0 || d >= nd {
		panic(fmt.Sprintf("nn: Softmax: dimension %d out of range for input shape %v", s.Dim, x.Shape()))
	}
	shape := x.Shape()
	out := tensor.New(shape...)
	src, dst := data(x), out.Data()
	l := shape[d]
	inner := 1 // stride between elements along d
	for _, v := range shape[d+1:] {
		inner *= v
	}
	if l == 0 || inner == 0 {
		return out
	}
	outer := x.Size() / (l * inner)
	e := make([]float64, l)
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*l*inner + i
			m := math.Inf(-1)
			for k := 0; k < l; k++ {
				m = max(m, float64(src[base+k*inner]))
			}
			var sum float64
			for k := range e {
				e[k] = math.Exp(float64(src[base+k*inner]) - m)
				sum += e[k]
			}
			for k, v := range e {
				dst[base+k*inner] = float32(v / sum)
			}
		}
	}
	return out
}
