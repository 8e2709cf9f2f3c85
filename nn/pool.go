package nn

import (
	"fmt"
	"math"

	"github.com/reconpatch/rp/simd"
	"github.com/reconpatch/rp/tensor"
)

// MaxPool2d is torch.nn.MaxPool2d: the maximum over each KH×KW window of
// every channel plane. Pairs are (height, width). Padding counts as −∞, so a
// window never takes its maximum from it; a NaN in a window propagates.
type MaxPool2d struct {
	// Kernel is the window size.
	Kernel [2]int
	// Stride is the step between windows; zero entries mean the kernel size,
	// PyTorch's default.
	Stride [2]int
	// Padding on both sides, at most half the kernel size.
	Padding [2]int
	// Dilation is the step between window taps; zero entries mean 1.
	Dilation [2]int
	// CeilMode rounds the output size up rather than down, so that a last,
	// partial window that starts inside the input or its left padding
	// counts.
	CeilMode bool
}

// Forward pools x, N×C×H×W, into a new N×C×OH×OW tensor. It panics if x is
// not 4-D, if the pool's fields are invalid, or if the output would be empty.
func (p MaxPool2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	n, c, h, w := nchw("MaxPool2d.Forward", x)
	k, s, pad, dil := p.Kernel, p.Stride, p.Padding, pair(p.Dilation, 1)
	s = [2]int{cond(s[0] == 0, k[0], s[0]), cond(s[1] == 0, k[1], s[1])}
	checkPool("MaxPool2d", k, s, pad, dil)
	oh := poolOutSize(h, k[0], s[0], pad[0], dil[0], p.CeilMode)
	ow := poolOutSize(w, k[1], s[1], pad[1], dil[1], p.CeilMode)
	if oh < 1 || ow < 1 {
		panic(fmt.Sprintf("nn: MaxPool2d.Forward: input shape %v is too small for kernel %v with padding %v and dilation %v", x.Shape(), k, pad, dil))
	}
	out := Temp(n, c, oh, ow)
	src, dst := data(x), out.Data()
	negInf := float32(math.Inf(-1))
	// The taps of each output column and row that fall inside the input:
	// j in [cols[xo][0], cols[xo][1]), likewise i.
	cols, rows := poolTaps(w, ow, k[1], s[1], pad[1], dil[1]), poolTaps(h, oh, k[0], s[0], pad[0], dil[0])
	// Separably: each output row first takes the maximum down its window's
	// input rows, column by column (vector code, simd.Max), then across each
	// window's columns (the builtin max, branch-free). A NaN wins either way,
	// as in PyTorch.
	full3 := k[1] == 3 && dil[1] == 1
	forPlanes(n*c, oh*ow*k[0]*k[1], func(pl int) {
		in, o := src[pl*h*w:][:h*w], dst[pl*oh*ow:][:oh*ow]
		down := make([]float32, w)
		for y := range oh {
			i0, i1 := rows[y][0], rows[y][1]
			if i0 < i1 {
				copy(down, in[(y*s[0]-pad[0]+i0*dil[0])*w:][:w])
			} else {
				for iw := range down {
					down[iw] = negInf
				}
			}
			for i := i0 + 1; i < i1; i++ {
				simd.Max(down, in[(y*s[0]-pad[0]+i*dil[0])*w:][:w])
			}
			orow := o[y*ow:][:ow]
			for xo := range orow {
				base := xo*s[1] - pad[1]
				if full3 && cols[xo] == [2]int{0, 3} {
					// The common 3-wide window inside the row.
					d := down[base : base+3 : base+3]
					orow[xo] = max(d[0], d[1], d[2])
					continue
				}
				m := negInf
				for j := cols[xo][0]; j < cols[xo][1]; j++ {
					m = max(m, down[base+j*dil[1]])
				}
				orow[xo] = m
			}
		}
	})
	return out
}

// AvgPool2d is torch.nn.AvgPool2d: the mean over each KH×KW window of every
// channel plane. Pairs are (height, width).
type AvgPool2d struct {
	// Kernel is the window size.
	Kernel [2]int
	// Stride is the step between windows; zero entries mean the kernel size,
	// PyTorch's default.
	Stride [2]int
	// Padding with zeros on both sides, at most half the kernel size.
	Padding [2]int
	// CeilMode rounds the output size up rather than down, as in MaxPool2d.
	CeilMode bool
	// ExcludePad divides each sum by the number of input elements in the
	// window instead of the window's size within the padded input: it is
	// PyTorch's count_include_pad=False. The zero value is PyTorch's default.
	ExcludePad bool
	// DivisorOverride, when positive, divides every sum by it instead.
	DivisorOverride int
}

// Forward pools x, N×C×H×W, into a new N×C×OH×OW tensor. It panics if x is
// not 4-D, if the pool's fields are invalid, or if the output would be empty.
func (p AvgPool2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	n, c, h, w := nchw("AvgPool2d.Forward", x)
	k, s, pad := p.Kernel, p.Stride, p.Padding
	s = [2]int{cond(s[0] == 0, k[0], s[0]), cond(s[1] == 0, k[1], s[1])}
	checkPool("AvgPool2d", k, s, pad, [2]int{1, 1})
	if p.DivisorOverride < 0 {
		panic(fmt.Sprintf("nn: AvgPool2d: divisor override %d", p.DivisorOverride))
	}
	oh := poolOutSize(h, k[0], s[0], pad[0], 1, p.CeilMode)
	ow := poolOutSize(w, k[1], s[1], pad[1], 1, p.CeilMode)
	if oh < 1 || ow < 1 {
		panic(fmt.Sprintf("nn: AvgPool2d.Forward: input shape %v is too small for kernel %v with padding %v", x.Shape(), k, pad))
	}
	out := Temp(n, c, oh, ow) // every value is written below
	src, dst := data(x), out.Data()
	forPlanes(n*c, oh*ow*k[0]*k[1], func(pl int) {
		in, o := src[pl*h*w:][:h*w], dst[pl*oh*ow:][:oh*ow]
		for y := 0; y < oh; y++ {
			h0 := y*s[0] - pad[0]
			h1 := min(h0+k[0], h+pad[0])
			for xo := 0; xo < ow; xo++ {
				w0 := xo*s[1] - pad[1]
				w1 := min(w0+k[1], w+pad[1])
				size := (h1 - h0) * (w1 - w0) // window within the padded input
				a, b := max(h0, 0), min(h1, h)
				l, r := max(w0, 0), min(w1, w)
				if a >= b || l >= r {
					o[y*ow+xo] = 0
					continue
				}
				var sum float64
				for ih := a; ih < b; ih++ {
					for _, v := range in[ih*w+l : ih*w+r] {
						sum += float64(v)
					}
				}
				div := size
				switch {
				case p.DivisorOverride > 0:
					div = p.DivisorOverride
				case p.ExcludePad:
					div = (b - a) * (r - l)
				}
				o[y*ow+xo] = float32(sum / float64(div))
			}
		}
	})
	return out
}

// AdaptiveAvgPool2d is torch.nn.AdaptiveAvgPool2d: output cell (i, j) of an
// OH×OW output is the mean of input rows [⌊i·H/OH⌋, ⌈(i+1)·H/OH⌉) and columns
// [⌊j·W/OW⌋, ⌈(j+1)·W/OW⌉). An output larger than the input repeats inputs.
type AdaptiveAvgPool2d struct {
	// Output is the output size (OH, OW).
	Output [2]int
}

// Forward pools x, N×C×H×W, into a new N×C×OH×OW tensor. It panics if x is
// not 4-D with non-empty planes or the output size is not positive.
func (p AdaptiveAvgPool2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	n, c, h, w := nchw("AdaptiveAvgPool2d.Forward", x)
	oh, ow := p.Output[0], p.Output[1]
	if oh < 1 || ow < 1 || h < 1 || w < 1 {
		panic(fmt.Sprintf("nn: AdaptiveAvgPool2d.Forward: cannot pool input shape %v to %d×%d", x.Shape(), oh, ow))
	}
	out := tensor.New(n, c, oh, ow)
	src, dst := data(x), out.Data()
	forPlanes(n*c, h*w, func(pl int) {
		in, o := src[pl*h*w:][:h*w], dst[pl*oh*ow:][:oh*ow]
		for y := 0; y < oh; y++ {
			a, b := adaptiveRange(y, h, oh)
			for xo := 0; xo < ow; xo++ {
				l, r := adaptiveRange(xo, w, ow)
				var sum float64
				for ih := a; ih < b; ih++ {
					for _, v := range in[ih*w+l : ih*w+r] {
						sum += float64(v)
					}
				}
				o[y*ow+xo] = float32(sum / float64((b-a)*(r-l)))
			}
		}
	})
	return out
}

// AdaptiveAvgPool1d is torch.nn.AdaptiveAvgPool1d: output i of Output is the
// mean of inputs [⌊i·L/Output⌋, ⌈(i+1)·L/Output⌉) along the last dimension.
type AdaptiveAvgPool1d struct {
	// Output is the output length.
	Output int
}

// Forward pools the last dimension of x, C×L or N×C×L, into a new C×Output
// or N×C×Output tensor. It panics if x is not 2-D or 3-D with L ≥ 1, or if
// Output is not positive.
func (p AdaptiveAvgPool1d) Forward(x *tensor.Tensor) *tensor.Tensor {
	if d := x.Dims(); d != 2 && d != 3 {
		panic(fmt.Sprintf("nn: AdaptiveAvgPool1d.Forward: input shape %v is not 2-D C×L or 3-D N×C×L", x.Shape()))
	}
	l, ol := x.Dim(-1), p.Output
	if ol < 1 || l < 1 {
		panic(fmt.Sprintf("nn: AdaptiveAvgPool1d.Forward: cannot pool input shape %v to length %d", x.Shape(), ol))
	}
	shape := append([]int(nil), x.Shape()...)
	shape[len(shape)-1] = ol
	out := tensor.New(shape...)
	src, dst := data(x), out.Data()
	rows := x.Size() / l
	forPlanes(rows, l, func(row int) {
		in, o := src[row*l:][:l], dst[row*ol:][:ol]
		for i := range o {
			a, b := adaptiveRange(i, l, ol)
			var sum float64
			for _, v := range in[a:b] {
				sum += float64(v)
			}
			o[i] = float32(sum / float64(b-a))
		}
	})
	return out
}

// GlobalAvgPool2d averages each channel plane of an N×C×H×W tensor, giving
// N×C (Keras's GlobalAveragePooling2D; PyTorch's x.mean((2, 3))).
// AdaptiveAvgPool2d{Output: [2]int{1, 1}} is the same mean kept 4-D.
type GlobalAvgPool2d struct{}

// Forward averages x, N×C×H×W, into a new N×C tensor. It panics if x is not
// 4-D with non-empty planes.
func (GlobalAvgPool2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	n, c, h, w := nchw("GlobalAvgPool2d.Forward", x)
	if h < 1 || w < 1 {
		panic(fmt.Sprintf("nn: GlobalAvgPool2d.Forward: input shape %v has empty planes", x.Shape()))
	}
	out := tensor.New(n, c)
	src, dst := data(x), out.Data()
	hw := h * w
	for pl := range dst {
		var sum float64
		for _, v := range src[pl*hw:][:hw] {
			sum += float64(v)
		}
		dst[pl] = float32(sum / float64(hw))
	}
	return out
}

// adaptiveRange is PyTorch's adaptive pooling window [⌊i·in/out⌋,
// ⌈(i+1)·in/out⌉) for output i.
func adaptiveRange(i, in, out int) (lo, hi int) {
	return i * in / out, ceilDiv((i+1)*in, out)
}

// poolOutSize is PyTorch's pooling_output_shape: the number of windows of
// kernel k, dilation d and stride s over in inputs padded by p on each side.
// With ceil, a last partial window counts unless it starts in the right
// padding.
func poolOutSize(in, k, s, p, d int, ceil bool) int {
	num := in + 2*p - d*(k-1) - 1
	if ceil {
		num += s - 1
	}
	out := floorDiv(num, s) + 1
	if ceil && (out-1)*s >= in+p {
		out--
	}
	return out
}

// checkPool panics unless a pooling window is valid as PyTorch requires.
func checkPool(layer string, k, s, pad, dil [2]int) {
	for i := 0; i < 2; i++ {
		if k[i] < 1 || s[i] < 1 || dil[i] < 1 || pad[i] < 0 || pad[i] > k[i]/2 {
			panic(fmt.Sprintf("nn: %s: invalid kernel %v, stride %v, padding %v, dilation %v (padding must be at most half the kernel)", layer, k, s, pad, dil))
		}
	}
}

// poolTaps returns, for each of the out windows along a dimension of size
// in, the range [lo, hi) of its taps t (input index o·stride − pad + t·dil)
// that fall inside the input.
func poolTaps(in, out, k, stride, pad, dil int) [][2]int {
	taps := make([][2]int, out)
	for o := range taps {
		lo, hi := 0, k
		for lo < k && o*stride-pad+lo*dil < 0 {
			lo++
		}
		for hi > lo && o*stride-pad+(hi-1)*dil >= in {
			hi--
		}
		taps[o] = [2]int{lo, hi}
	}
	return taps
}

// forPlanes calls f for each of n independent planes, on several goroutines
// when there is enough work (cost is the work per plane, in element
// operations).
func forPlanes(n, cost int, f func(i int)) {
	workers := 1
	if n*cost >= 1<<16 {
		workers = simd.Threads()
	}
	parallelFor(n, workers, f)
}

func cond[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}
