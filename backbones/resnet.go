package backbones

import (
	"fmt"

	"github.com/reconpatch/rp/nn"
	"github.com/reconpatch/rp/tensor"
	"github.com/reconpatch/rp/weights"
)

// BlockKind is a ResNet's residual block.
type BlockKind string

// The two torchvision residual blocks.
const (
	// BasicBlock is two 3×3 convolutions (ResNet-18/34); expansion 1.
	BasicBlock BlockKind = "basic"
	// Bottleneck is 1×1 → 3×3 (grouped, carrying the stride) → 1×1
	// convolutions (ResNet-50 and deeper, Wide ResNets, ResNeXts);
	// expansion 4.
	Bottleneck BlockKind = "bottleneck"
)

// expansion is the ratio of a block's output channels to its planes.
func (k BlockKind) expansion() int {
	if k == Bottleneck {
		return 4
	}
	return 1
}

// ResNetConfig describes a torchvision ResNet (torchvision.models.ResNet):
// a 7×7/2 stem convolution, a 3×3/2 max pool, four stages of residual
// blocks, the second to fourth of which halve the resolution in their first
// block, a global average pool and a linear classifier. The presets have
// StemWidth 64 and Planes 64, 128, 256, 512, which torchvision fixes; tests
// shrink them to build small networks through the same code.
type ResNetConfig struct {
	// Block is the residual block of every stage.
	Block BlockKind
	// Layers is the number of blocks in each stage.
	Layers [4]int
	// Groups of the 3×3 convolution of a Bottleneck (32 for ResNeXt-101
	// 32×8d); 1 otherwise.
	Groups int
	// WidthPerGroup sets a Bottleneck's inner width to
	// ⌊planes·WidthPerGroup/64⌋·Groups: 64 for ResNets, 128 for Wide
	// ResNets, 8 for ResNeXt-101 32×8d.
	WidthPerGroup int
	// StemWidth is the stem convolution's output channels (64).
	StemWidth int
	// Planes per stage (64, 128, 256, 512); a stage outputs
	// Planes·expansion channels.
	Planes [4]int
	// NumClasses is the classifier's output size (1000).
	NumClasses int
}

var imagenetPlanes = [4]int{64, 128, 256, 512}

var resnetPresets = map[string]ResNetConfig{
	"resnet18":         {Block: BasicBlock, Layers: [4]int{2, 2, 2, 2}, Groups: 1, WidthPerGroup: 64, StemWidth: 64, Planes: imagenetPlanes, NumClasses: 1000},
	"resnet50":         {Block: Bottleneck, Layers: [4]int{3, 4, 6, 3}, Groups: 1, WidthPerGroup: 64, StemWidth: 64, Planes: imagenetPlanes, NumClasses: 1000},
	"wide_resnet50_2":  {Block: Bottleneck, Layers: [4]int{3, 4, 6, 3}, Groups: 1, WidthPerGroup: 128, StemWidth: 64, Planes: imagenetPlanes, NumClasses: 1000},
	"wide_resnet101_2": {Block: Bottleneck, Layers: [4]int{3, 4, 23, 3}, Groups: 1, WidthPerGroup: 128, StemWidth: 64, Planes: imagenetPlanes, NumClasses: 1000},
	"resnext101_32x8d": {Block: Bottleneck, Layers: [4]int{3, 4, 23, 3}, Groups: 32, WidthPerGroup: 8, StemWidth: 64, Planes: imagenetPlanes, NumClasses: 1000},
}

// ResNetPreset returns the configuration of a torchvision ResNet by name
// ("resnet18", "wide_resnet50_2", …).
func ResNetPreset(name string) (ResNetConfig, bool) {
	c, ok := resnetPresets[name]
	return c, ok
}

// validate reports a configuration torchvision would not build.
func (c ResNetConfig) validate() error {
	if c.Block != BasicBlock && c.Block != Bottleneck {
		return fmt.Errorf("unknown block %q", c.Block)
	}
	if c.Groups < 1 || c.WidthPerGroup < 1 || c.StemWidth < 1 || c.NumClasses < 1 {
		return fmt.Errorf("groups %d, width per group %d, stem width %d and classes %d must be positive", c.Groups, c.WidthPerGroup, c.StemWidth, c.NumClasses)
	}
	if c.Block == BasicBlock && (c.Groups != 1 || c.WidthPerGroup != 64) {
		return fmt.Errorf("BasicBlock only supports groups=1 and width_per_group=64")
	}
	for i := range 4 {
		if c.Layers[i] < 1 || c.Planes[i] < 1 {
			return fmt.Errorf("stage %d has %d blocks of %d planes", i+1, c.Layers[i], c.Planes[i])
		}
		if c.Block == Bottleneck && c.width(i) < 1 {
			return fmt.Errorf("stage %d: a bottleneck of %d planes with width per group %d is empty", i+1, c.Planes[i], c.WidthPerGroup)
		}
	}
	return nil
}

// width is the inner width of a Bottleneck of stage s, as torchvision
// computes it: int(planes · (base_width / 64.)) · groups.
func (c ResNetConfig) width(s int) int {
	return int(float64(c.Planes[s])*(float64(c.WidthPerGroup)/64.0)) * c.Groups
}

// resBlock is one residual block with batch norms folded in:
//
//	y = relu(convs[last](… relu(convs[0](x)) …) + shortcut(x))
//
// where shortcut is down (a strided 1×1 convolution) or the identity, and
// the last convolution adds the shortcut and applies the ReLU as it writes
// its output.
type resBlock struct {
	convs []*nn.Conv2d // all but the last apply ReLU
	down  *nn.Conv2d   // nil for the identity
}

// forward maps x, N×Cin×H×W, to N×Cout×H/s×W/s, a tensor from nn.Temp.
// Its intermediate tensors come from nn.Temp and are released; x is not.
func (b *resBlock) forward(x *tensor.Tensor) *tensor.Tensor {
	short := x
	if b.down != nil {
		short = b.down.ForwardInto(convTemp(b.down, x), x, nil)
	}
	y := x
	for _, c := range b.convs[:len(b.convs)-1] {
		prev := y
		y = c.ForwardInto(convTemp(c, y), y, nil)
		if prev != x {
			nn.Release(prev)
		}
	}
	last := b.convs[len(b.convs)-1]
	out := last.ForwardInto(convTemp(last, y), y, short)
	if y != x {
		nn.Release(y)
	}
	if short != x {
		nn.Release(short)
	}
	return out
}

// convTemp returns an nn.Temp tensor shaped for c's output on x.
func convTemp(c *nn.Conv2d, x *tensor.Tensor) *tensor.Tensor {
	oh, ow := c.OutputSize(x.Dim(2), x.Dim(3))
	return nn.Temp(x.Dim(0), c.OutChannels(), max(oh, 1), max(ow, 1))
}

// ResNet is a torchvision ResNet in eval mode. Taps: "relu" (the stem
// convolution, batch norm and ReLU: stride 2), "maxpool" (stride 4),
// "layer1" … "layer4" (strides 4, 8, 16, 32), "avgpool" (N×C×1×1), and
// "logits" (also "fc": N×classes).
type ResNet struct {
	name   string
	cfg    ResNetConfig
	stem   *nn.Conv2d // conv1 + bn1 + relu
	pool   nn.MaxPool2d
	stages [4][]*resBlock
	fc     *nn.Linear
}

var resnetTaps = []string{"relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc", "logits"}

var resnetTapStage = map[string]int{
	"relu": 0, "maxpool": 1, "layer1": 2, "layer2": 3, "layer3": 4, "layer4": 5, "avgpool": 6, "fc": 7, "logits": 7,
}

// NewResNet builds a ResNet of configuration cfg, named name, from a state
// dict with torchvision's names ("layer1.0.conv1.weight",
// "layer2.0.downsample.1.running_var", "fc.bias", …). num_batches_tracked
// counters are ignored; any other missing, unexpected or mis-shaped tensor
// is reported, all in one *weights.MismatchError.
func NewResNet(name string, cfg ResNetConfig, sd *weights.StateDict) (*ResNet, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("backbones: %s: %w", name, err)
	}
	b := &builder{sd: sd}
	r := &ResNet{name: name, cfg: cfg}
	r.pool = nn.MaxPool2d{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}
	relu := nn.ActivationReLU
	r.stem = b.torchConvBN("conv1", "bn1", 3, cfg.StemWidth, 7, nn.Conv2dOptions{Stride: [2]int{2, 2}, Padding: [2]int{3, 3}}, relu)
	in := cfg.StemWidth
	exp := cfg.Block.expansion()
	for s := range 4 {
		planes, out := cfg.Planes[s], cfg.Planes[s]*exp
		for i := range cfg.Layers[s] {
			p := fmt.Sprintf("layer%d.%d.", s+1, i)
			stride := 1
			if s > 0 && i == 0 {
				stride = 2
			}
			st := [2]int{stride, stride}
			blk := &resBlock{}
			if cfg.Block == BasicBlock {
				blk.convs = []*nn.Conv2d{
					b.torchConvBN(p+"conv1", p+"bn1", in, planes, 3, nn.Conv2dOptions{Stride: st, Padding: [2]int{1, 1}}, relu),
					b.torchConvBN(p+"conv2", p+"bn2", planes, planes, 3, nn.Conv2dOptions{Padding: [2]int{1, 1}}, relu),
				}
			} else {
				w := cfg.width(s)
				blk.convs = []*nn.Conv2d{
					b.torchConvBN(p+"conv1", p+"bn1", in, w, 1, nn.Conv2dOptions{}, relu),
					b.torchConvBN(p+"conv2", p+"bn2", w, w, 3, nn.Conv2dOptions{Stride: st, Padding: [2]int{1, 1}, Groups: cfg.Groups}, relu),
					b.torchConvBN(p+"conv3", p+"bn3", w, out, 1, nn.Conv2dOptions{}, relu),
				}
			}
			if stride != 1 || in != out {
				blk.down = b.torchConvBN(p+"downsample.0", p+"downsample.1", in, out, 1, nn.Conv2dOptions{Stride: st}, nn.ActivationNone)
			}
			r.stages[s] = append(r.stages[s], blk)
			in = out
		}
	}
	r.fc = b.linear("fc", in, cfg.NumClasses)
	if err := b.finish(name, weights.IsNumBatchesTracked); err != nil {
		return nil, err
	}
	return r, nil
}

// Name returns the backbone's name.
func (r *ResNet) Name() string { return r.name }

// Config returns the backbone's configuration.
func (r *ResNet) Config() ResNetConfig { return r.cfg }

// Normalization returns torchvision's ImageNet normalisation.
func (r *ResNet) Normalization() Normalization { return ImageNetNormalization }

// Taps lists "relu", "maxpool", "layer1" … "layer4", "avgpool", "fc" and
// "logits".
func (r *ResNet) Taps() []string { return append([]string(nil), resnetTaps...) }

// Forward runs x, N×3×H×W, through the stem and as many stages as the taps
// need. Feature taps are N×C×H'×W' (layer3 of wide_resnet50_2 at 224:
// N×1024×14×14); "logits" and "fc" are the same N×classes tensor.
func (r *ResNet) Forward(x *tensor.Tensor, taps ...string) (map[string]*tensor.Tensor, error) {
	idx, last, err := tapIndex(r.name, resnetTapStage, resnetTaps, taps)
	if err != nil {
		return nil, err
	}
	if err := checkInput(r.name, x, 1, 1); err != nil {
		return nil, err
	}
	if x.Dim(0) > 1 && imageByImage && r.cfg.Groups <= 1 {
		return ForwardBatched(r, x, 1, taps...)
	}
	out := make(map[string]*tensor.Tensor, len(taps))
	// Intermediate values come from nn.Temp and go back to it once dead,
	// unless a tap returns them.
	tapped := map[*tensor.Tensor]bool{}
	emit := func(stage int, t *tensor.Tensor) {
		for i, s := range idx {
			if s == stage {
				out[taps[i]] = t
				tapped[t] = true
			}
		}
	}
	release := func(t *tensor.Tensor) {
		if !tapped[t] {
			nn.Release(t)
		}
	}
	y := r.stem.ForwardInto(convTemp(r.stem, x), x, nil) // N×64×H/2×W/2
	emit(0, y)
	if last < 1 {
		return out, nil
	}
	stem := y
	y = r.pool.Forward(y) // N×64×H/4×W/4
	release(stem)
	emit(1, y)
	for s := 0; s < 4 && s+2 <= last; s++ {
		for _, blk := range r.stages[s] {
			prev := y
			y = blk.forward(y) // N×planes·exp×H/2^(s+2)×W/2^(s+2) (stage 1 keeps H/4)
			release(prev)
		}
		emit(s+2, y)
	}
	if last < 6 {
		return out, nil
	}
	pooled := nn.GlobalAvgPool2d{}.Forward(y) // N×C
	emit(6, tensor.FromSlice(pooled.Data(), pooled.Dim(0), pooled.Dim(1), 1, 1))
	if last < 7 {
		return out, nil
	}
	emit(7, r.fc.Forward(pooled)) // N×classes
	return out, nil
}
