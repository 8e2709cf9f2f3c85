package nn

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/reconpatch/rp/simd"
	"github.com/reconpatch/rp/tensor"
)

// Conv2dOptions configures a Conv2d as torch.nn.Conv2d's arguments do. Pairs
// are (height, width).
type Conv2dOptions struct {
	// Stride is the step between output positions; zero entries mean 1.
	Stride [2]int
	// Padding is the number of zero rows (columns) added above and below
	// (left and right of) the input. Use ZeroPad2d first for asymmetric
	// padding.
	Padding [2]int
	// Dilation is the step between kernel taps; zero entries mean 1.
	Dilation [2]int
	// Groups splits the input and output channels into this many groups
	// convolved independently; zero means 1. Groups equal to the input
	// channels is a depthwise convolution.
	Groups int
	// Activation is applied to each output after the bias and any residual
	// have been added.
	Activation Activation
}

// Conv2d is a 2-D convolution (cross-correlation, as in PyTorch) with
// optional bias, residual addition and activation fused into its output:
//
//	y = act(conv(x, W) + b [+ residual])
//
// It is built by NewConv2d and is immutable; Forward is safe for concurrent
// use.
type Conv2d struct {
	outC, inC, groups int
	kh, kw            int
	stride, pad, dil  [2]int
	act               Activation

	// weight is O × kg (kg = I/groups·KH·KW), row-major: group g's GEMM
	// operand A is rows [g·O/groups, (g+1)·O/groups), leading dimension kg.
	// The row layout (i, kh, kw) matches the rows im2col writes.
	weight []float32
	bias   []float32 // O, or nil without bias

	// w8 is weight rearranged for the direct kernel (simd.Conv8), or nil
	// when the convolution does not take that path (see useDirect): for
	// each block of 8 output channels from o0, w8[o0·kg + t·8 + o] =
	// weight[(o0+o)·kg + t].
	w8 []float32

	// packed caches weight packed for simd.SgemmPacked, one matrix per
	// group, for the dispatch level it was packed at. It is built on the
	// first Forward and shared by copies with the same weights.
	packed *atomic.Pointer[packedWeights]

	// wino caches the weight transformed and packed for the Winograd path
	// (winograd.go), built on its first use like packed.
	wino *winoCache
}

// packedWeights is a Conv2d's weight packed at one dispatch level.
type packedWeights struct {
	level  simd.Level
	groups []*simd.PackedA
}

// packedGroups returns the weight of each group packed for the current
// dispatch level, packing it on first use (or after a level change).
// Concurrent first calls may each pack; one result is kept.
func (c *Conv2d) packedGroups() []*simd.PackedA {
	l := simd.CurrentLevel()
	if p := c.packed.Load(); p != nil && p.level == l {
		return p.groups
	}
	og := c.outC / c.groups
	kg := len(c.weight) / c.outC
	p := &packedWeights{level: l, groups: make([]*simd.PackedA, c.groups)}
	for g := range p.groups {
		p.groups[g] = simd.PackA(false, og, kg, c.weight[g*og*kg:(g+1)*og*kg], kg)
	}
	c.packed.Store(p)
	return p.groups
}

// tileCols is the width in output positions of the im2col tiles; 0 lets
// simd.SgemmPackedEpilogueCols pick it for the cache. Tests set a few
// positions, so that tiles start and end inside output rows.
var tileCols = 0

// NewConv2d returns a convolution with the given weight, O×(I/groups)×KH×KW
// in PyTorch's layout, and bias, of shape [O] or nil for none. The tensors
// are copied; the caller may reuse them. It returns an error, naming the
// shapes, if they are inconsistent with each other or with opts.
func NewConv2d(weight, bias *tensor.Tensor, opts Conv2dOptions) (*Conv2d, error) {
	if weight == nil {
		return nil, errors.New("nn: NewConv2d: nil weight")
	}
	ws := weight.Shape()
	if len(ws) != 4 {
		return nil, fmt.Errorf("nn: NewConv2d: weight shape %v is not 4-D O×(I/groups)×KH×KW", ws)
	}
	for _, d := range ws {
		if d == 0 {
			return nil, fmt.Errorf("nn: NewConv2d: weight shape %v has a zero dimension", ws)
		}
	}
	groups := opts.Groups
	if groups == 0 {
		groups = 1
	}
	if groups < 0 {
		return nil, fmt.Errorf("nn: NewConv2d: groups = %d", opts.Groups)
	}
	if ws[0]%groups != 0 {
		return nil, fmt.Errorf("nn: NewConv2d: %d output channels (weight shape %v) do not split into %d groups", ws[0], ws, groups)
	}
	for i, v := range [...][2]int{opts.Stride, opts.Padding, opts.Dilation} {
		if v[0] < 0 || v[1] < 0 {
			return nil, fmt.Errorf("nn: NewConv2d: negative %s %v", [...]string{"stride", "padding", "dilation"}[i], v)
		}
	}
	if opts.Activation > ActivationReLU {
		return nil, fmt.Errorf("nn: NewConv2d: unknown activation %v", opts.Activation)
	}
	c := &Conv2d{
		outC: ws[0], inC: ws[1] * groups, groups: groups, kh: ws[2], kw: ws[3],
		stride: pair(opts.Stride, 1), pad: opts.Padding, dil: pair(opts.Dilation, 1),
		act:    opts.Activation,
		weight: append([]float32(nil), data(weight)...),
		packed: new(atomic.Pointer[packedWeights]),
		wino:   new(winoCache),
	}
	if bias != nil {
		if bs := bias.Shape(); len(bs) != 1 || bs[0] != c.outC {
			return nil, fmt.Errorf("nn: NewConv2d: bias shape %v does not match weight shape %v: want [%d]", bs, ws, c.outC)
		}
		c.bias = append([]float32(nil), data(bias)...)
	}
	c.setDirect()
	return c, nil
}

// maxDirectOut is the most output channels per group that the direct
// kernel handles for an ungrouped convolution: beyond it, the GEMM's wide
// row tiles waste little and its packed B panels are reused by more rows.
const maxDirectOut = 32

// useDirect reports whether Forward runs on the direct kernel
// (simd.Conv8) rather than im2col and the GEMM: stride 1 with a multiple of
// 8 output channels per group, and either several groups (ResNeXt's 3×3
// convolutions over 8 to 32 channels per group, whose GEMMs would be tiny)
// or a spatial kernel with few outputs (DenseNet's 3×3 to 32 channels).
func (c *Conv2d) useDirect() bool {
	og := c.outC / c.groups
	return c.stride == [2]int{1, 1} && og%8 == 0 && (c.groups > 1 || og <= maxDirectOut && c.kh*c.kw > 1)
}

// setDirect builds w8 if the convolution takes the direct path.
func (c *Conv2d) setDirect() {
	c.w8 = nil
	if !c.useDirect() {
		return
	}
	kg := len(c.weight) / c.outC
	c.w8 = make([]float32, len(c.weight))
	for o0 := 0; o0 < c.outC; o0 += 8 {
		blk := c.w8[o0*kg : (o0+8)*kg]
		for o := range 8 {
			for t, v := range c.weight[(o0+o)*kg : (o0+o+1)*kg] {
				blk[t*8+o] = v
			}
		}
	}
}

// InChannels is the number of input channels, I.
func (c *Conv2d) InChannels() int { return c.inC }

// OutChannels is the number of output channels, O.
func (c *Conv2d) OutChannels() int { return c.outC }

// Options returns the convolution's options with defaults filled in.
func (c *Conv2d) Options() Conv2dOptions {
	return Conv2dOptions{Stride: c.stride, Padding: c.pad, Dilation: c.dil, Groups: c.groups, Activation: c.act}
}

// Weight returns a copy of the weight, O×(I/groups)×KH×KW.
func (c *Conv2d) Weight() *tensor.Tensor {
	return tensor.FromSlice(append([]float32(nil), c.weight...), c.weightShape()...)
}

// Bias returns a copy of the bias, [O], or nil if the convolution has none.
func (c *Conv2d) Bias() *tensor.Tensor {
	if c.bias == nil {
		return nil
	}
	return tensor.FromSlice(append([]float32(nil), c.bias...), c.outC)
}

func (c *Conv2d) weightShape() []int {
	return []int{c.outC, c.inC / c.groups, c.kh, c.kw}
}

// OutputSize returns the output height and width for an input of h×w; they
// are below 1 when the input is smaller than the dilated kernel.
func (c *Conv2d) OutputSize(h, w int) (oh, ow int) {
	oh = floorDiv(h+2*c.pad[0]-c.dil[0]*(c.kh-1)-1, c.stride[0]) + 1
	ow = floorDiv(w+2*c.pad[1]-c.dil[1]*(c.kw-1)-1, c.stride[1]) + 1
	return oh, ow
}

// WithActivation returns a convolution that shares c's weights and applies
// act to its output.
func (c *Conv2d) WithActivation(act Activation) *Conv2d {
	if act > ActivationReLU {
		panic(fmt.Sprintf("nn: Conv2d.WithActivation: unknown activation %v", act))
	}
	d := *c
	d.act = act
	return &d
}

// FoldBatchNorm returns the convolution equal to c followed by bn (in eval
// mode): with s = γ/√(σ²+ε), its weight is W·s and its bias (b−μ)·s+β per
// output channel, computed in float64 and rounded once. c is unchanged. It
// returns an error if bn's channels are not c's output channels, or if c
// applies an activation (the normalisation would have to come after it).
func (c *Conv2d) FoldBatchNorm(bn *BatchNorm2d) (*Conv2d, error) {
	if bn.Channels() != c.outC {
		return nil, fmt.Errorf("nn: Conv2d.FoldBatchNorm: batch norm over %d channels after a convolution with weight shape %v (%d output channels)", bn.Channels(), c.weightShape(), c.outC)
	}
	if c.act != ActivationNone {
		return nil, fmt.Errorf("nn: Conv2d.FoldBatchNorm: the convolution applies %v before the batch norm", c.act)
	}
	d := *c
	d.packed = new(atomic.Pointer[packedWeights])
	d.wino = new(winoCache)
	kg := len(c.weight) / c.outC
	d.weight = make([]float32, len(c.weight))
	d.bias = make([]float32, c.outC)
	for o := 0; o < c.outC; o++ {
		s, mean, beta := bn.scale64(o), float64(bn.mean[o]), float64(bn.beta[o])
		for i, w := range c.weight[o*kg : (o+1)*kg] {
			d.weight[o*kg+i] = float32(float64(w) * s)
		}
		var b float64
		if c.bias != nil {
			b = float64(c.bias[o])
		}
		d.bias[o] = float32((b-mean)*s + beta)
	}
	d.setDirect()
	return &d, nil
}

// Forward convolves x, N×I×H×W, into a new N×O×OH×OW tensor. It panics if x
// is not 4-D with I channels or is smaller than the dilated kernel.
func (c *Conv2d) Forward(x *tensor.Tensor) *tensor.Tensor { return c.forward("Forward", x, nil) }

// ForwardAdd is Forward with residual, N×O×OH×OW, added to the output before
// the activation: act(conv(x) + b + residual), as a ResNet block ends. It
// panics if residual's shape is not the output's.
func (c *Conv2d) ForwardAdd(x, residual *tensor.Tensor) *tensor.Tensor {
	if residual == nil {
		panic("nn: Conv2d.ForwardAdd: nil residual")
	}
	return c.forward("ForwardAdd", x, residual)
}

// ForwardInto is Forward (residual nil) or ForwardAdd writing into dst, a
// contiguous N×O×OH×OW tensor whose contents on entry do not matter (as
// Temp returns, or a slice of a larger buffer), instead of a new tensor. It
// returns dst, and panics if dst's shape is not the output's. dst must not
// share storage with x or residual.
func (c *Conv2d) ForwardInto(dst, x, residual *tensor.Tensor) *tensor.Tensor {
	if dst == nil {
		panic("nn: Conv2d.ForwardInto: nil destination")
	}
	return c.forwardInto("ForwardInto", dst, x, residual)
}

func (c *Conv2d) forward(method string, x, residual *tensor.Tensor) *tensor.Tensor {
	return c.forwardInto(method, nil, x, residual)
}

func (c *Conv2d) forwardInto(method string, out, x, residual *tensor.Tensor) *tensor.Tensor {
	n, ch, h, w := nchw("Conv2d."+method, x)
	if ch != c.inC {
		panic(fmt.Sprintf("nn: Conv2d.%s: input shape %v does not match weight shape %v with %d groups: want N×%d×H×W", method, x.Shape(), c.weightShape(), c.groups, c.inC))
	}
	oh, ow := c.OutputSize(h, w)
	if oh < 1 || ow < 1 {
		panic(fmt.Sprintf("nn: Conv2d.%s: input shape %v is smaller than the kernel of weight shape %v with padding %v and dilation %v", method, x.Shape(), c.weightShape(), c.pad, c.dil))
	}
	if out == nil {
		out = tensor.New(n, c.outC, oh, ow)
	} else if !sameShape(out.Shape(), []int{n, c.outC, oh, ow}) || !out.IsContiguous() {
		panic(fmt.Sprintf("nn: Conv2d.%s: destination shape %v (strides %v) is not the contiguous output shape %v", method, out.Shape(), out.Strides(), []int{n, c.outC, oh, ow}))
	}
	var rd []float32
	if residual != nil {
		if !sameShape(residual.Shape(), out.Shape()) {
			panic(fmt.Sprintf("nn: Conv2d.%s: residual shape %v does not match output shape %v (input shape %v)", method, residual.Shape(), out.Shape(), x.Shape()))
		}
		rd = data(residual)
	}
	if n > 0 {
		c.run(data(x), out.Data(), rd, n, h, w, oh, ow)
		convFLOPs.Add(uint64(2 * n * c.outC * oh * ow * (c.inC / c.groups) * c.kh * c.kw))
	}
	return out
}

// convFLOPs counts the arithmetic of every convolution run in this process.
var convFLOPs atomic.Uint64

// ConvFLOPs returns the floating-point operations (a multiply-add counts 2;
// bias, residual and activation are not counted) of every Conv2d forward
// this process has run so far, from the shapes: 2·N·O·OH·OW·(I/groups)·KH·KW
// each. Benchmarks read it before and after a forward pass.
func ConvFLOPs() uint64 { return convFLOPs.Load() }

// run computes y (N×O×OH×OW) from x (N×I×H×W) and the residual r (like y,
// or nil). Each (image, group) pair is one unit of work: a GEMM
//
//	y[img, group] (O/g × OH·OW) = W[group] (O/g × kg) · cols (kg × OH·OW)
//
// where cols is x[img, group] unfolded (im2col). The unfolded matrix is never
// stored whole: simd.SgemmPackedEpilogueCols has each worker unfold a tile
// of output positions that fits its cache and multiply it at once. A 1×1
// unpadded kernel needs no unfolding: cols is x itself, subsampled first
// when the stride is not 1.
func (c *Conv2d) run(x, y, r []float32, n, h, w, oh, ow int) {
	g := c.groups
	og, cg := c.outC/g, c.inC/g
	kg := cg * c.kh * c.kw
	hw, p := h*w, oh*ow
	if r == nil && c.w8 != nil {
		c.runDirect(x, y, n, h, w, oh, ow)
		return
	}
	if v := c.winograd(oh, ow); v != nil {
		c.runWinograd(v, x, y, r, n, h, w, oh, ow)
		return
	}
	direct := c.kh == 1 && c.kw == 1 && c.pad == [2]int{}
	if direct && c.stride != [2]int{1, 1} {
		// A strided 1×1 convolution reads every s-th row and column: gather
		// those once, in order, and multiply them as a plain GEMM (unfolding
		// them tile by tile jumps between channel planes, which the cache's
		// prefetchers do not follow).
		buf := getScratch(n * c.inC * p)
		defer putScratch(buf)
		c.subsample(*buf, x, n, h, w, oh, ow)
		x, hw = *buf, p
	}
	shifted := !direct && c.stride == [2]int{1, 1} && useShifted
	units, workers := n*g, 1
	if units > 1 && 2*og*kg*p < simd.MinParallelFlops {
		// Each GEMM is too small for simd to share out: run several at
		// once instead, each on one worker.
		workers = min(simd.Threads(), units)
	}
	packed := c.packedGroups()
	parallelFor(units, workers, func(u int) {
		img, grp := u/g, u%g
		xg := x[(img*c.inC+grp*cg)*hw:][:cg*hw]
		a := packed[grp] // og × kg
		yOff := (img*c.outC + grp*og) * p
		yg := y[yOff:][:og*p]
		var bg []float32
		if c.bias != nil {
			bg = c.bias[grp*og:][:og]
		}
		// The epilogue (bias, residual, activation) runs inside the GEMM,
		// on each tile as it is stored.
		ep := &simd.Epilogue{Bias: bg, ReLU: c.act == ActivationReLU}
		if r != nil {
			ep.R, ep.LDR = r[yOff:][:og*p], p
		}
		if direct {
			simd.SgemmPackedEpilogue(a, false, p, xg, hw, yg, p, ep)
			return
		}
		if shifted {
			c.runShifted(a, xg, yg, cg, h, w, oh, ow, ep)
			return
		}
		simd.SgemmPackedEpilogueCols(a, p, tileCols, func(col []float32, ld, p0, p1 int) {
			c.im2col(col, ld, xg, cg, h, w, ow, p0, p1)
		}, yg, p, ep)
	})
}

// subsample writes x (N×C×H×W) at the convolution's stride into xs
// (N×C×OH×OW): xs[…, oy, ox] = x[…, oy·sh, ox·sw]. The workers split the
// output rows, as the GEMM that reads xs splits its columns.
func (c *Conv2d) subsample(xs, x []float32, n, h, w, oh, ow int) {
	xs = xs[:n*c.inC*oh*ow]
	workers := 1
	if len(xs) >= 1<<15 {
		workers = min(simd.Threads(), oh)
	}
	sh, sw := c.stride[0], c.stride[1]
	parallelFor(workers, workers, func(wk int) {
		for pl := range n * c.inC {
			src, dst := x[pl*h*w:][:h*w], xs[pl*oh*ow:][:oh*ow]
			for oy := oh * wk / workers; oy < oh*(wk+1)/workers; oy++ {
				gather(dst[oy*ow:][:ow], src[oy*sh*w:][:w], sw)
			}
		}
	})
}

// gather sets dst[i] = src[i·s] for i < len(dst): a row of a strided
// convolution's input (s = 2 for the stems and the strided 1×1
// convolutions, through simd.Stride2).
func gather(dst, src []float32, s int) {
	switch s {
	case 1:
		copy(dst, src[:len(dst)])
	case 2:
		simd.Stride2(dst, src)
	default:
		for i := range dst {
			dst[i] = src[i*s]
		}
	}
}

// tapOffsets returns the offset of every tap (ci, i, j), in im2col row
// order, in cg zero-padded planes of Hp rows of Wp: the position of input
// element (ci, oy + i·dh − ph, ox + j·dw − pw) is the offset plus oy·Wp + ox.
func (c *Conv2d) tapOffsets(cg, hp, wp int) []int {
	offs := make([]int, 0, cg*c.kh*c.kw)
	for ci := range cg {
		for i := range c.kh {
			for j := range c.kw {
				offs = append(offs, (ci*hp+i*c.dil[0])*wp+j*c.dil[1])
			}
		}
	}
	return offs
}

// padPlane copies the H×W plane src into dst, Hp×Wp, with the convolution's
// zero padding around it.
func (c *Conv2d) padPlane(dst, src []float32, h, w, wp int) {
	clear(dst)
	for iy := range h {
		copy(dst[(iy+c.pad[0])*wp+c.pad[1]:][:w], src[iy*w:][:w])
	}
}

// useShifted selects runShifted for stride-1 convolutions; tests turn it
// off to check the im2col path against it.
var useShifted = true

// runShifted computes one (image, group) unit of a stride-1 convolution
// without unfolding its input: x (cg×H×W) is copied into a zero-padded
// scratch with rows Wp = W + 2·pw wide, on which tap (ci, i, j) reads every
// output position of the OH×Wp grid at one constant offset, so row
// (ci·KH + i)·KW + j of the unfolded matrix is the scratch from that offset
// (simd.SgemmPackedEpilogueRows). Each block of the grid's product is copied
// into y (og×OH×OW) as it is finished, dropping the grid's junk columns and
// adding the residual (then the activation) if the epilogue has one;
// otherwise the GEMM applies the whole epilogue.
func (c *Conv2d) runShifted(a *simd.PackedA, x, y []float32, cg, h, w, oh, ow int, ep *simd.Epilogue) {
	hp, wp := h+2*c.pad[0], w+2*c.pad[1]
	q := oh * wp // grid positions
	rows := c.tapOffsets(cg, hp, wp)
	// The last tap reads (KW−1)·dw values past the last channel's padded
	// rows (junk grid columns, dropped below).
	xlen := cg*hp*wp + (c.kw-1)*c.dil[1]
	buf := getScratch(xlen)
	defer putScratch(buf)
	xp := (*buf)[:xlen]
	workers := 1
	if xlen >= 1<<16 {
		workers = simd.Threads()
	}
	parallelFor(cg, workers, func(ci int) {
		c.padPlane(xp[ci*hp*wp:][:hp*wp], x[ci*h*w:][:h*w], h, w, wp)
	})
	clear(xp[cg*hp*wp:])
	inner := *ep
	if ep.R != nil {
		inner.R, inner.ReLU = nil, false
	}
	r, relu := ep.R, ep.R != nil && ep.ReLU
	simd.SgemmPackedEpilogueRows(a, q, xp, rows, &inner, func(blk []float32, ld, o0, o1, q0, q1 int) {
		// Grid columns [q0, q1) of channels [o0, o1): the parts of grid
		// rows oy that fall in the first OW columns.
		for oy := q0 / wp; oy*wp < q1; oy++ {
			s0, s1 := max(q0, oy*wp), min(q1, oy*wp+ow)
			if s0 >= s1 {
				continue
			}
			for o := o0; o < o1; o++ {
				src := blk[(o-o0)*ld+s0-q0:][:s1-s0]
				at := o*oh*ow + oy*ow + s0 - oy*wp
				dst := y[at:][:len(src)]
				if r == nil {
					copy(dst, src)
					continue
				}
				res := r[o*ep.LDR+oy*ow+s0-oy*wp:][:len(src)]
				for i, v := range src {
					v += res[i]
					if relu {
						v = max(v, 0)
					}
					dst[i] = v
				}
			}
		}
	})
}

// runDirect computes y from x with the direct kernel, one (image, group)
// pair per unit of work: the group's input channels are copied into a
// zero-padded scratch (rows Wp = W + 2·pw wide), so that each tap (channel,
// i, j) is one constant offset from an output position on the grid of OH
// rows of Wp columns; simd.Conv8 computes 8 output channels over that grid
// at a time, with the bias and activation; the first OW columns of each
// grid row are then copied into y.
func (c *Conv2d) runDirect(x, y []float32, n, h, w, oh, ow int) {
	g := c.groups
	og, cg := c.outC/g, c.inC/g
	hp, wp := h+2*c.pad[0], w+2*c.pad[1]
	kg := cg * c.kh * c.kw
	offs := c.tapOffsets(cg, hp, wp)
	q := oh * wp // output grid positions
	qr := ceilDiv(q, simd.Conv8Block) * simd.Conv8Block
	xlen := offs[len(offs)-1] + qr
	relu := c.act == ActivationReLU
	// With fewer (image, group) units than twice the workers (DenseNet at
	// batch 1 has one), each unit's grid is split over the workers instead.
	units, threads := n*g, simd.Threads()
	outer, parts := min(threads, units), 1
	if units < 2*threads {
		outer, parts = 1, threads
	}
	blocks := qr / simd.Conv8Block
	parts = min(parts, blocks)
	parallelFor(units, outer, func(u int) {
		img, grp := u/g, u%g
		buf := getScratch(xlen + og*qr)
		defer putScratch(buf)
		xp, grid := (*buf)[:xlen], (*buf)[xlen:][:og*qr]
		for ci := range cg {
			c.padPlane(xp[ci*hp*wp:][:hp*wp], x[(img*c.inC+grp*cg+ci)*h*w:][:h*w], h, w, wp)
		}
		clear(xp[cg*hp*wp:])
		// Part i computes grid positions [q0, q1) of every channel; then
		// output rows are copied out, split over the parts too.
		parallelFor(parts, parts, func(i int) {
			q0 := blocks * i / parts * simd.Conv8Block
			q1 := min(blocks*(i+1)/parts*simd.Conv8Block, q)
			if q0 >= q1 {
				return
			}
			for rb := 0; rb < og; rb += 8 {
				o0 := grp*og + rb
				var bias []float32
				if c.bias != nil {
					bias = c.bias[o0 : o0+8]
				}
				simd.Conv8(grid[rb*qr+q0:], qr, xp[q0:], offs, c.w8[o0*kg:(o0+8)*kg], bias, relu, q1-q0)
			}
		})
		parallelFor(parts, parts, func(i int) {
			for o := og * i / parts; o < og*(i+1)/parts; o++ {
				dst := y[(img*c.outC+grp*og+o)*oh*ow:][:oh*ow]
				for oy := range oh {
					copy(dst[oy*ow:][:ow], grid[o*qr+oy*wp:][:ow])
				}
			}
		})
	})
}

// im2col writes the unfolded input for output positions [p0, p1) (row-major
// over OH×OW) into col, kg × (p1−p0) with leading dimension ld: row
// (ci·KH + i)·KW + j, column q holds
// x[ci, oh·sh − ph + i·dh, ow·sw − pw + j·dw] for position p0+q = oh·OW + ow,
// or zero where that lies in the padding. x is one group's cg×H×W channels.
func (c *Conv2d) im2col(col []float32, ld int, x []float32, cg, h, w, ow, p0, p1 int) {
	cols := p1 - p0
	sh, sw := c.stride[0], c.stride[1]
	oh0, oh1 := p0/ow, (p1-1)/ow // first and last output rows, inclusive
	r := 0
	for ci := range cg {
		plane := x[ci*h*w:][:h*w]
		for i := 0; i < c.kh; i++ {
			ihOff := i*c.dil[0] - c.pad[0] // ih = oh·sh + ihOff
			for j := 0; j < c.kw; j++ {
				dst := col[r*ld:][:cols]
				r++
				off := j*c.dil[1] - c.pad[1] // iw = ow·sw + off
				lo, hi := validRange(off, sw, w, ow)
				d := 0
				for y := oh0; y <= oh1; y++ {
					a, b := 0, ow
					if y == oh0 {
						a = p0 - y*ow
					}
					if y == oh1 {
						b = p1 - y*ow
					}
					seg := dst[d : d+b-a]
					d += b - a
					ih := y*sh + ihOff
					l, u := max(lo, a), min(hi, b)
					if ih < 0 || ih >= h || l >= u {
						clear(seg)
						continue
					}
					clear(seg[:l-a])
					clear(seg[u-a:])
					src := plane[ih*w:][:w]
					gather(seg[l-a:u-a], src[l*sw+off:], sw)
				}
			}
		}
	}
}

// validRange returns the outputs [lo, hi) ⊆ [0, n) whose input index
// o·s + off lies in [0, w).
func validRange(off, s, w, n int) (lo, hi int) {
	if off < 0 {
		lo = ceilDiv(-off, s)
	}
	if w-1-off >= 0 {
		hi = (w-1-off)/s + 1
	}
	hi = min(hi, n)
	return min(lo, hi), hi
}
