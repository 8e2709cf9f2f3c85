package nn

import (
	"fmt"

	"github.com/reconpatch/rp/tensor"
)

// ConcatChannels joins NCHW tensors along the channel dimension, as
// torch.cat(xs, dim=1): inputs N×Cᵢ×H×W give a new N×ΣCᵢ×H×W tensor. It
// panics if there are no inputs or they are not all 4-D with the same N, H
// and W.
func ConcatChannels(xs ...*tensor.Tensor) *tensor.Tensor {
	if len(xs) == 0 {
		panic("nn: ConcatChannels: no inputs")
	}
	n, _, h, w := nchw("ConcatChannels", xs[0])
	total := 0
	for _, x := range xs {
		xn, xc, xh, xw := nchw("ConcatChannels", x)
		if xn != n || xh != h || xw != w {
			panic(fmt.Sprintf("nn: ConcatChannels: input shapes %v and %v differ outside the channel dimension", xs[0].Shape(), x.Shape()))
		}
		total += xc
	}
	out := tensor.New(n, total, h, w)
	dst := out.Data()
	hw := h * w
	c0 := 0
	for _, x := range xs {
		xc := x.Dim(1)
		src := data(x)
		for i := 0; i < n; i++ {
			copy(dst[(i*total+c0)*hw:][:xc*hw], src[i*xc*hw:][:xc*hw])
		}
		c0 += xc
	}
	return out
}
