package head

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/nn/optim"
	"github.com/reconpatch/rp/reconpatch/loss"
	"github.com/reconpatch/rp/tensor"
)

// ErrDiverged is wrapped by the error of a step whose loss or updated
// weights are not finite.
var ErrDiverged = errors.New("training diverged")

// batchStream is the PCG stream of the batch sampler.
const batchStream = 0x6865_6164_6261_7463 // "headbatc"

// StepStats describes one training step.
type StepStats struct {
	// Loss is the relaxed contrastive loss of the batch, before the update.
	Loss float64
	// Labels are the soft labels' diagnostics: the median squared distance
	// between the EMA embeddings z̄ (after normalisation, if set), the σ
	// used, and the mean w^pair and w^ctx off the diagonal.
	Labels loss.Stats
}

// EpochStats describes one epoch, for the progress callback of Train.
// Means are over the epoch's steps. A collapse of the EMA embeddings shows
// as MedianSqDist falling and MeanPair rising towards 1 (section 14).
type EpochStats struct {
	Epoch  int // 1-based
	Epochs int // the configured number of epochs
	Steps  int // steps in this epoch
	// Loss is the mean loss of the epoch's steps.
	Loss float64
	// LR is the learning rate the epoch ran at.
	LR float64
	// MedianSqDist is the mean over steps of the batch median of
	// ‖z̄ᵢ − z̄ⱼ‖² (of the normalised z̄ when NormalizeZbar is set).
	MedianSqDist float64
	// Sigma is the mean σ of w^pair (varies only with AdaptiveSigma).
	Sigma float64
	// MeanPair and MeanCtx are the mean soft labels w^pair and w^ctx off
	// the diagonal.
	MeanPair, MeanCtx float64
	// Elapsed is the time since training started.
	Elapsed time.Duration
}

// String formats the statistics on one line for a training log.
func (s EpochStats) String() string {
	return fmt.Sprintf("epoch %d/%d: loss %.5f, lr %.3g, median ‖z̄ᵢ−z̄ⱼ‖² %.4g, σ %.3g, mean w_pair %.4f, mean w_ctx %.4f, %d steps, %v",
		s.Epoch, s.Epochs, s.Loss, s.LR, s.MedianSqDist, s.Sigma, s.MeanPair, s.MeanCtx, s.Steps, s.Elapsed.Round(time.Millisecond))
}

// History is the record of a training run.
type History struct {
	Epochs []EpochStats // one per completed epoch
	Steps  int          // optimiser steps taken
}

// Trainer runs the training steps of one head: it owns the optimiser, the
// learning-rate schedule and the EMA network f̄, ḡ. Train drives it over a
// FeatureSource; tests and custom loops call Step and EndEpoch directly.
// A Trainer is used by one goroutine at a time.
type Trainer struct {
	cfg   TrainConfig
	head  *Head // online f, g: updated in place
	bar   *Head // f̄, ḡ: the EMA's shadow parameters
	ema   *optim.EMA
	opt   optim.Optimizer
	sched *optim.Cosine // nil for a constant rate
	lopt  loss.Options
	tape  *autograd.Tape
	steps int
}

// NewTrainer returns a trainer of h, which it updates in place, with the
// optimiser, schedule, EMA and loss options of cfg (cfg.Init is ignored).
// The EMA copies f̄, ḡ start equal to h's f, g. h's widths must be
// cfg.FDim and cfg.GDim.
func NewTrainer(h *Head, cfg TrainConfig) (*Trainer, error) {
	cfg.Init = nil
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if h == nil || h.F == nil {
		return nil, errors.New("head: NewTrainer: nil head")
	}
	if h.G == nil {
		return nil, fmt.Errorf("head: NewTrainer: %w", errNoG)
	}
	if h.FDim() != cfg.FDim || h.GDim() != cfg.GDim {
		return nil, fmt.Errorf("head: NewTrainer: %v but the config has FDim = %d, GDim = %d", h, cfg.FDim, cfg.GDim)
	}
	params := h.Params()
	t := &Trainer{cfg: cfg, head: h, lopt: cfg.LossOptions(), tape: autograd.NewTape()}
	t.ema = optim.NewEMA(params, cfg.EMADecay)
	sh := t.ema.Shadow()
	t.bar = &Head{F: &autograd.Linear{W: sh[0], B: sh[1]}, G: &autograd.Linear{W: sh[2], B: sh[3]}}
	switch cfg.Optimizer {
	case OptAdamP:
		t.opt = optim.NewAdamP(params, optim.AdamPConfig{LR: cfg.LR, Betas: cfg.Betas, Eps: cfg.Eps,
			WeightDecay: cfg.WeightDecay, Delta: cfg.Delta, WDRatio: cfg.WDRatio})
	case OptAdam, OptAdamW:
		ac := optim.AdamConfig{LR: cfg.LR, Betas: cfg.Betas, Eps: cfg.Eps, WeightDecay: cfg.WeightDecay}
		if cfg.Optimizer == OptAdam {
			t.opt = optim.NewAdam(params, ac)
		} else {
			t.opt = optim.NewAdamW(params, ac)
		}
	case OptSGD:
		t.opt = optim.NewSGD(params, optim.SGDConfig{LR: cfg.LR, Momentum: cfg.Momentum, WeightDecay: cfg.WeightDecay})
	}
	if cfg.Schedule == ScheduleCosine {
		t.sched = optim.NewCosine(t.opt, max(cfg.Epochs, 1), cfg.MinLR)
	}
	return t, nil
}

// Head returns the online head f, g being trained.
func (t *Trainer) Head() *Head { return t.head }

// EMA returns the similarity network f̄, ḡ. Its parameters are the EMA's
// own and change with every step; Clone it to keep a snapshot.
func (t *Trainer) EMA() *Head { return t.bar }

// LR is the learning rate of the next step.
func (t *Trainer) LR() float64 { return t.opt.LR() }

// Steps is the number of optimiser steps taken.
func (t *Trainer) Steps() int { return t.steps }

// Step runs one training step on the batch x [N D_in] of patch features:
//
//  1. z̄ = ḡ(f̄(x)) on the EMA network, no gradient;
//  2. soft labels w from z̄ (section 6.1–6.3), no gradient;
//  3. z = g(f(x)) on the online network, recorded on the tape;
//  4. the relaxed contrastive loss of z with w (section 6.4) and its
//     backward pass into f and g (the biases' gradients are exactly zero,
//     since the loss depends only on differences of z; they are set so);
//  5. the optimiser step (then the gradients are dropped);
//  6. the EMA update θ̄ ← γ·θ̄ + (1 − γ)·θ.
//
// If x holds a NaN or ±Inf, or the loss is not finite, nothing is updated;
// if the updated weights are not finite the head is left as it is
// (unusable). All three return an error wrapping ErrDiverged that names the
// likely cause: non-finite input features, features too large, collapsed
// embeddings or too high a learning rate.
func (t *Trainer) Step(x *tensor.Tensor) (StepStats, error) {
	in := t.head.InDim()
	if x.Dims() != 2 || x.Dim(1) != in || x.Dim(0) < 2 {
		return StepStats{}, fmt.Errorf("head: Step: batch of shape %v: need [N %d] with N ≥ 2", x.Shape(), in)
	}
	x = x.Contiguous()
	if i := firstNonFinite(x.Data()); i >= 0 {
		return StepStats{}, &featureError{row: i / in, col: i % in, v: x.Data()[i]}
	}
	xv := autograd.NewConst(x)
	var zbar *tensor.Tensor // [N D_g]
	t.tape.NoGrad(func() { zbar = t.bar.G.Forward(t.tape, t.bar.F.Forward(t.tape, xv)).Value })
	w, ls := loss.SoftLabels(zbar, t.lopt) // [N N]
	z := t.head.G.Forward(t.tape, t.head.F.Forward(t.tape, xv))
	l := loss.RelaxedContrastive(t.tape, z, w, t.cfg.Margin)
	st := StepStats{Loss: l.Item(), Labels: ls}
	if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) {
		t.tape.Reset()
		return st, fmt.Errorf("head: loss is %v: %w: %s", st.Loss, ErrDiverged, t.diagnoseLoss(ls, x))
	}
	t.tape.Backward(l)
	// The loss sees z only through the differences z_i − z_j, so
	// Σ_i ∂L/∂z_i = 0 and the exact gradients of both biases (Σ_i ∂L/∂z_i
	// and W_gᵀ·Σ_i ∂L/∂z_i) are zero. Computed, they are float32 rounding
	// noise, which Adam's normalisation would turn into steps of about lr
	// (with eps = 1e-8); use the exact zero instead. The biases still decay.
	for _, b := range []*autograd.Var{t.head.F.B, t.head.G.B} {
		if b.Grad == nil {
			b.Grad = tensor.New(b.Shape()...)
		}
		clear(b.Grad.Data())
	}
	t.opt.Step()
	t.opt.ZeroGrad()
	t.steps++
	for _, p := range t.head.Params() {
		if i := firstNonFinite(p.Value.Data()); i >= 0 {
			return st, fmt.Errorf("head: %s[%d] = %v after the update: %w: "+
				"the learning rate %.3g is likely too high: lower it (batch median ‖z̄ᵢ−z̄ⱼ‖² = %.3g, mean w_pair = %.3g)",
				p.Name, i, p.Value.Data()[i], ErrDiverged, t.opt.LR(), ls.MedianSqDist, ls.MeanPair)
		}
	}
	t.ema.Update()
	return st, nil
}

// diagnoseLoss names the likely cause of a non-finite loss on the finite
// batch x.
func (t *Trainer) diagnoseLoss(ls loss.Stats, x *tensor.Tensor) string {
	labels := fmt.Sprintf("batch median ‖z̄ᵢ−z̄ⱼ‖² = %.3g, mean w_pair = %.3g", ls.MedianSqDist, ls.MeanPair)
	if t.steps == 0 {
		var big float32
		for _, v := range x.Data() {
			big = max(big, v, -v)
		}
		return fmt.Sprintf("on the first step, before any update, so not the learning rate: "+
			"the features are likely too large (largest |x| = %.3g; %s)", big, labels)
	}
	if ls.MedianSqDist == 0 || ls.MeanPair > 0.999 {
		return fmt.Sprintf("the EMA embeddings collapsed (%s): try NormalizeZbar or AdaptiveSigma, or a lower learning rate than %.3g",
			labels, t.opt.LR())
	}
	return fmt.Sprintf("the learning rate %.3g is likely too high: lower it (%s)", t.opt.LR(), labels)
}

// featureError reports a NaN or ±Inf in the batch of a training step.
type featureError struct {
	row, col int // in the batch
	v        float32
}

func (e *featureError) Error() string {
	return fmt.Sprintf("head: batch row %d, feature %d is %v: %v: the input features are not finite "+
		"(check the images, the backbone weights and any feature cache)", e.row, e.col, e.v, ErrDiverged)
}

func (e *featureError) Unwrap() error { return ErrDiverged }

// EndEpoch advances the learning-rate schedule by one epoch.
func (t *Trainer) EndEpoch() {
	if t.sched != nil {
		t.sched.Step()
	}
}

// sampler draws the batches' row indices.
type sampler struct {
	rng   *rand.Rand
	perm  []int
	batch int // rows per batch in the random mode
	steps int // steps per epoch
	full  bool
	pos   int // next unused position of perm (random mode)

	// Image mode (TrainConfig.BatchImages > 0): each batch is drawn from
	// the rows of per images taken in turn from a shuffled image order.
	per, imageRows int
	images         []int // shuffled image order
	ipos           int   // next unused position of images
	pool           []int // the chosen images' rows, the batch first
}

func newSampler(n int, cfg TrainConfig) *sampler {
	s := &sampler{rng: rand.New(rand.NewPCG(cfg.Seed, batchStream)), perm: make([]int, n), batch: min(cfg.Batch, n)}
	for i := range s.perm {
		s.perm[i] = i
	}
	if cfg.StepsPerEpoch == 0 {
		s.full = true
		s.steps = (n + cfg.Batch - 1) / cfg.Batch
	} else {
		s.steps = cfg.StepsPerEpoch
		s.pos = n // shuffle before the first batch
	}
	if cfg.BatchImages > 0 {
		s.full = false
		s.imageRows = cfg.ImagePatches
		nimg := (n + s.imageRows - 1) / s.imageRows
		s.per = min(cfg.BatchImages, nimg)
		s.images = make([]int, nimg)
		for i := range s.images {
			s.images[i] = i
		}
		s.ipos = nimg
		s.pool = make([]int, 0, s.per*s.imageRows)
	}
	return s
}

func (s *sampler) shuffle() {
	s.rng.Shuffle(len(s.perm), func(i, j int) { s.perm[i], s.perm[j] = s.perm[j], s.perm[i] })
}

// startEpoch reshuffles for a full pass.
func (s *sampler) startEpoch() {
	if s.full {
		s.shuffle()
	}
}

// next returns the indices of step k of the epoch. In a full pass the
// shuffled rows are split into s.steps slices of near-equal size (the
// sizes differ by at most one, so no batch is a small remainder); in the
// random mode batches are consecutive slices of a permutation that is
// reshuffled when fewer than a batch of rows is left.
func (s *sampler) next(k int) []int {
	n := len(s.perm)
	if s.per > 0 {
		return s.nextFromImages(n)
	}
	if s.full {
		return s.perm[k*n/s.steps : (k+1)*n/s.steps]
	}
	if s.pos+s.batch > n {
		s.shuffle()
		s.pos = 0
	}
	s.pos += s.batch
	return s.perm[s.pos-s.batch : s.pos]
}

// nextFromImages returns a batch of the image mode: the rows of the next
// s.per images of the shuffled image order (reshuffled when fewer than
// s.per are left), and of those a random s.batch without repeats.
func (s *sampler) nextFromImages(n int) []int {
	if s.ipos+s.per > len(s.images) {
		s.rng.Shuffle(len(s.images), func(i, j int) { s.images[i], s.images[j] = s.images[j], s.images[i] })
		s.ipos = 0
	}
	s.pool = s.pool[:0]
	for _, im := range s.images[s.ipos : s.ipos+s.per] {
		for r := im * s.imageRows; r < min((im+1)*s.imageRows, n); r++ {
			s.pool = append(s.pool, r)
		}
	}
	s.ipos += s.per
	b := min(s.batch, len(s.pool))
	for i := range b { // partial Fisher–Yates: the first b of a random permutation
		j := i + s.rng.IntN(len(s.pool)-i)
		s.pool[i], s.pool[j] = s.pool[j], s.pool[i]
	}
	return s.pool[:b]
}

// Train trains a ReConPatch head on the patch features of src (section 7)
// and returns the online head f, g (the network used at inference; the EMA
// copy only produces pseudo-labels) and the per-epoch history.
//
// The head starts from cfg.Init or from New(src.Dim(), cfg.FDim, cfg.GDim,
// cfg.Seed), f replaced by the identity if cfg.FInit says so. Each epoch is
// a full pass over the shuffled rows or cfg.StepsPerEpoch random batches
// (see TrainConfig.StepsPerEpoch); each step is Trainer.Step; the cosine
// schedule advances after every epoch, and progress, if not nil, is called
// with the epoch's statistics.
//
// Train checks ctx before every step. When ctx is done it returns the head
// as trained so far, the history of the completed epochs and an error
// wrapping ctx.Err(). Any other error returns a nil head: an invalid config
// or source, a failed read of the features, or a divergence (an error
// wrapping ErrDiverged that names the epoch and step), after which the
// weights are unusable.
func Train(ctx context.Context, src FeatureSource, cfg TrainConfig, progress func(EpochStats)) (*Head, History, error) {
	var hist History
	if err := cfg.Validate(); err != nil {
		return nil, hist, err
	}
	if src == nil {
		return nil, hist, errors.New("head: Train: nil feature source")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	n, d := src.Len(), src.Dim()
	if n < 2 || d < 1 {
		return nil, hist, fmt.Errorf("head: Train: %d features of width %d: need at least 2 rows", n, d)
	}
	if cfg.BatchImages > 0 && cfg.ImagePatches < 1 {
		return nil, hist, fmt.Errorf("head: Train: BatchImages = %d needs ImagePatches, the rows per image", cfg.BatchImages)
	}
	var h *Head
	if cfg.Init != nil {
		if cfg.Init.InDim() != d {
			return nil, hist, fmt.Errorf("head: Train: Init is %v but the features are %d wide", cfg.Init, d)
		}
		h = cfg.Init.Clone()
	} else {
		var err error
		if h, err = New(d, cfg.FDim, cfg.GDim, cfg.Seed); err != nil {
			return nil, hist, err
		}
		if cfg.FInit == FInitIdentity {
			if cfg.FDim != d {
				return nil, hist, fmt.Errorf("head: Train: FInit %q needs FDim = %d, the feature width, not %d", FInitIdentity, d, cfg.FDim)
			}
			h.F.W.Value.Fill(0)
			w := h.F.W.Value.Data() // [d d]
			for i := range d {
				w[i*d+i] = 1
			}
			h.F.B.Value.Fill(0)
		}
	}
	tr, err := NewTrainer(h, cfg)
	if err != nil {
		return nil, hist, err
	}
	smp := newSampler(n, cfg)
	rows := smp.batch // the largest batch: Batch (or n) in the random mode, ⌈n/steps⌉ in a full pass
	if smp.full {
		rows = (n + smp.steps - 1) / smp.steps
	}
	buf := make([]float32, rows*d)
	start := time.Now()
	for e := range cfg.Epochs {
		smp.startEpoch()
		es := EpochStats{Epoch: e + 1, Epochs: cfg.Epochs, Steps: smp.steps, LR: tr.LR()}
		for k := range smp.steps {
			if err := ctx.Err(); err != nil {
				return h, hist, fmt.Errorf("head: training stopped before step %d/%d of epoch %d/%d: %w", k+1, smp.steps, e+1, cfg.Epochs, err)
			}
			idx := smp.next(k)
			x := buf[:len(idx)*d]
			if err := src.Rows(idx, x); err != nil {
				return nil, hist, fmt.Errorf("head: Train: epoch %d, step %d: reading features: %w", e+1, k+1, err)
			}
			overall := tr.Steps() + 1
			st, err := tr.Step(tensor.FromSlice(x, len(idx), d))
			if err != nil {
				if fe, ok := errors.AsType[*featureError](err); ok {
					where := fmt.Sprintf("row %d of the features", idx[fe.row])
					if cfg.ImagePatches > 0 {
						where += fmt.Sprintf(", image %d", idx[fe.row]/cfg.ImagePatches)
					}
					err = fmt.Errorf("%w (%s)", err, where)
				}
				return nil, hist, fmt.Errorf("head: Train: epoch %d/%d, step %d/%d (step %d overall): %w", e+1, cfg.Epochs, k+1, smp.steps, overall, err)
			}
			es.Loss += st.Loss
			es.MedianSqDist += st.Labels.MedianSqDist
			es.Sigma += st.Labels.Sigma
			es.MeanPair += st.Labels.MeanPair
			es.MeanCtx += st.Labels.MeanCtx
			hist.Steps = tr.Steps()
		}
		inv := 1 / float64(smp.steps)
		es.Loss *= inv
		es.MedianSqDist *= inv
		es.Sigma *= inv
		es.MeanPair *= inv
		es.MeanCtx *= inv
		tr.EndEpoch()
		es.Elapsed = time.Since(start)
		hist.Epochs = append(hist.Epochs, es)
		if progress != nil {
			progress(es)
		}
	}
	return h, hist, nil
}
