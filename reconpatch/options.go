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

	// FeatureHalf caches the training patch features (and ReConPatch's
	// embeddings of them) as float16, halving their memory or disk: an
	// approximation (every value rounded to 11 significant bits, as
	// BankHalf rounds the bank), so the model differs slightly from one
	// trained on float32 features. Recorded in the model.
	FeatureHalf bool `json:"feature_half,omitempty"`
	// MemLimit, FeatureCache and CacheDir say where Fit keeps the training
	// features: they change how much memory training takes, never the
	// model, and are not recorded in it.
	//
	// MemLimit is the memory budget of training in bytes (0:
	// DefaultMemLimit): the features and embeddings are cached in memory
	// while they fit in it beside what the process already holds, on
	// disk otherwise (with FeatureCache CacheAuto).
	MemLimit int64 `json:"-"`
	// FeatureCache is where the features and embeddings are cached: auto
	// (the default, ""), memory or disk.
	FeatureCache FeatureCache `json:"-"`
	// CacheDir is the folder of the disk cache's temporary files ("":
	// os.TempDir()).
	CacheDir string `json:"-"`
}

// DefaultMemLimit is the memory budget of training when Options.MemLimit
// is 0: 4 GiB.
const DefaultMemLimit = 4 << 30

// FeatureCache is where Fit keeps the patch features of the training images
// (and ReConPatch's embeddings of them) between extraction, head training
// and the coreset.
type FeatureCache string

// The feature caches.
const (
	// CacheAuto keeps the caches in memory while they fit in
	// Options.MemLimit, on disk otherwise.
	CacheAuto FeatureCache = "auto"
	// CacheMemory keeps them in memory whatever their size.
	CacheMemory FeatureCache = "memory"
	// CacheDisk writes them to temporary files in Options.CacheDir and
	// streams them from there: training then holds O(1) features per
	// image in memory, and the coreset's projected rows (n×128 float32).
	CacheDisk FeatureCache = "disk"
)

// ParseFeatureCache parses auto, memory or disk ("" is auto).
func ParseFeatureCache(s string) (FeatureCache, error) {
	switch c := FeatureCache(strings.ToLower(strings.TrimSpace(s))); c {
	case "", CacheAuto:
		return CacheAuto, nil
	case CacheMemory, CacheDisk:
		return c, nil
	}
	return "", fmt.Errorf("reconpatch: unknown feature cache %q (want auto, memory or disk)", s)
}

// memLimit is the memory budget in bytes.
func (o Options) memLimit() int64 {
	if o.MemLimit > 0 {
		return o.MemLimit
	}
	return DefaultMemLimit
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
	if o.MemLimit < 0 {
		return fmt.Errorf("reconpatch: memory limit %d < 0", o.MemLimit)
	}
	if _, err := ParseFeatureCache(string(o.FeatureCache)); err != nil {
		return err
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
