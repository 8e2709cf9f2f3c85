package reconpatch

import (
	"errors"
	"fmt"

	"github.com/reconpatch/rp/nn"
	"github.com/reconpatch/rp/simd"
	"github.com/reconpatch/rp/tensor"
)

// Aggregation is how the tapped feature maps become one vector per patch.
type Aggregation uint8

const (
	// AggregatePatchCore is official PatchCore's pipeline (section 4a):
	// for each layer, unfold PatchSize×PatchSize neighbourhoods with zero
	// padding at the layer's own resolution (C·k² values per cell,
	// channel-major: c·k² + ky·k + kx), upsample them bilinearly
	// (align_corners false) to the first layer's grid, average-pool each
	// cell's C·k² vector adaptively to PretrainDim, then concatenate the
	// layers' vectors and pool them adaptively to TargetDim.
	AggregatePatchCore Aggregation = iota
	// AggregateConcat is anomalib's pipeline (section 4b): a
	// PatchSize×PatchSize average pool (stride 1, zero padding counted) of
	// each raw layer map, bilinear upsampling (align_corners false) to the
	// first layer's grid and channel concatenation: D = ΣC, no reduction.
	// PretrainDim and TargetDim are not used.
	AggregateConcat
)

// String names the aggregation as the command line does.
func (a Aggregation) String() string {
	switch a {
	case AggregatePatchCore:
		return "patchcore"
	case AggregateConcat:
		return "concat"
	}
	return fmt.Sprintf("Aggregation(%d)", uint8(a))
}

// ParseAggregation is the inverse of Aggregation.String.
func ParseAggregation(s string) (Aggregation, error) {
	switch s {
	case "patchcore":
		return AggregatePatchCore, nil
	case "concat":
		return AggregateConcat, nil
	}
	return 0, fmt.Errorf("reconpatch: unknown aggregation %q (want patchcore or concat)", s)
}

// FeatureConfig configures Aggregate.
type FeatureConfig struct {
	// Layers are the backbone taps to use, shallowest first; the first one
	// sets the patch grid. Default: layer2, layer3 (the paper's ablation
	// also uses layer1, layer2, layer3).
	Layers []string
	// PatchSize is the neighbourhood size k (3; the paper's ablation also
	// uses 5). The padding is ⌊(k−1)/2⌋ and the stride 1, as in PatchCore,
	// so an odd k keeps each layer's grid and an even k shrinks it by one.
	PatchSize int
	// PretrainDim is the length each layer's C·k² vector is pooled to
	// (PatchCore's pretrain_embed_dimension, 1024). AggregatePatchCore only.
	PretrainDim int
	// TargetDim is the length of the final patch feature (PatchCore's
	// target_embed_dimension: 1024 single model, 384 in its ensembles).
	// AggregatePatchCore only.
	TargetDim int
	// Aggregation is the pipeline: AggregatePatchCore (the default) or
	// AggregateConcat.
	Aggregation Aggregation
}

// DefaultFeatureConfig is the project default (section 12): layers layer2
// and layer3, patch size 3, official PatchCore aggregation to 1024 and 1024.
func DefaultFeatureConfig() FeatureConfig {
	return FeatureConfig{
		Layers:      []string{"layer2", "layer3"},
		PatchSize:   3,
		PretrainDim: 1024,
		TargetDim:   1024,
	}
}

// Validate reports the first inconsistent setting.
func (c FeatureConfig) Validate() error {
	if len(c.Layers) == 0 {
		return errors.New("reconpatch: FeatureConfig: no layers")
	}
	seen := map[string]bool{}
	for _, l := range c.Layers {
		if seen[l] {
			return fmt.Errorf("reconpatch: FeatureConfig: layer %q listed twice", l)
		}
		seen[l] = true
	}
	if c.PatchSize < 1 {
		return fmt.Errorf("reconpatch: FeatureConfig: patch size %d < 1", c.PatchSize)
	}
	switch c.Aggregation {
	case AggregatePatchCore:
		if c.PretrainDim < 1 || c.TargetDim < 1 {
			return fmt.Errorf("reconpatch: FeatureConfig: dimensions pretrain %d, target %d must be positive", c.PretrainDim, c.TargetDim)
		}
	case AggregateConcat:
	default:
		return fmt.Errorf("reconpatch: FeatureConfig: unknown aggregation %v", c.Aggregation)
	}
	return nil
}

// Dim is the patch-feature length that Aggregate returns for layers with
// the given channel counts (in the order of Layers).
func (c FeatureConfig) Dim(channels ...int) int {
	if c.Aggregation == AggregateConcat {
		d := 0
		for _, ch := range channels {
			d += ch
		}
		return d
	}
	return c.TargetDim
}

// Grid is the patch grid: H rows by W columns of patches, row-major.
type Grid struct{ H, W int }

// Len is the number of patches, H·W.
func (g Grid) Len() int { return g.H * g.W }

// unfoldSize is the number of k-wide windows, stride 1, over n cells padded
// by ⌊(k−1)/2⌋ on each side (torch.nn.Unfold as PatchCore calls it).
func unfoldSize(n, k int) int { return n + 2*((k-1)/2) - k + 1 }

// Aggregate turns backbone feature maps into patch features.
//
// taps maps each layer name of cfg.Layers to its N×C×H×W map (others are
// ignored). It returns the patch features, N×P×D with P = grid.H·grid.W
// patches per image in row-major order over the first layer's grid and
// D = cfg.Dim(C…), and the grid.
//
// Aggregate returns an error if cfg is invalid, a layer is missing or is not
// a 4-D map with non-empty planes, the batch sizes differ, or a plane is too
// small for the patch size.
//
// Numerically it is PatchCore's computation (unfold, upsample, pool, pool)
// up to float32 rounding: each pooling bin is summed in float32 in
// ascending unfolded order and divided by its size, as torch does, but each
// layer is pooled at its native resolution before it is upsampled (both are
// linear and act on different axes, so they commute), which saves
// upsampling C·k² planes. The work is done on whole planes: a bin's value
// over the grid is a sum of shifted, zero-padded input planes.
func Aggregate(cfg FeatureConfig, taps map[string]*tensor.Tensor) (*tensor.Tensor, Grid, error) {
	if err := cfg.Validate(); err != nil {
		return nil, Grid{}, err
	}
	k := cfg.PatchSize
	pad := (k - 1) / 2
	layers := make([]*layerInput, len(cfg.Layers))
	for i, name := range cfg.Layers {
		t, ok := taps[name]
		if !ok || t == nil {
			return nil, Grid{}, fmt.Errorf("reconpatch: Aggregate: no tap %q", name)
		}
		if t.Dims() != 4 {
			return nil, Grid{}, fmt.Errorf("reconpatch: Aggregate: tap %q has shape %v, want N×C×H×W", name, t.Shape())
		}
		s := t.Shape()
		if s[0] < 1 || s[1] < 1 || s[2] < 1 || s[3] < 1 {
			return nil, Grid{}, fmt.Errorf("reconpatch: Aggregate: tap %q has empty shape %v", name, s)
		}
		if i > 0 && s[0] != layers[0].n {
			return nil, Grid{}, fmt.Errorf("reconpatch: Aggregate: tap %q has batch %d, tap %q has %d", name, s[0], cfg.Layers[0], layers[0].n)
		}
		l := &layerInput{n: s[0], c: s[1], h: s[2], w: s[3], data: t.Contiguous().Data()}
		l.gh, l.gw = unfoldSize(l.h, k), unfoldSize(l.w, k)
		if l.gh < 1 || l.gw < 1 {
			return nil, Grid{}, fmt.Errorf("reconpatch: Aggregate: tap %q (%d×%d) is smaller than the patch size %d", name, l.h, l.w, k)
		}
		l.hp, l.wp = l.h+2*pad, l.w+2*pad
		layers[i] = l
	}
	n := layers[0].n
	grid := Grid{layers[0].gh, layers[0].gw}
	p := grid.Len()

	// Per layer: the pooled length and its bins; then the final pool.
	total := 0
	for _, l := range layers {
		pooled := cfg.PretrainDim
		if cfg.Aggregation == AggregateConcat {
			pooled = l.c // adaptive pooling of C·k² to C is the k×k mean
		}
		// Unfolded index q = c·k² + ky·k + kx reads the padded plane c
		// shifted by (ky, kx).
		plane := l.hp * l.wp
		l.bins = newBinPlan(l.c*k*k, pooled, func(q int) int32 {
			t := q % (k * k)
			return int32(q/(k*k)*plane + t/k*l.wp + t%k)
		})
		l.offset = total
		total += pooled
	}
	dim := total
	var final *binPlan
	if cfg.Aggregation == AggregatePatchCore {
		dim = cfg.TargetDim
		if dim != total {
			final = newBinPlan(total, dim, func(q int) int32 { return int32(q * p) })
		}
	}

	out := tensor.New(n, p, dim)
	od := out.Data()
	cat := make([]float32, total*p) // the layers' pooled planes, total × P
	var fin []float32               // the final planes, dim × P
	if final != nil {
		fin = make([]float32, dim*p)
	}
	var padded, pooled []float32
	for img := range n {
		for _, l := range layers {
			padded = grow(padded, l.c*l.hp*l.wp)
			l.padPlanes(padded, img, pad)
			g := Grid{l.gh, l.gw}
			if g == grid {
				l.bins.sumPlanes(cat[l.offset*p:], padded, g, l.wp)
				continue
			}
			pooled = grow(pooled, l.bins.out*g.Len())
			l.bins.sumPlanes(pooled, padded, g, l.wp)
			resizePlanes(cat[l.offset*p:], grid, pooled, g, l.bins.out)
		}
		planes := cat
		if final != nil {
			final.sumPlanes(fin, cat, Grid{1, p}, p)
			planes = fin
		}
		transpose(od[img*p*dim:][:p*dim], planes, dim, p)
	}
	return out, grid, nil
}

// layerInput is one tapped map and its pooling bins.
type layerInput struct {
	n, c, h, w int
	gh, gw     int // unfolded grid
	hp, wp     int // zero-padded plane
	data       []float32
	bins       *binPlan
	offset     int // first plane of this layer among the concatenated ones
}

// padPlanes copies image img's C planes into dst with pad zeros around each
// (C × hp × wp).
func (l *layerInput) padPlanes(dst []float32, img, pad int) {
	plane := l.h * l.w
	src := l.data[img*l.c*plane:][:l.c*plane]
	pp := l.hp * l.wp
	parallelFor(l.c, pp, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			d := dst[c*pp:][:pp]
			if pad > 0 {
				clear(d)
			}
			for y := range l.h {
				copy(d[(y+pad)*l.wp+pad:][:l.w], src[c*plane+y*l.w:][:l.w])
			}
		}
	})
}

// binPlan is torch's adaptive_avg_pool1d of an in-long vector to out bins:
// bin i averages inputs [⌊i·in/out⌋, ⌈(i+1)·in/out⌉). Input q is the plane
// starting at offs[q] of some source, so a bin's value over a grid is the
// mean of those planes.
type binPlan struct {
	in, out int
	lo, hi  []int32 // bin i covers inputs lo[i] … hi[i]−1
	offs    []int32 // source offset of input q
}

func newBinPlan(in, out int, offset func(q int) int32) *binPlan {
	b := &binPlan{in: in, out: out, lo: make([]int32, out), hi: make([]int32, out), offs: make([]int32, in)}
	for i := range out {
		b.lo[i] = int32(i * in / out)
		b.hi[i] = int32(((i+1)*in + out - 1) / out)
	}
	for q := range in {
		b.offs[q] = offset(q)
	}
	return b
}

// sumPlanes writes bin i's mean plane, g.H×g.W, to dst[i·g.Len():]. Input q
// is the g.H×g.W plane at src[offs[q]:] with row stride lds. The inputs are
// summed in float32 in ascending order (simd.Axpy with α = 1 adds exactly
// as + does) and the sum is divided by the bin's size.
func (b *binPlan) sumPlanes(dst, src []float32, g Grid, lds int) {
	span := (g.H-1)*lds + g.W // the strided plane as one run
	cells := g.Len()
	parallelFor(b.out, cells*int(b.hi[0]-b.lo[0]+1), func(lo, hi int) {
		acc := make([]float32, span)
		for i := lo; i < hi; i++ {
			offs := b.offs[b.lo[i]:b.hi[i]]
			copy(acc, src[offs[0]:][:span])
			for _, o := range offs[1:] {
				simd.Axpy(1, src[o:][:span], acc)
			}
			d := dst[i*cells:][:cells]
			if len(offs) == 1 {
				for y := range g.H {
					copy(d[y*g.W:][:g.W], acc[y*lds:][:g.W])
				}
				continue
			}
			cnt := float32(len(offs))
			for y := range g.H {
				row, drow := acc[y*lds:][:g.W], d[y*g.W:][:g.W]
				for x, v := range row {
					drow[x] = v / cnt
				}
			}
		}
	})
}

// resizePlanes resizes planes planes from from to to, bilinearly with
// align_corners false (torch's F.interpolate given a size).
func resizePlanes(dst []float32, to Grid, src []float32, from Grid, planes int) {
	ty := torchLinearTaps(from.H, to.H)
	tx := torchLinearTaps(from.W, to.W)
	fp, tp := from.Len(), to.Len()
	parallelFor(planes, tp*6, func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			in, o := src[pl*fp:][:fp], dst[pl*tp:][:tp]
			for y, a := range ty {
				r0, r1, orow := in[a.i0*from.W:][:from.W], in[a.i1*from.W:][:from.W], o[y*to.W:][:to.W]
				for x, b := range tx {
					orow[x] = a.l0*(b.l0*r0[b.i0]+b.l1*r0[b.i1]) + a.l1*(b.l0*r1[b.i0]+b.l1*r1[b.i1])
				}
			}
		}
	})
}

// transpose sets dst (cols×rows) to the transpose of src (rows×cols). It
// goes through 16×64 tiles: 64 rows of 16 values (one cache line each) are
// read, transposed into a small buffer, and written out as 16 whole runs of
// 64 values. Whole-line writes keep a power-of-two rows·4 (the usual
// 1024-d case, where the destination rows all map to one L1 set) from
// thrashing the cache with partly written lines.
func transpose(dst, src []float32, rows, cols int) {
	const bc, br = 16, 64
	parallelFor((cols+bc-1)/bc, rows*bc, func(lo, hi int) {
		var tile [bc * br]float32
		for c0 := lo * bc; c0 < min(hi*bc, cols); c0 += bc {
			nc := min(bc, cols-c0)
			for r0 := 0; r0 < rows; r0 += br {
				nr := min(br, rows-r0)
				for r := range nr {
					for i, v := range src[(r0+r)*cols+c0:][:nc] {
						tile[i*br+r] = v
					}
				}
				for i := range nc {
					copy(dst[(c0+i)*rows+r0:][:nr], tile[i*br:][:nr])
				}
			}
		}
	})
}

// linTap is one output coordinate's two source indices and weights.
type linTap struct {
	i0, i1 int
	l0, l1 float32
}

// torchLinearTaps are PyTorch's (1.13, CPU) linear-interpolation taps for a
// size-given resize with align_corners false, computed in float32 as torch
// does for float32 tensors: source = max((o + ½)·(in/out) − ½, 0).
func torchLinearTaps(in, out int) []linTap {
	scale := float32(in) / float32(out)
	taps := make([]linTap, out)
	for o := range taps {
		s := max((float32(o)+0.5)*scale-0.5, 0)
		i0 := min(int(s), in-1)
		l1 := min(max(s-float32(i0), 0), 1)
		i1 := i0
		if i0 < in-1 {
			i1++
		}
		taps[o] = linTap{i0: i0, i1: i1, l0: 1 - l1, l1: l1}
	}
	return taps
}

// Embed applies the representation layer f to every patch feature:
// feats N×P×D → N×P×D'. head is typically an nn.Linear built from a
// trained weight D'×D and bias D'; nil returns feats unchanged (PatchCore).
// Embed panics if the head does not accept D-long rows.
func Embed(head nn.Layer, feats *tensor.Tensor) *tensor.Tensor {
	if head == nil {
		return feats
	}
	s := feats.Shape()
	if len(s) < 2 {
		panic(fmt.Sprintf("reconpatch: Embed: feature shape %v has no rows", s))
	}
	rows := feats.Size() / s[len(s)-1]
	y := head.Forward(feats.Reshape(rows, s[len(s)-1]))
	shape := append(append([]int(nil), s[:len(s)-1]...), y.Dim(-1))
	return y.Reshape(shape...)
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}
