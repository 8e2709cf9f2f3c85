package backbones

import (
	"fmt"
	"math"
	"slices"

	"github.com/reconpatch/rp/internal/parallel"
	"github.com/reconpatch/rp/nn"
	"github.com/reconpatch/rp/simd"
	"github.com/reconpatch/rp/tensor"
	"github.com/reconpatch/rp/weights"
)

// DenseNetConfig describes a torchvision DenseNet-BC
// (torchvision.models.DenseNet): a 7×7/2 stem convolution, batch norm, ReLU
// and 3×3/2 max pool; dense blocks whose layers each see the concatenation
// of the block's input and every earlier layer's output; transitions
// (batch norm, ReLU, 1×1 convolution halving the channels, 2×2/2 average
// pool) between blocks; a final batch norm, ReLU, global average pool and
// linear classifier.
type DenseNetConfig struct {
	// GrowthRate is the channels each dense layer adds (k = 32).
	GrowthRate int
	// BlockConfig is the number of dense layers of each block
	// (6, 12, 48, 32 for DenseNet-201).
	BlockConfig []int
	// NumInitFeatures is the stem convolution's output channels (64).
	NumInitFeatures int
	// BnSize sets a dense layer's bottleneck to BnSize·GrowthRate channels
	// (4).
	BnSize int
	// NumClasses is the classifier's output size (1000).
	NumClasses int
}

var densenetPresets = map[string]DenseNetConfig{
	"densenet121": {GrowthRate: 32, BlockConfig: []int{6, 12, 24, 16}, NumInitFeatures: 64, BnSize: 4, NumClasses: 1000},
	"densenet161": {GrowthRate: 48, BlockConfig: []int{6, 12, 36, 24}, NumInitFeatures: 96, BnSize: 4, NumClasses: 1000},
	"densenet169": {GrowthRate: 32, BlockConfig: []int{6, 12, 32, 32}, NumInitFeatures: 64, BnSize: 4, NumClasses: 1000},
	"densenet201": {GrowthRate: 32, BlockConfig: []int{6, 12, 48, 32}, NumInitFeatures: 64, BnSize: 4, NumClasses: 1000},
}

// DenseNetPreset returns the configuration of a torchvision DenseNet by name
// ("densenet201", …).
func DenseNetPreset(name string) (DenseNetConfig, bool) {
	c, ok := densenetPresets[name]
	c.BlockConfig = slices.Clone(c.BlockConfig)
	return c, ok
}

func (c DenseNetConfig) validate() error {
	if c.GrowthRate < 1 || c.NumInitFeatures < 1 || c.BnSize < 1 || c.NumClasses < 1 || len(c.BlockConfig) == 0 {
		return fmt.Errorf("growth rate %d, initial features %d, bn size %d, classes %d and %d blocks must be positive",
			c.GrowthRate, c.NumInitFeatures, c.BnSize, c.NumClasses, len(c.BlockConfig))
	}
	for i, n := range c.BlockConfig {
		if n < 1 {
			return fmt.Errorf("dense block %d has %d layers", i+1, n)
		}
	}
	return nil
}

// affineReLU is a batch normalisation in eval mode followed by a ReLU, as
// the pre-activation of a dense layer or a transition:
// y = max(x·scale + shift, 0), per channel.
type affineReLU struct {
	scale, shift []float32
}

// newAffineReLU computes scale = γ/√(σ²+ε) and shift = β − μ·scale in
// float64, as torch's eval-mode batch norm does in float32.
func newAffineReLU(b *builder, prefix string, ch int) *affineReLU {
	g := b.get(prefix+".weight", ch)
	beta := b.get(prefix+".bias", ch)
	m := b.get(prefix+".running_mean", ch)
	v := b.get(prefix+".running_var", ch)
	if g == nil || beta == nil || m == nil || v == nil {
		return nil
	}
	a := &affineReLU{scale: make([]float32, ch), shift: make([]float32, ch)}
	gd, bd, md, vd := g.Data(), beta.Data(), m.Data(), v.Data()
	for c := range ch {
		if !(vd[c] >= 0) {
			b.fail(fmt.Errorf("%s: running variance[%d] = %v", prefix, c, vd[c]))
			return nil
		}
		s := float64(gd[c]) / math.Sqrt(float64(vd[c])+1e-5)
		a.scale[c] = float32(s)
		a.shift[c] = float32(float64(bd[c]) - float64(md[c])*s)
	}
	return a
}

// forward normalises the first C = len(scale) channels of each image of src,
// N×Ctot×H×W (contiguous, hw = H·W), into a new N×C×H×W tensor from
// nn.Temp.
func (a *affineReLU) forward(src []float32, n, cTot, h, w int) *tensor.Tensor {
	c, hw := len(a.scale), h*w
	out := nn.Temp(n, c, h, w)
	dst := out.Data()
	planes := n * c
	splitPlanes(planes, planes*hw >= 1<<16, func(p int) {
		img, ch := p/c, p%c
		in := src[(img*cTot+ch)*hw:][:hw]
		o := dst[p*hw:][:hw]
		simd.AffineReLU(o, in, a.scale[ch], a.shift[ch])
	})
	return out
}

// splitPlanes calls f(i) for i in [0, n), split into contiguous ranges over
// simd.Threads() goroutines when split is set.
func splitPlanes(n int, split bool, f func(i int)) {
	workers := min(simd.Threads(), n)
	if !split || workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	parallel.Run(workers, func(w int) {
		for i := w * n / workers; i < (w+1)*n/workers; i++ {
			f(i)
		}
	})
}

// denseLayer is norm1 → relu1 → conv1 (1×1) → norm2 → relu2 → conv2 (3×3),
// with norm2 and relu2 folded into conv1.
type denseLayer struct {
	pre   *affineReLU
	conv1 *nn.Conv2d // Cin → BnSize·k, with norm2 and ReLU
	conv2 *nn.Conv2d // BnSize·k → k, 3×3 pad 1
}

// denseBlock holds the layers of one block; it outputs its input and every
// layer's features concatenated: C0 + L·k channels.
type denseBlock struct {
	layers     []*denseLayer
	in, growth int
}

// forward maps x, N×C0×H×W, to N×(C0+L·k)×H×W. Each layer reads a prefix of
// the channels of one preallocated output and writes its k new channels
// after them, so no concatenation is ever copied twice.
func (d *denseBlock) forward(x *tensor.Tensor) *tensor.Tensor {
	n, h, w := x.Dim(0), x.Dim(2), x.Dim(3)
	hw := h * w
	total := d.in + len(d.layers)*d.growth
	out := nn.Temp(n, total, h, w) // every channel is written below
	buf := out.Data()
	xd := x.Contiguous().Data()
	for i := range n {
		copy(buf[i*total*hw:][:d.in*hw], xd[i*d.in*hw:][:d.in*hw])
	}
	c := d.in
	for _, l := range d.layers {
		a := l.pre.forward(buf, n, total, h, w) // N×c×H×W
		b := l.conv1.ForwardInto(nn.Temp(n, l.conv1.OutChannels(), h, w), a, nil)
		nn.Release(a)
		// The k new channels of each image go straight into the block's
		// buffer, where they are contiguous.
		for i := range n {
			dst := tensor.FromSlice(buf[(i*total+c)*hw:][:d.growth*hw], 1, d.growth, h, w)
			bi := b
			if n > 1 {
				bi = tensor.FromSlice(b.Data()[i*b.Dim(1)*hw:][:b.Dim(1)*hw], 1, b.Dim(1), h, w)
			}
			l.conv2.ForwardInto(dst, bi, nil)
		}
		nn.Release(b)
		c += d.growth
	}
	return out
}

// transition is norm → relu → conv (1×1, C → C/2, no bias) → 2×2/2 average
// pool. The pool runs before the convolution: both are linear and the
// convolution is 1×1 without bias, so they commute, and the convolution
// then sees a quarter of the positions.
type transition struct {
	pre  *affineReLU
	conv *nn.Conv2d
}

// forward maps x, N×C×H×W, to N×C/2×⌊H/2⌋×⌊W/2⌋.
func (t *transition) forward(x *tensor.Tensor) *tensor.Tensor {
	a := t.pre.forward(x.Contiguous().Data(), x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3))
	p := nn.AvgPool2d{Kernel: [2]int{2, 2}, Stride: [2]int{2, 2}}.Forward(a)
	nn.Release(a)
	y := t.conv.ForwardInto(nn.Temp(p.Dim(0), t.conv.OutChannels(), p.Dim(2), p.Dim(3)), p, nil)
	nn.Release(p)
	return y
}

// DenseNet is a torchvision DenseNet in eval mode. Taps, with torchvision's
// module names: "features.relu0" (stride 2), "features.pool0" (stride 4),
// "features.denseblock1" … (the block's concatenated output, before the
// transition), "features.transition1" …, "features.norm5" (also
// "features": the last block after the final batch norm, before its ReLU),
// and "logits" (also "classifier": N×classes).
type DenseNet struct {
	name        string
	cfg         DenseNetConfig
	stem        *nn.Conv2d // conv0 + norm0 + relu0
	pool        nn.MaxPool2d
	blocks      []*denseBlock
	transitions []*transition
	norm5       *nn.BatchNorm2d
	classifier  *nn.Linear
	taps        []string
	tapStage    map[string]int
}

// NewDenseNet builds a DenseNet of configuration cfg, named name, from a
// state dict with torchvision's names ("features.denseblock1.denselayer1.
// conv1.weight", "classifier.bias", …). Checkpoints saved with torchvision's
// old names ("norm.1") are renamed in place first, as torchvision does.
// Every missing, unexpected or mis-shaped tensor is reported in one
// *weights.MismatchError.
func NewDenseNet(name string, cfg DenseNetConfig, sd *weights.StateDict) (*DenseNet, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("backbones: %s: %w", name, err)
	}
	if err := weights.RemapDenseNet(sd); err != nil {
		return nil, fmt.Errorf("backbones: %s: %w", name, err)
	}
	b := &builder{sd: sd}
	d := &DenseNet{name: name, cfg: cfg}
	d.stem = b.torchConvBN("features.conv0", "features.norm0", 3, cfg.NumInitFeatures, 7,
		nn.Conv2dOptions{Stride: [2]int{2, 2}, Padding: [2]int{3, 3}}, nn.ActivationReLU)
	d.pool = nn.MaxPool2d{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}
	stage := 0
	tap := func(names ...string) {
		for _, n := range names {
			d.tapStage[n] = stage
			d.taps = append(d.taps, n)
		}
		stage++
	}
	d.tapStage = map[string]int{}
	tap("features.relu0")
	tap("features.pool0")
	k, inner := cfg.GrowthRate, cfg.BnSize*cfg.GrowthRate
	c := cfg.NumInitFeatures
	for i, nl := range cfg.BlockConfig {
		blk := &denseBlock{in: c, growth: k}
		for j := range nl {
			p := fmt.Sprintf("features.denseblock%d.denselayer%d.", i+1, j+1)
			cin := c + j*k
			l := &denseLayer{pre: newAffineReLU(b, p+"norm1", cin)}
			l.conv1 = b.torchConvBN(p+"conv1", p+"norm2", cin, inner, 1, nn.Conv2dOptions{}, nn.ActivationReLU)
			if w := b.get(p+"conv2.weight", k, inner, 3, 3); w != nil {
				l.conv2 = b.foldConv(p+"conv2", w, nil, nil, nn.Conv2dOptions{Padding: [2]int{1, 1}}, nn.ActivationNone)
			}
			blk.layers = append(blk.layers, l)
		}
		d.blocks = append(d.blocks, blk)
		c += nl * k
		tap(fmt.Sprintf("features.denseblock%d", i+1))
		if i == len(cfg.BlockConfig)-1 {
			break
		}
		p := fmt.Sprintf("features.transition%d.", i+1)
		t := &transition{pre: newAffineReLU(b, p+"norm", c)}
		if w := b.get(p+"conv.weight", c/2, c, 1, 1); w != nil {
			t.conv = b.foldConv(p+"conv", w, nil, nil, nn.Conv2dOptions{}, nn.ActivationNone)
		}
		d.transitions = append(d.transitions, t)
		c /= 2
		tap(fmt.Sprintf("features.transition%d", i+1))
	}
	d.norm5 = b.torchBN("features.norm5", c)
	tap("features.norm5", "features")
	d.classifier = b.linear("classifier", c, cfg.NumClasses)
	tap("classifier", "logits")
	if err := b.finish(name, weights.IsNumBatchesTracked); err != nil {
		return nil, err
	}
	return d, nil
}

// Name returns the backbone's name.
func (d *DenseNet) Name() string { return d.name }

// Config returns the backbone's configuration.
func (d *DenseNet) Config() DenseNetConfig {
	c := d.cfg
	c.BlockConfig = slices.Clone(c.BlockConfig)
	return c
}

// Normalization returns torchvision's ImageNet normalisation.
func (d *DenseNet) Normalization() Normalization { return ImageNetNormalization }

// Taps lists the tap names in the order the network computes them.
func (d *DenseNet) Taps() []string { return slices.Clone(d.taps) }

// stageOfBlock is the tap stage of dense block i (0-based); its transition
// is the next stage.
func stageOfBlock(i int) int { return 2 + 2*i }

// minSize is the smallest input height (or width) that reaches stage last:
// every transition before it needs at least 2 rows to pool.
func (d *DenseNet) minSize(last int) int {
	for h := 1; ; h++ {
		s := (h-1)/2 + 1 // conv0 7×7/2 pad 3
		s = (s-1)/2 + 1  // pool0 3×3/2 pad 1
		ok := true
		for i := range d.transitions {
			if stageOfBlock(i)+1 > last {
				break
			}
			if s < 2 {
				ok = false
				break
			}
			s /= 2
		}
		if ok {
			return h
		}
	}
}

// Forward runs x, N×3×H×W, through the stem and as many blocks as the taps
// need. DenseNet-201 at 224: denseblock2 N×512×28×28, denseblock3
// N×1792×14×14.
func (d *DenseNet) Forward(x *tensor.Tensor, taps ...string) (map[string]*tensor.Tensor, error) {
	idx, last, err := tapIndex(d.name, d.tapStage, d.taps, taps)
	if err != nil {
		return nil, err
	}
	m := d.minSize(last)
	if err := checkInput(d.name, x, m, m); err != nil {
		return nil, err
	}
	if x.Dim(0) > 1 && imageByImage {
		return ForwardBatched(d, x, 1, taps...)
	}
	out := make(map[string]*tensor.Tensor, len(taps))
	// Intermediate values go back to nn.Temp once dead, unless a tap
	// returns them.
	tapped := map[*tensor.Tensor]bool{}
	emit := func(stage int, t *tensor.Tensor) {
		for i, s := range idx {
			if s == stage {
				out[taps[i]] = t
				tapped[t] = true
			}
		}
	}
	next := func(prev, y *tensor.Tensor) *tensor.Tensor {
		if !tapped[prev] {
			nn.Release(prev)
		}
		return y
	}
	y := d.stem.Forward(x) // N×C0×H/2×W/2
	emit(0, y)
	if last < 1 {
		return out, nil
	}
	y = next(y, d.pool.Forward(y)) // N×C0×H/4×W/4
	emit(1, y)
	stage := 2
	for i, blk := range d.blocks {
		if stage > last {
			return out, nil
		}
		y = next(y, blk.forward(y)) // N×(C+L·k)×h×w
		emit(stage, y)
		stage++
		if i < len(d.transitions) {
			if stage > last {
				return out, nil
			}
			y = next(y, d.transitions[i].forward(y)) // N×C/2×h/2×w/2
			emit(stage, y)
			stage++
		}
	}
	if stage > last {
		return out, nil
	}
	y = d.norm5.Forward(y)
	emit(stage, y)
	stage++
	if stage > last {
		return out, nil
	}
	pooled := nn.GlobalAvgPool2d{}.Forward(nn.ReLU{}.Forward(y)) // N×C
	emit(stage, d.classifier.Forward(pooled))                    // N×classes
	return out, nil
}
