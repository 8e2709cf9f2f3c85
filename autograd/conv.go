package autograd

import (
	"fmt"

	"github.com/reconpatch/rp/simd"
	"github.com/reconpatch/rp/tensor"
)

// ConvOptions configures Conv2d as torch.nn.functional.conv2d's arguments
// do. Pairs are (height, width).
type ConvOptions struct {
	// Stride is the step between output positions; zero entries mean 1.
	Stride [2]int
	// Padding is the number of zeros added on each side.
	Padding [2]int
	// Dilation is the step between kernel taps; zero entries mean 1.
	Dilation [2]int
	// Groups splits the channels into independent groups; zero means 1.
	Groups int
}

func (o ConvOptions) norm() ConvOptions {
	for i := range 2 {
		if o.Stride[i] == 0 {
			o.Stride[i] = 1
		}
		if o.Dilation[i] == 0 {
			o.Dilation[i] = 1
		}
	}
	if o.Groups == 0 {
		o.Groups = 1
	}
	return o
}

// convColBudget bounds, in float32 values, the unfolded input (im2col
// matrix) of one GEMM; samples are processed in chunks that fit. A variable
// so that tests can force small chunks.
var convColBudget = 1 << 21

// convGeom is the geometry of one convolution.
type convGeom struct {
	n, c, h, w     int // input
	o, kh, kw      int // weight
	oh, ow         int // output
	groups, cg, og int // groups, input and output channels per group
	kg             int // rows of the im2col matrix per group: cg·kh·kw
	p              int // output positions per sample: oh·ow
	opt            ConvOptions
}

func newConvGeom(xs, ws []int, opt ConvOptions) convGeom {
	opt = opt.norm()
	if len(xs) != 4 || len(ws) != 4 {
		panic(fmt.Sprintf("autograd: Conv2d: input %v and weight %v: need [N C H W] and [O C/groups KH KW]", xs, ws))
	}
	g := convGeom{n: xs[0], c: xs[1], h: xs[2], w: xs[3], o: ws[0], kh: ws[2], kw: ws[3], groups: opt.Groups, opt: opt}
	for i := range 2 {
		if opt.Stride[i] < 0 || opt.Padding[i] < 0 || opt.Dilation[i] < 0 {
			panic(fmt.Sprintf("autograd: Conv2d: bad options %+v", opt))
		}
	}
	if g.groups < 1 || g.c%g.groups != 0 || g.o%g.groups != 0 || ws[1] != g.c/g.groups {
		panic(fmt.Sprintf("autograd: Conv2d: input %v, weight %v and %d groups do not fit", xs, ws, g.groups))
	}
	g.cg, g.og = g.c/g.groups, g.o/g.groups
	g.oh = (g.h+2*opt.Padding[0]-opt.Dilation[0]*(g.kh-1)-1)/opt.Stride[0] + 1
	g.ow = (g.w+2*opt.Padding[1]-opt.Dilation[1]*(g.kw-1)-1)/opt.Stride[1] + 1
	if g.oh <= 0 || g.ow <= 0 {
		panic(fmt.Sprintf("autograd: Conv2d: input %v is smaller than the kernel %v (options %+v)", xs, ws, opt))
	}
	g.kg = g.cg * g.kh * g.kw
	g.p = g.oh * g.ow
	return g
}

// Conv2d returns the 2-D convolution (cross-correlation) of x with weight w
// plus bias b (nil for none), as torch.nn.functional.conv2d.
// Shape: x [N C H W], w [O C/groups KH KW], b [O] → [N O OH OW],
// OH = ⌊(H + 2·padH − dilH·(KH−1) − 1)/strideH⌋ + 1, likewise OW.
//
// Each group is one GEMM over a chunk of nb samples, on an unfolded input
// col [Kg, nb·P] (Kg = C/groups·KH·KW, P = OH·OW):
//
//	Y_g  [O/g, nb·P] = W_g [O/g, Kg] · col
//	dW_g [O/g, Kg]  += dY_g · colᵀ       (col recomputed, B transposed)
//	dcol [Kg, nb·P]  = W_gᵀ · dY_g       (A transposed), folded back into dX
//	db   [O]        += Σ over samples and positions of dY
func (tp *Tape) Conv2d(x, w, b *Var, opt ConvOptions) *Var {
	g := newConvGeom(x.Shape(), w.Shape(), opt)
	if b != nil && (b.Value.Dims() != 1 || b.Shape()[0] != g.o) {
		panic(fmt.Sprintf("autograd: Conv2d: bias %v for weight %v", b.Shape(), w.Shape()))
	}
	xd, wd := data(x.Value), data(w.Value)
	y := tensor.New(g.n, g.o, g.oh, g.ow)
	yd := y.Data()
	chunk := g.chunk()
	col := make([]float32, g.kg*chunk*g.p)
	buf := make([]float32, g.og*chunk*g.p)
	for n0 := 0; n0 < g.n; n0 += chunk {
		nb := min(chunk, g.n-n0)
		cols := nb * g.p
		for gr := range g.groups {
			g.im2col(col, xd, n0, nb, gr)
			simd.Sgemm(false, false, g.og, cols, g.kg, 1, wd[gr*g.og*g.kg:], g.kg, col, cols, 0, buf, cols)
			// buf [og, nb·P] → y[n0+s][gr·og+o][p]
			for o := range g.og {
				for s := range nb {
					dst := yd[((n0+s)*g.o+gr*g.og+o)*g.p:][:g.p]
					copy(dst, buf[o*cols+s*g.p:][:g.p])
				}
			}
		}
	}
	if b != nil {
		bd := data(b.Value)
		for s := range g.n {
			for o, v := range bd {
				row := yd[(s*g.o+o)*g.p:][:g.p]
				for i := range row {
					row[i] += v
				}
			}
		}
	}
	return tp.record("Conv2d", y, []*Var{x, w, b}, func(gy *tensor.Tensor) {
		gyd := gy.Data()
		if NeedsGrad(b) {
			gb := gradData(b)
			for s := range g.n {
				for o := range g.o {
					var acc float64
					for _, v := range gyd[(s*g.o+o)*g.p:][:g.p] {
						acc += float64(v)
					}
					gb[o] += float32(acc)
				}
			}
		}
		needX, needW := NeedsGrad(x), NeedsGrad(w)
		if !needX && !needW {
			return
		}
		var gx *tensor.Tensor
		var gxd, gwd []float32
		if needX {
			gx = tensor.New(x.Shape()...)
			gxd = gx.Data()
		}
		if needW {
			gwd = gradData(w)
		}
		for n0 := 0; n0 < g.n; n0 += chunk {
			nb := min(chunk, g.n-n0)
			cols := nb * g.p
			for gr := range g.groups {
				// buf [og, nb·P] ← gy[n0+s][gr·og+o][p]
				for o := range g.og {
					for s := range nb {
						copy(buf[o*cols+s*g.p:][:g.p], gyd[((n0+s)*g.o+gr*g.og+o)*g.p:][:g.p])
					}
				}
				if needW {
					g.im2col(col, xd, n0, nb, gr)
					simd.Sgemm(false, true, g.og, g.kg, cols, 1, buf, cols, col, cols, 1, gwd[gr*g.og*g.kg:], g.kg)
				}
				if needX {
					simd.Sgemm(true, false, g.kg, cols, g.og, 1, wd[gr*g.og*g.kg:], g.kg, buf, cols, 0, col, cols)
					g.col2im(gxd, col, n0, nb, gr)
				}
			}
		}
		if needX {
			addGrad(x, gx, true)
		}
	})
}

// chunk is the number of samples whose unfolded input fits convColBudget
// (at least one).
func (g convGeom) chunk() int {
	per := max(g.kg*g.p, g.og*g.p, 1)
	return max(1, min(g.n, convColBudget/per))
}

// im2col writes the unfolded input of group gr for samples n0…n0+nb−1:
// col[(c·KH + i)·KW + j][s·P + oy·OW + ox] = x[n0+s][gr·Cg+c][oy·sh − ph + i·dh][ox·sw − pw + j·dw],
// zero outside the input.
func (g convGeom) im2col(col, xd []float32, n0, nb, gr int) {
	cols := nb * g.p
	sh, sw := g.opt.Stride[0], g.opt.Stride[1]
	ph, pw := g.opt.Padding[0], g.opt.Padding[1]
	dh, dw := g.opt.Dilation[0], g.opt.Dilation[1]
	for c := range g.cg {
		for i := range g.kh {
			for j := range g.kw {
				row := col[((c*g.kh+i)*g.kw+j)*cols:][:cols]
				for s := range nb {
					src := xd[((n0+s)*g.c+gr*g.cg+c)*g.h*g.w:][:g.h*g.w]
					dst := row[s*g.p:][:g.p]
					for oy := range g.oh {
						iy := oy*sh - ph + i*dh
						out := dst[oy*g.ow:][:g.ow]
						if iy < 0 || iy >= g.h {
							clear(out)
							continue
						}
						line := src[iy*g.w:][:g.w]
						for ox := range g.ow {
							ix := ox*sw - pw + j*dw
							if ix >= 0 && ix < g.w {
								out[ox] = line[ix]
							} else {
								out[ox] = 0
							}
						}
					}
				}
			}
		}
	}
}

// col2im adds the unfolded gradient col (layout of im2col) into gx, the
// adjoint of im2col.
func (g convGeom) col2im(gx, col []float32, n0, nb, gr int) {
	cols := nb * g.p
	sh, sw := g.opt.Stride[0], g.opt.Stride[1]
	ph, pw := g.opt.Padding[0], g.opt.Padding[1]
	dh, dw := g.opt.Dilation[0], g.opt.Dilation[1]
	for c := range g.cg {
		for i := range g.kh {
			for j := range g.kw {
				row := col[((c*g.kh+i)*g.kw+j)*cols:][:cols]
				for s := range nb {
					dst := gx[((n0+s)*g.c+gr*g.cg+c)*g.h*g.w:][:g.h*g.w]
					src := row[s*g.p:][:g.p]
					for oy := range g.oh {
						iy := oy*sh - ph + i*dh
						if iy < 0 || iy >= g.h {
							continue
						}
						line := dst[iy*g.w:][:g.w]
						in := src[oy*g.ow:][:g.ow]
						for ox := range g.ow {
							if ix := ox*sw - pw + j*dw; ix >= 0 && ix < g.w {
								line[ix] += in[ox]
							}
						}
					}
				}
			}
		}
	}
}
