package reconpatch

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/reconpatch/rp/backbones"
	"github.com/reconpatch/rp/nn"
	"github.com/reconpatch/rp/reconpatch/imageio"
	"github.com/reconpatch/rp/tensor"
	"github.com/reconpatch/rp/weights"
)

// FormatVersion is the version of the model file this package writes. A
// file of a newer version is refused.
const FormatVersion = 1

// fileKind marks rp model files in their safetensors metadata.
const fileKind = "rp-model"

// Method is the anomaly-detection method a model implements.
type Method string

// The methods: ReConPatch trains a head f on the patch features before the
// memory bank; PatchCore keeps the features as they are.
const (
	MethodReConPatch Method = "reconpatch"
	MethodPatchCore  Method = "patchcore"
)

// ParseMethod accepts the names of the methods.
func ParseMethod(s string) (Method, error) {
	switch m := Method(s); m {
	case MethodReConPatch, MethodPatchCore:
		return m, nil
	}
	return "", fmt.Errorf("reconpatch: unknown method %q (want reconpatch or patchcore)", s)
}

// Stats are the held-out normal images' score statistics a model keeps: the
// modified z-score parameters an ensemble normalises with, and the default
// thresholds derived from them.
type Stats struct {
	HeldOut int // number of held-out good images the statistics come from

	ImageMedian, ImageMAD float64 // of the held-out image scores
	PixelMedian, PixelMAD float64 // of every pixel of their anomaly maps
	// ImageThreshold and PixelThreshold are the default decision
	// thresholds: a score is anomalous when its modified z-score
	// (s − median) / (1.4826·MAD) exceeds ThresholdZ.
	ImageThreshold, PixelThreshold float64
	ThresholdZ                     float64
}

// DefaultThresholdZ is the modified z-score above which a score counts as
// anomalous by default: 3.5, the outlier rule of Iglewicz and Hoaglin (1993).
const DefaultThresholdZ = 3.5

// Model is a trained anomaly detector: the options it was made with, the
// head f (ReConPatch) and the memory bank, with the statistics of held-out
// normal scores. Load it with LoadModel; it is safe for concurrent use once
// loaded.
type Model struct {
	Options       Options
	WeightsSHA256 string // of the backbone weight file(s) the features came from
	Grid          Grid   // patch grid of one image
	InputH        int    // height and width of the backbone input (the crop)
	InputW        int
	FeatureDim    int // length of an aggregated patch feature
	Bank          *MemoryBank
	Stats         Stats

	// f is the representation head (nil for PatchCore): EmbedDim×FeatureDim.
	fWeight, fBias []float32

	backbone backbones.Backbone
	head     nn.Layer
	scorer   *Scorer

	// members are the models of an ensemble (see FitEnsemble); a single
	// model has none.
	members []*Model
}

// EmbedDim is the length of the vectors in the memory bank.
func (m *Model) EmbedDim() int {
	if m.fWeight == nil {
		return m.FeatureDim
	}
	return len(m.fBias)
}

// setHead installs f (out×in weight, out bias) and its inference layer.
func (m *Model) setHead(w, b []float32) error {
	if w == nil {
		m.fWeight, m.fBias, m.head = nil, nil, nil
		return nil
	}
	out := len(b)
	if out == 0 || len(w) != out*m.FeatureDim {
		return fmt.Errorf("reconpatch: head weight of %d values and bias of %d do not fit features of %d", len(w), len(b), m.FeatureDim)
	}
	lin, err := nn.NewLinear(tensor.FromSlice(w, out, m.FeatureDim), tensor.FromSlice(b, out))
	if err != nil {
		return err
	}
	m.fWeight, m.fBias, m.head = w, b, lin
	return nil
}

// modelHeader is the JSON in the file's metadata.
type modelHeader struct {
	Kind          string  `json:"kind"`
	Version       int     `json:"version"`
	Options       Options `json:"options"`
	WeightsSHA256 string  `json:"weights_sha256"`
	Grid          Grid    `json:"grid"`
	InputH        int     `json:"input_h"`
	InputW        int     `json:"input_w"`
	FeatureDim    int     `json:"feature_dim"`
	Stats         Stats   `json:"stats"`
}

// Save writes the model to path as one safetensors file (the memory bank,
// f's weight and bias — each member's, for an ensemble; everything else as
// JSON in its metadata), atomically: a failure or a kill leaves the old file
// or the new one.
func (m *Model) Save(path string) error {
	sd, meta, err := m.encode()
	if err != nil {
		return err
	}
	if err := weights.SaveSafetensors(path, sd, meta, weights.PerTensor); err != nil {
		return fmt.Errorf("reconpatch: saving model %s: %w", path, err)
	}
	return nil
}

// encode returns the tensors and the metadata of the model's file.
func (m *Model) encode() (*weights.StateDict, map[string]string, error) {
	if len(m.members) > 0 {
		return m.encodeEnsemble()
	}
	js, err := json.Marshal(m.header())
	if err != nil {
		return nil, nil, fmt.Errorf("reconpatch: encoding the model header: %w", err)
	}
	sd := weights.NewStateDict()
	m.addTensors(sd, "")
	return sd, fileMetadata(js), nil
}

// header is the model's JSON header.
func (m *Model) header() modelHeader {
	return modelHeader{
		Kind: fileKind, Version: FormatVersion, Options: m.Options, WeightsSHA256: m.WeightsSHA256,
		Grid: m.Grid, InputH: m.InputH, InputW: m.InputW, FeatureDim: m.FeatureDim, Stats: m.Stats,
	}
}

// addTensors adds the bank and f to sd, names prefixed.
func (m *Model) addTensors(sd *weights.StateDict, prefix string) {
	bank := tensor.FromSlice(m.Bank.Float32(), m.Bank.Len(), m.Bank.Dim())
	if m.Bank.Precision() == Float16 {
		sd.SetAs(prefix+"bank", bank, weights.F16)
	} else {
		sd.Set(prefix+"bank", bank)
	}
	if m.fWeight != nil {
		sd.Set(prefix+"f.weight", tensor.FromSlice(m.fWeight, len(m.fBias), m.FeatureDim))
		sd.Set(prefix+"f.bias", tensor.FromSlice(m.fBias, len(m.fBias)))
	}
}

// fileMetadata is the safetensors metadata of a model file with the given
// JSON header.
func fileMetadata(header []byte) map[string]string {
	return map[string]string{"rp": string(header), "format_version": strconv.Itoa(FormatVersion)}
}

// checkVersion refuses model files of other format versions.
func checkVersion(path string, v int) error {
	switch {
	case v > FormatVersion:
		return fmt.Errorf("reconpatch: %s: model format version %d; this rp reads versions 1 to %d (a newer rp wrote it: upgrade rp)", path, v, FormatVersion)
	case v < 1:
		return fmt.Errorf("reconpatch: %s: model format version %d is not a valid version (this rp reads 1 to %d)", path, v, FormatVersion)
	}
	return nil
}

// LoadModel reads a model file written by Save. It refuses files that are
// not rp models, come from a newer format version, or whose header is
// inconsistent with its tensors or out of range.
// The backbone is not loaded until it is needed (see UseBackbone), which
// checks the weights' sha256 against the one recorded at training.
func LoadModel(path string) (*Model, error) {
	sd, err := weights.LoadSafetensors(path)
	if err != nil {
		return nil, fmt.Errorf("reconpatch: loading model: %w", err)
	}
	return modelFromStateDict(path, sd)
}

// modelFromStateDict builds a model, single or ensemble, from the tensors
// and metadata of a model file; path is used in errors only.
func modelFromStateDict(path string, sd *weights.StateDict) (*Model, error) {
	raw, ok := sd.Metadata["rp"]
	if !ok {
		return nil, fmt.Errorf("reconpatch: %s is a safetensors file but not an rp model (no \"rp\" metadata)", path)
	}
	// Kind and version first: a newer version may change the rest.
	var kind struct {
		Kind    string `json:"kind"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal([]byte(raw), &kind); err != nil {
		return nil, fmt.Errorf("reconpatch: %s: model header: %w", path, err)
	}
	if kind.Kind == fileKind || kind.Kind == ensembleKind {
		if err := checkVersion(path, kind.Version); err != nil {
			return nil, err
		}
	}
	switch kind.Kind {
	case fileKind:
	case ensembleKind:
		return loadEnsemble(path, raw, sd)
	default:
		return nil, fmt.Errorf("reconpatch: %s: not an rp model (kind %q)", path, kind.Kind)
	}
	var h modelHeader
	if err := json.Unmarshal([]byte(raw), &h); err != nil {
		return nil, fmt.Errorf("reconpatch: %s: model header: %w", path, err)
	}
	return fromHeader(path, h, sd, "")
}

// fromHeader builds a single model from its header and its tensors in sd
// (names prefixed).
func fromHeader(path string, h modelHeader, sd *weights.StateDict, prefix string) (*Model, error) {
	if err := checkVersion(path, h.Version); err != nil {
		return nil, err
	}
	if err := checkHeader(path, h); err != nil {
		return nil, err
	}
	m := &Model{
		Options: h.Options, WeightsSHA256: h.WeightsSHA256, Grid: h.Grid,
		InputH: h.InputH, InputW: h.InputW, FeatureDim: h.FeatureDim, Stats: h.Stats,
	}
	bank := sd.Get(prefix + "bank")
	if bank == nil || bank.Dims() != 2 {
		return nil, fmt.Errorf("reconpatch: %s: no 2-D memory bank %q", path, prefix+"bank")
	}
	prec := Float32
	if sd.DType(prefix+"bank") == weights.F16 {
		prec = Float16
	}
	var err error
	if m.Bank, err = NewMemoryBank(bank.Data(), bank.Dim(0), bank.Dim(1), prec); err != nil {
		return nil, fmt.Errorf("reconpatch: %s: %w", path, err)
	}
	if w, b := sd.Get(prefix+"f.weight"), sd.Get(prefix+"f.bias"); w != nil || b != nil {
		if w == nil || b == nil || w.Dims() != 2 || b.Dims() != 1 {
			return nil, fmt.Errorf("reconpatch: %s: incomplete head f (need f.weight and f.bias)", path)
		}
		if err := m.setHead(w.Data(), b.Data()); err != nil {
			return nil, fmt.Errorf("reconpatch: %s: %w", path, err)
		}
	}
	if m.EmbedDim() != m.Bank.Dim() {
		return nil, fmt.Errorf("reconpatch: %s: memory bank rows of %d do not match embeddings of %d", path, m.Bank.Dim(), m.EmbedDim())
	}
	if m.scorer, err = NewScorer(m.Bank, m.Options.Score); err != nil {
		return nil, fmt.Errorf("reconpatch: %s: %w", path, err)
	}
	return m, nil
}

// checkHeader refuses a model header whose values a valid model cannot
// have: invalid options (a batch of 0 would never end a loop), and input
// sizes, patch grid or feature length out of range, which would make
// scoring allocate without bound or index out of range. An input size and
// grid of 0×0 are unset: the first image scored fixes them.
func checkHeader(path string, h modelHeader) error {
	if err := h.Options.Validate(); err != nil {
		return fmt.Errorf("reconpatch: %s: model options: %w", path, err)
	}
	if in := int64(h.InputH) * int64(h.InputW); (h.InputH != 0 || h.InputW != 0) && (h.InputH < 1 || h.InputW < 1 || in > imageio.DefaultMaxPixels) {
		return fmt.Errorf("reconpatch: %s: input size %d×%d is not between 1×1 and %d pixels", path, h.InputW, h.InputH, imageio.DefaultMaxPixels)
	}
	for _, s := range []int{h.Options.Resize, h.Options.Crop} {
		if int64(s)*int64(s) > imageio.DefaultMaxPixels {
			return fmt.Errorf("reconpatch: %s: resize %d, crop %d: images of more than %d pixels", path, h.Options.Resize, h.Options.Crop, imageio.DefaultMaxPixels)
		}
	}
	if g := h.Grid; g != (Grid{}) && (g.H < 1 || g.W < 1 || h.InputH > 0 && (g.H > h.InputH || g.W > h.InputW)) {
		return fmt.Errorf("reconpatch: %s: patch grid %d×%d does not fit the input of %d×%d", path, g.W, g.H, h.InputW, h.InputH)
	}
	if h.FeatureDim < 1 || h.FeatureDim > maxHeaderDim {
		return fmt.Errorf("reconpatch: %s: feature length %d is not in 1..%d", path, h.FeatureDim, maxHeaderDim)
	}
	o := h.Options
	f := o.Features
	switch {
	case f.PatchSize > maxPatchSize:
		return fmt.Errorf("reconpatch: %s: patch size %d > %d", path, f.PatchSize, maxPatchSize)
	case f.PretrainDim > maxHeaderDim || f.TargetDim > maxHeaderDim:
		return fmt.Errorf("reconpatch: %s: feature dimensions pretrain %d, target %d: more than %d", path, f.PretrainDim, f.TargetDim, maxHeaderDim)
	case o.ProjectionDim < 0 || o.ProjectionDim > maxHeaderDim || o.StartPoints < 0 || o.StartPoints > maxHeaderDim:
		return fmt.Errorf("reconpatch: %s: coreset projection %d, start points %d: not in 0..%d", path, o.ProjectionDim, o.StartPoints, maxHeaderDim)
	case o.MapSigma > maxMapSigma:
		return fmt.Errorf("reconpatch: %s: map sigma %v > %v", path, o.MapSigma, maxMapSigma)
	}
	return nil
}

// Limits on the sizes a model file's header may declare, far above any
// trained model's, so that a damaged or crafted file cannot make scoring
// allocate without bound.
const (
	maxHeaderDim = 1 << 16 // feature length, pooled lengths, coreset projection
	maxPatchSize = 63      // the patch neighbourhood k (3 by default)
	maxMapSigma  = 1000    // the anomaly map's Gaussian σ, in pixels (4 by default)
)

// UseBackbone loads the model's backbone from weightsPath (empty: the path
// recorded at training, or the default install for keras_resnet50) and
// checks that its weights are the ones the model was trained with.
func (m *Model) UseBackbone(weightsPath string) error {
	if len(m.members) > 0 {
		return m.useEnsembleBackbones(weightsPath)
	}
	if weightsPath == "" {
		weightsPath = m.Options.Weights
	}
	// The digest is checked before the backbone is built: other weights
	// are refused without reading them as a network.
	weightsPath, digest, err := weightsOf(m.Options.Backbone, weightsPath)
	if err != nil {
		return err
	}
	if m.WeightsSHA256 != "" && digest != m.WeightsSHA256 {
		return fmt.Errorf("reconpatch: the %s weights given (%s, sha256 %.12s…) are not the ones this model was trained with (sha256 %.12s…)", m.Options.Backbone, weightsPath, digest, m.WeightsSHA256)
	}
	bb, err := backbones.Load(m.Options.Backbone, weightsPath)
	if err != nil {
		return err
	}
	m.backbone = bb
	return nil
}

// loadBackbone loads a backbone and the sha256 of its weight files.
func loadBackbone(name, weightsPath string) (backbones.Backbone, string, error) {
	weightsPath, digest, err := weightsOf(name, weightsPath)
	if err != nil {
		return nil, "", err
	}
	bb, err := backbones.Load(name, weightsPath)
	if err != nil {
		return nil, "", err
	}
	return bb, digest, nil
}

// weightsOf resolves a backbone's weight path (empty: the default install
// of keras_resnet50) and returns it with the sha256 of its files.
func weightsOf(name, weightsPath string) (string, string, error) {
	if name == backbones.KerasResNet50 && weightsPath == "" {
		p, err := weights.FindKerasResNet50()
		if err != nil {
			return "", "", err
		}
		weightsPath = p
	}
	digest, err := weightsDigest(weightsPath)
	if err != nil {
		return "", "", err
	}
	return weightsPath, digest, nil
}

// weightsDigest is the sha256 of a weight file, or of a TF.js model: its
// model.json followed by the other files of its folder in name order.
func weightsDigest(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("reconpatch: weights: %w", err)
	}
	files := []string{path}
	if st.IsDir() || filepath.Ext(path) == ".json" {
		dir := path
		if !st.IsDir() {
			dir = filepath.Dir(path)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return "", fmt.Errorf("reconpatch: weights: %w", err)
		}
		files = []string{filepath.Join(dir, "model.json")}
		var rest []string
		for _, e := range entries {
			if e.Type().IsRegular() && e.Name() != "model.json" {
				rest = append(rest, filepath.Join(dir, e.Name()))
			}
		}
		sort.Strings(rest)
		files = append(files, rest...)
	}
	h := sha256.New()
	for _, f := range files {
		if err := hashFile(h, f); err != nil {
			return "", fmt.Errorf("reconpatch: weights: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// preprocess is the image preprocessing of the model's options.
func (o Options) preprocess() imageio.Preprocess {
	return imageio.Preprocess{Resize: o.Resize, Crop: o.Crop, Stretch: o.Stretch}
}

var errNoBackbone = errors.New("reconpatch: the model's backbone is not loaded (call UseBackbone)")
