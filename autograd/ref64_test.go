package autograd_test

import (
	"math"
	"slices"

	"github.com/reconpatch/rp/autograd"
)

// Float64 reference implementations of the operations, written as plain
// loops over row-major data, independent of the float32 code paths. The
// gradient checks difference them numerically.

// forEach calls f with every index of shape in row-major order.
func forEach(shape []int, f func(idx []int)) {
	n := 1
	for _, s := range shape {
		n *= s
	}
	idx := make([]int, len(shape))
	for range n {
		f(idx)
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
}

// offsetB is the row-major offset in a tensor of shape (right-aligned to
// idx, size-1 dimensions broadcast) of the element idx names.
func offsetB(shape, idx []int) int {
	lead := len(idx) - len(shape)
	off := 0
	for d, s := range shape {
		i := idx[lead+d]
		if s == 1 {
			i = 0
		}
		off = off*s + i
	}
	return off
}

func bshape(a, b []int) []int {
	n := max(len(a), len(b))
	out := make([]int, n)
	for d := range n {
		x, y := 1, 1
		if i := d - (n - len(a)); i >= 0 {
			x = a[i]
		}
		if i := d - (n - len(b)); i >= 0 {
			y = b[i]
		}
		out[d] = max(x, y)
	}
	return out
}

func refBinary(as, bs []int, f func(x, y float64) float64) func(xs [][]float64) []float64 {
	return func(xs [][]float64) []float64 {
		var out []float64
		forEach(bshape(as, bs), func(idx []int) {
			out = append(out, f(xs[0][offsetB(as, idx)], xs[1][offsetB(bs, idx)]))
		})
		return out
	}
}

func refUnary(f func(x float64) float64) func(xs [][]float64) []float64 {
	return func(xs [][]float64) []float64 {
		out := make([]float64, len(xs[0]))
		for i, v := range xs[0] {
			out[i] = f(v)
		}
		return out
	}
}

// refReduce reduces x of shape over axes (sorted) with f starting at init.
func refReduce(shape, axes []int, x []float64, init float64, f func(acc, v float64) float64) []float64 {
	kept := slices.Clone(shape)
	for _, a := range axes {
		kept[a] = 1
	}
	n := 1
	for _, s := range kept {
		n *= s
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = init
	}
	k := 0
	forEach(shape, func(idx []int) {
		o := offsetB(kept, idx)
		out[o] = f(out[o], x[k])
		k++
	})
	return out
}

func refPermute(shape, axes []int, x []float64) []float64 {
	strides := make([]int, len(shape))
	s := 1
	for d := len(shape) - 1; d >= 0; d-- {
		strides[d] = s
		s *= shape[d]
	}
	oshape := make([]int, len(axes))
	for i, a := range axes {
		oshape[i] = shape[a]
	}
	var out []float64
	forEach(oshape, func(idx []int) {
		off := 0
		for i, a := range axes {
			off += idx[i] * strides[a]
		}
		out = append(out, x[off])
	})
	return out
}

// refMatMul multiplies [batch… m k] by [batch… k n] with broadcast batches.
func refMatMul(as, bs []int, a, b []float64) []float64 {
	m, k := as[len(as)-2], as[len(as)-1]
	n := bs[len(bs)-1]
	batch := bshape(as[:len(as)-2], bs[:len(bs)-2])
	var out []float64
	forEach(batch, func(idx []int) {
		ao := offsetB(as[:len(as)-2], idx) * m * k
		bo := offsetB(bs[:len(bs)-2], idx) * k * n
		if len(batch) == 0 {
			ao, bo = 0, 0
		}
		for i := range m {
			for j := range n {
				var s float64
				for p := range k {
					s += a[ao+i*k+p] * b[bo+p*n+j]
				}
				out = append(out, s)
			}
		}
	})
	return out
}

// refConv2d is the direct convolution, six nested loops.
func refConv2d(xs, ws []int, x, w, b []float64, o autograd.ConvOptions) []float64 {
	for i := range 2 {
		o.Stride[i] = max(o.Stride[i], 1)
		o.Dilation[i] = max(o.Dilation[i], 1)
	}
	o.Groups = max(o.Groups, 1)
	n, c, h, wd := xs[0], xs[1], xs[2], xs[3]
	oc, cg, kh, kw := ws[0], ws[1], ws[2], ws[3]
	og := oc / o.Groups
	oh := (h+2*o.Padding[0]-o.Dilation[0]*(kh-1)-1)/o.Stride[0] + 1
	ow := (wd+2*o.Padding[1]-o.Dilation[1]*(kw-1)-1)/o.Stride[1] + 1
	out := make([]float64, n*oc*oh*ow)
	for s := range n {
		for f := range oc {
			gr := f / og
			for y := range oh {
				for xx := range ow {
					var acc float64
					if b != nil {
						acc = b[f]
					}
					for ci := range cg {
						ch := gr*cg + ci
						for i := range kh {
							for j := range kw {
								iy := y*o.Stride[0] - o.Padding[0] + i*o.Dilation[0]
								ix := xx*o.Stride[1] - o.Padding[1] + j*o.Dilation[1]
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								acc += x[((s*c+ch)*h+iy)*wd+ix] * w[((f*cg+ci)*kh+i)*kw+j]
							}
						}
					}
					out[((s*oc+f)*oh+y)*ow+xx] = acc
				}
			}
		}
	}
	return out
}

// refBatchNorm normalises x [N C S…] per channel with batch statistics.
func refBatchNorm(xs []int, x, gamma, beta []float64, eps float64) []float64 {
	n, c := xs[0], xs[1]
	sp := len(x) / (n * c)
	out := make([]float64, len(x))
	for ch := range c {
		var s, q float64
		for i := range n {
			for k := range sp {
				s += x[(i*c+ch)*sp+k]
			}
		}
		mu := s / float64(n*sp)
		for i := range n {
			for k := range sp {
				d := x[(i*c+ch)*sp+k] - mu
				q += d * d
			}
		}
		inv := 1 / math.Sqrt(q/float64(n*sp)+eps)
		for i := range n {
			for k := range sp {
				j := (i*c+ch)*sp + k
				out[j] = (x[j]-mu)*inv*gamma[ch] + beta[ch]
			}
		}
	}
	return out
}

func refPairDist(n, d int, z []float64, sqrt bool, eps float64) []float64 {
	out := make([]float64, n*n)
	for i := range n {
		for j := range n {
			var s float64
			for p := range d {
				e := z[i*d+p] - z[j*d+p]
				s += e * e
			}
			if sqrt {
				s = math.Sqrt(s + eps)
			}
			out[i*n+j] = s
		}
	}
	return out
}

func refLogSoftmax(k int, x []float64) []float64 {
	out := make([]float64, len(x))
	for r := 0; r < len(x); r += k {
		m := math.Inf(-1)
		for _, v := range x[r : r+k] {
			m = math.Max(m, v)
		}
		var s float64
		for _, v := range x[r : r+k] {
			s += math.Exp(v - m)
		}
		for j := range k {
			out[r+j] = x[r+j] - m - math.Log(s)
		}
	}
	return out
}
