package nn

import (
	"fmt"

	"github.com/reconpatch/rp/tensor"
)

// ZeroPad2d is torch.nn.ZeroPad2d and Keras's ZeroPadding2D: it surrounds
// each channel plane with zeros, a possibly different number on each side.
// Keras's ((top, bottom), (left, right)) is ZeroPad2d{Top: top, Bottom:
// bottom, Left: left, Right: right}.
type ZeroPad2d struct {
	// Left, Right, Top and Bottom are the numbers of zero columns or rows
	// added on each side; PyTorch's padding tuple is in this order.
	Left, Right, Top, Bottom int
}

// Forward pads x, N×C×H×W, into a new N×C×(Top+H+Bottom)×(Left+W+Right)
// tensor. It panics if x is not 4-D or a padding is negative.
func (p ZeroPad2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	n, c, h, w := nchw("ZeroPad2d.Forward", x)
	if p.Left < 0 || p.Right < 0 || p.Top < 0 || p.Bottom < 0 {
		panic(fmt.Sprintf("nn: ZeroPad2d: negative padding %+v", p))
	}
	oh, ow := h+p.Top+p.Bottom, w+p.Left+p.Right
	out := tensor.New(n, c, oh, ow)
	src, dst := data(x), out.Data()
	for pl := 0; pl < n*c; pl++ {
		in, o := src[pl*h*w:][:h*w], dst[pl*oh*ow:][:oh*ow]
		for y := 0; y < h; y++ {
			copy(o[(y+p.Top)*ow+p.Left:][:w], in[y*w:][:w])
		}
	}
	return out
}
