package reconpatch

import (
	"fmt"
	"strings"

	"github.com/reconpatch/rp/backbones"
)

// Options are every setting of a model, recorded in its file. DefaultOptions
// holds the project defaults (section 12 of the specification).
type Options struct {
	Method   Method `json:"method"`
	Backbone string `json:"backbone"`
	// Weights is the backbone weight file given at training ("" for the
	// default install); informative: the model checks the weights by hash.
	Weights string `json:"weights,omitempty"`

	// Resize and Crop are the image preprocessing (imageio.Preprocess).
	Resize int `json:"resize"`
	Crop   int `json:"crop"`
	// Stretch resizes both sides to Resize (no crop): for elongated images
	// whose defects a centre crop would cut off.
	Stretch bool `json:"stretch,omitempty"`

	Features FeatureConfig `json:"features"`

	CoresetMethod CoresetMethod `json:"coreset_method"`
	CoresetRatio  float64       `json:"coreset_ratio"`
	ProjectionDim int           `json:"projection_dim"`
	StartPoints   int           `json:"start_points"`
	BankHalf      bool          `json:"bank_half"` // store the bank as float16

	Score      ScoreConfig `json:"score"`
	MapSigma   float64     `json:"map_sigma"`
	MapNearest bool        `json:"map_nearest"`

	// HoldOut is the fraction of train/good kept out of the bank for the
	// score statistics (ignored when the data set has validation/good).
	HoldOut float64 `json:"hold_out"`
	// Batch is how many images go through the backbone at once.
	Batch int `json:"batch"`
	// Head configures ReConPatch's head training.
	Head HeadOptions `json:"head"`
	// Seed seeds every random choice: hold-out split, head initialisation
	// and batches, coreset projection and starts.
	Seed uint64 `json:"seed"`
}

// DefaultOptions returns the project defaults for method m.
func DefaultOptions(m Method) Options {
	return Options{
		Method:        m,
		Backbone:      backbones.KerasResNet50,
		Resize:        256,
		Crop:          224,
		Features:      DefaultFeatureConfig(),
		CoresetMethod: CoresetApproximate,
		CoresetRatio:  0.01,
		MapSigma:      4,
		HoldOut:       0.1,
		Batch:         8,
		Head:          DefaultHeadOptions(),
	}
}

// Validate reports the first invalid setting.
func (o Options) Validate() error {
	if _, err := ParseMethod(string(o.Method)); err != nil {
		return err
	}
	if o.Backbone == "" {
		return fmt.Errorf("reconpatch: no backbone")
	}
	if o.Resize < 0 || o.Crop < 0 {
		return fmt.Errorf("reconpatch: resize %d and crop %d must not be negative", o.Resize, o.Crop)
	}
	if err := o.Features.Validate(); err != nil {
		return err
	}
	if !(o.CoresetRatio > 0 && o.CoresetRatio <= 1) {
		return fmt.Errorf("reconpatch: coreset ratio %v is not in (0, 1]", o.CoresetRatio)
	}
	if !(o.HoldOut >= 0 && o.HoldOut < 1) {
		return fmt.Errorf("reconpatch: hold-out fraction %v is not in [0, 1)", o.HoldOut)
	}
	if o.Batch < 1 {
		return fmt.Errorf("reconpatch: batch %d < 1", o.Batch)
	}
	if o.MapSigma < 0 {
		return fmt.Errorf("reconpatch: map sigma %v < 0", o.MapSigma)
	}
	if o.Method == MethodReConPatch {
		return o.Head.Validate()
	}
	return nil
}

// coreset is the coreset configuration of the options.
func (o Options) coreset(progress func(done, total int)) CoresetConfig {
	return CoresetConfig{
		Method: o.CoresetMethod, Ratio: o.CoresetRatio, ProjectionDim: o.ProjectionDim,
		StartPoints: o.StartPoints, Seed: o.Seed, Progress: progress,
	}
}

// mapConfig is the anomaly-map configuration for an h×w input.
func (o Options) mapConfig(h, w int) MapConfig {
	c := DefaultMapConfig(h, w)
	c.Sigma = o.MapSigma
	c.Nearest = o.MapNearest
	return c
}

// DefaultLayers are the taps section 13 of the specification uses for a
// backbone: the output of dense blocks 2 and 3 for DenseNets, layer2 and
// layer3 (Keras: res3d and res4f) for the others.
func DefaultLayers(backbone string) []string {
	if strings.HasPrefix(backbone, "densenet") {
		return []string{"features.denseblock2", "features.denseblock3"}
	}
	return []string{"layer2", "layer3"}
}
