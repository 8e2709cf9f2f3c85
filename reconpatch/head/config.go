package head

import (
	"errors"
	"fmt"
	"math"

	"github.com/reconpatch/rp/reconpatch/loss"
)

// Optimiser names for TrainConfig.Optimizer.
const (
	OptAdamP = "adamp" // AdamP, decoupled weight decay (the paper's choice)
	OptAdam  = "adam"  // Adam, L2 weight decay added to the gradient
	OptAdamW = "adamw" // AdamW, decoupled weight decay
	OptSGD   = "sgd"   // SGD with Momentum, L2 weight decay
)

// Learning-rate schedules for TrainConfig.Schedule.
const (
	// ScheduleCosine is PyTorch's CosineAnnealingLR with T_max = Epochs,
	// stepped once per epoch: epoch e (from 0) runs at
	// MinLR + (LR − MinLR)·(1 + cos(π·e/Epochs))/2.
	ScheduleCosine = "cosine"
	// ScheduleConstant keeps LR throughout.
	ScheduleConstant = "constant"
)

// How f is initialised (TrainConfig.FInit).
const (
	FInitRandom   = "random"
	FInitIdentity = "identity"
)

// TrainConfig holds every hyper-parameter of training. Start from
// DefaultTrainConfig, the project defaults of section 12 of the
// specification; the zero value is not valid. The JSON form is meant to be
// recorded in the model file.
type TrainConfig struct {
	// FDim and GDim are the widths of f and g (512 and 256; f 384 for an
	// ensemble member). The input width comes from the features.
	FDim int `json:"f_dim"`
	GDim int `json:"g_dim"`
	// FInit is how f starts (unless Init is set): FInitRandom ("" means
	// the same) is PyTorch's nn.Linear initialisation, so the untrained f
	// is a random projection; FInitIdentity starts f as the identity map
	// (FDim must equal the feature width), so the untrained control is
	// PatchCore itself and training moves away from it. g is random either
	// way.
	FInit string `json:"f_init,omitempty"`

	// Epochs is the number of epochs, also T_max of the cosine schedule
	// (120; 60 for an ensemble). 0 trains nothing: the head keeps its
	// seeded initialisation, f a random projection — the untrained control
	// that section 14 asks to report beside every trained result.
	Epochs int `json:"epochs"`
	// Batch is the number of patch features per step, N (512).
	Batch int `json:"batch"`
	// StepsPerEpoch is 0 for an epoch that visits every patch once, in
	// ⌈Len/Batch⌉ shuffled batches of near-equal size; otherwise each epoch
	// is this many random batches of Batch patches (a fixed budget: section
	// 14 used 140, 13 % of a full pass). The random batches are consecutive
	// slices of a shuffled permutation of all patches, reshuffled when it
	// runs out, so no patch repeats within a batch and every patch is seen
	// once per ⌈Len/Batch⌉ steps.
	StepsPerEpoch int `json:"steps_per_epoch"`
	// BatchImages is how a batch is formed. 0 (section 12) draws its Batch
	// rows from all patches; n > 0 draws them from the patches of n images
	// chosen at random (every image once before any repeats), so that a
	// batch holds spatial and same-image neighbours and the contextual
	// similarity's k nearest neighbours are close ones. It needs
	// ImagePatches. An epoch still has StepsPerEpoch steps, or ⌈Len/Batch⌉.
	BatchImages int `json:"batch_images,omitempty"`
	// ImagePatches is the number of consecutive feature rows that belong
	// to one image (the grid's H·W); the pipeline sets it. Only BatchImages
	// uses it, and Train refuses BatchImages without it.
	ImagePatches int `json:"image_patches,omitempty"`

	// Optimizer is OptAdamP (default), OptAdam, OptAdamW or OptSGD.
	Optimizer string `json:"optimizer"`
	// LR is the initial learning rate (1e-5; 1e-6 for an ensemble).
	LR float64 `json:"lr"`
	// WeightDecay is decoupled for AdamP and AdamW, an L2 term for Adam
	// and SGD (1e-2).
	WeightDecay float64 `json:"weight_decay"`
	// Betas are Adam's moment decays (0.9, 0.999); Eps its denominator
	// guard (1e-8). Not used by SGD.
	Betas [2]float64 `json:"betas"`
	Eps   float64    `json:"eps"`
	// Delta and WDRatio are AdamP's projection threshold and the weight
	// decay factor of projected parameters (0.1, 0.1).
	Delta   float64 `json:"delta"`
	WDRatio float64 `json:"wd_ratio"`
	// Momentum is SGD's momentum (0.9); only OptSGD uses it.
	Momentum float64 `json:"momentum"`
	// Schedule is ScheduleCosine (default) or ScheduleConstant; MinLR is
	// the cosine's η_min (0).
	Schedule string  `json:"schedule"`
	MinLR    float64 `json:"min_lr"`

	// EMADecay is γ of the similarity network f̄, ḡ: after every
	// optimiser step θ̄ ← γ·θ̄ + (1 − γ)·θ (0.99). f̄, ḡ start equal to f, g.
	EMADecay float64 `json:"ema_decay"`

	// Sigma is σ of w^pair = exp(−‖z̄ᵢ − z̄ⱼ‖²/σ) (1); with AdaptiveSigma
	// σ is multiplied by each batch's median squared distance.
	Sigma         float64 `json:"sigma"`
	AdaptiveSigma bool    `json:"adaptive_sigma"`
	// K is the neighbourhood size of w^ctx, i itself included (5).
	K int `json:"k"`
	// Alpha weighs w^pair against w^ctx (0.5).
	Alpha float64 `json:"alpha"`
	// Margin is m of the relaxed contrastive loss (1).
	Margin float64 `json:"margin"`
	// NormalizeZbar L2-normalises z̄ before the similarities, as STML does.
	//
	// Default true. Section 12 of the specification made σ = 1 on the raw
	// z̄ the default with normalisation as the fallback "if w^pair
	// collapses"; section 14 then observed exactly that collapse (the median
	// squared z̄ distance fell from ~7 to ~0.2, mean w^pair rose from 0.02
	// to 0.73, and the trained head scored below its untrained control on
	// two data sets), while L2-normalising z̄ alone beat both PatchCore and
	// the control on the held-out set. On unit vectors the squared distances
	// lie in [0, 4], so σ = 1 keeps w^pair informative whatever the scale of
	// the embeddings. Set it false (with AdaptiveSigma, say) for the
	// ablations section 14 asks for.
	NormalizeZbar bool `json:"normalize_zbar"`

	// Seed fixes every random choice: the initialisation (unless Init is
	// set) and the batches. The same seed and features on the same machine
	// give the same weights, bit for bit.
	Seed uint64 `json:"seed"`

	// Init, if not nil, is the head training starts from (copied; not
	// modified) instead of a seeded initialisation; its widths must match
	// the features, FDim and GDim.
	Init *Head `json:"-"`
}

// DefaultTrainConfig returns the project defaults: section 12 of the
// specification, with the changes that measured best on magnetic-tile
// (section 14 asks for the best measured setting as the default;
// docs/RESULTS.md has the ablation table, two seeds for the finalists):
// f 512, g 256 (section 12: 128), 30 epochs of 140 random batches of 512
// (section 12: 120 full passes — over an hour on two cores; 120 × 140 steps
// already scored worse), AdamP with lr 1e-5, weight decay 1e-2, betas
// (0.9, 0.999), eps 1e-8, delta 0.1, wd_ratio 0.1, cosine annealing to 0 per
// epoch, EMA γ = 0.99, σ = 1 times each batch's median squared distance on
// L2-normalised z̄ (section 12: a fixed σ on raw z̄, which let w^pair
// collapse towards 1), k = 5, α = 0.5, m = 1, seed 0.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{
		FDim: DefaultFDim, GDim: DefaultGDim,
		Epochs: 30, Batch: 512, StepsPerEpoch: 140,
		Optimizer: OptAdamP, LR: 1e-5, WeightDecay: 1e-2,
		Betas: [2]float64{0.9, 0.999}, Eps: 1e-8, Delta: 0.1, WDRatio: 0.1, Momentum: 0.9,
		Schedule: ScheduleCosine,
		EMADecay: 0.99,
		Sigma:    1, AdaptiveSigma: true, K: 5, Alpha: 0.5, Margin: 1, NormalizeZbar: true,
	}
}

// LossOptions returns the soft-label and loss options of the config.
func (c TrainConfig) LossOptions() loss.Options {
	return loss.Options{Sigma: c.Sigma, AdaptiveSigma: c.AdaptiveSigma, K: c.K, Alpha: c.Alpha,
		Margin: c.Margin, Normalize: c.NormalizeZbar}
}

// Validate reports every invalid value, joined in one error.
func (c TrainConfig) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("head: TrainConfig: "+format, args...))
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if c.FDim < 1 {
		bad("FDim = %d: need ≥ 1", c.FDim)
	}
	if c.GDim < 1 {
		bad("GDim = %d: need ≥ 1", c.GDim)
	}
	if c.Epochs < 0 {
		bad("Epochs = %d: need ≥ 0", c.Epochs)
	}
	if c.Batch < 4 {
		bad("Batch = %d: need ≥ 4", c.Batch)
	}
	if c.StepsPerEpoch < 0 {
		bad("StepsPerEpoch = %d: need ≥ 0 (0 = a full pass)", c.StepsPerEpoch)
	}
	if c.FInit != "" && c.FInit != FInitRandom && c.FInit != FInitIdentity {
		bad("FInit = %q: want %q or %q", c.FInit, FInitRandom, FInitIdentity)
	}
	if c.BatchImages < 0 {
		bad("BatchImages = %d: need ≥ 0 (0 = draw from all patches)", c.BatchImages)
	}
	if c.ImagePatches < 0 {
		bad("ImagePatches = %d: need ≥ 0", c.ImagePatches)
	}
	switch c.Optimizer {
	case OptAdamP, OptAdam, OptAdamW, OptSGD:
	default:
		bad("Optimizer %q: need %q, %q, %q or %q", c.Optimizer, OptAdamP, OptAdam, OptAdamW, OptSGD)
	}
	if !(c.LR > 0) || !finite(c.LR) {
		bad("LR = %v: need a finite value > 0", c.LR)
	}
	if !(c.WeightDecay >= 0) || !finite(c.WeightDecay) {
		bad("WeightDecay = %v: need a finite value ≥ 0", c.WeightDecay)
	}
	if c.Optimizer != OptSGD {
		if !(c.Betas[0] >= 0 && c.Betas[0] < 1 && c.Betas[1] >= 0 && c.Betas[1] < 1) {
			bad("Betas = %v: need values in [0, 1)", c.Betas)
		}
		if !(c.Eps >= 0) || !finite(c.Eps) {
			bad("Eps = %v: need a finite value ≥ 0", c.Eps)
		}
	}
	if c.Optimizer == OptAdamP {
		if !(c.Delta >= 0) || !finite(c.Delta) {
			bad("Delta = %v: need a finite value ≥ 0", c.Delta)
		}
		if !(c.WDRatio >= 0) || !finite(c.WDRatio) {
			bad("WDRatio = %v: need a finite value ≥ 0", c.WDRatio)
		}
	}
	if c.Optimizer == OptSGD && (!(c.Momentum >= 0 && c.Momentum < 1)) {
		bad("Momentum = %v: need a value in [0, 1)", c.Momentum)
	}
	switch c.Schedule {
	case ScheduleCosine:
		if !(c.MinLR >= 0 && c.MinLR <= c.LR) {
			bad("MinLR = %v: need a value in [0, LR = %v]", c.MinLR, c.LR)
		}
	case ScheduleConstant:
	default:
		bad("Schedule %q: need %q or %q", c.Schedule, ScheduleCosine, ScheduleConstant)
	}
	if !(c.EMADecay >= 0 && c.EMADecay <= 1) {
		bad("EMADecay = %v: need a value in [0, 1]", c.EMADecay)
	}
	if !(c.Sigma > 0) || !finite(c.Sigma) {
		bad("Sigma = %v: need a finite value > 0", c.Sigma)
	}
	if c.K < 1 {
		bad("K = %d: need ≥ 1", c.K)
	}
	if !(c.Alpha >= 0 && c.Alpha <= 1) {
		bad("Alpha = %v: need a value in [0, 1]", c.Alpha)
	}
	if !(c.Margin >= 0) || !finite(c.Margin) {
		bad("Margin = %v: need a finite value ≥ 0", c.Margin)
	}
	if c.Init != nil {
		switch {
		case c.Init.G == nil:
			errs = append(errs, fmt.Errorf("head: TrainConfig: Init: %w", errNoG))
		case c.Init.FDim() != c.FDim || c.Init.GDim() != c.GDim:
			bad("Init is %v but FDim = %d, GDim = %d", c.Init, c.FDim, c.GDim)
		}
	}
	return errors.Join(errs...)
}
