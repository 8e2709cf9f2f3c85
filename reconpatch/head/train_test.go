package head_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/reconpatch/head"
	"github.com/reconpatch/rp/reconpatch/loss"
	"github.com/reconpatch/rp/simd"
	"github.com/reconpatch/rp/tensor"
)

// clustered draws n rows of d values from a mixture of c Gaussian clusters
// whose centres lie in a random latent subspace of dimension lat: the
// normal patches of a synthetic "category". It returns the rows [n d] and
// the generator of further rows from the same clusters.
type clusters struct {
	d, lat  int
	basis   []float64 // [lat d]
	centres [][]float64
	spread  float64 // within-cluster std in the latent space
	noise   float64 // isotropic std in the full space
}

func newClusters(rng *rand.Rand, d, lat, c int) *clusters {
	cl := &clusters{d: d, lat: lat, basis: make([]float64, lat*d), spread: 0.35, noise: 0.05}
	for i := range cl.basis {
		cl.basis[i] = rng.NormFloat64() / math.Sqrt(float64(lat))
	}
	for range c {
		cen := make([]float64, lat)
		for i := range cen {
			cen[i] = 2 * rng.NormFloat64()
		}
		cl.centres = append(cl.centres, cen)
	}
	return cl
}

// draw returns n rows; centre overrides the cluster centre when not nil.
func (cl *clusters) draw(rng *rand.Rand, n int, centre []float64) []float32 {
	out := make([]float32, n*cl.d)
	u := make([]float64, cl.lat)
	for r := range n {
		cen := centre
		if cen == nil {
			cen = cl.centres[rng.IntN(len(cl.centres))]
		}
		for i := range u {
			u[i] = cen[i] + cl.spread*rng.NormFloat64()
		}
		row := out[r*cl.d : (r+1)*cl.d]
		for j := range row {
			var s float64
			for i, v := range u {
				s += v * cl.basis[i*cl.d+j]
			}
			row[j] = float32(s + cl.noise*rng.NormFloat64())
		}
	}
	return out
}

// nnAUROC embeds the bank rows and the test rows with h and returns the
// AUROC of the nearest-neighbour distance (in f-space) separating the
// anomalous test rows from the normal ones.
func nnAUROC(h *head.Head, bank, normal, anomal []float32, d int) float64 {
	emb := func(x []float32) ([]float32, int) {
		n := len(x) / d
		out := make([]float32, n*h.FDim())
		h.EmbedRows(out, x, n)
		return out, n
	}
	b, nb := emb(bank)
	score := func(x []float32) []float64 {
		q, nq := emb(x)
		idx, dist := make([]int, nq), make([]float32, nq)
		simd.NearestRows(q, nq, h.FDim(), b, nb, h.FDim(), h.FDim(), idx, dist)
		out := make([]float64, nq)
		for i, v := range dist {
			out[i] = float64(v)
		}
		return out
	}
	return auroc(score(normal), score(anomal))
}

// auroc is P(anomalous score > normal score), ties counting one half.
func auroc(neg, pos []float64) float64 {
	var s float64
	for _, p := range pos {
		for _, n := range neg {
			switch {
			case p > n:
				s++
			case p == n:
				s += 0.5
			}
		}
	}
	return s / float64(len(pos)*len(neg))
}

// synthetic is the data of the usefulness test: 2048 training rows of 64
// values from 8 clusters in a 6-d latent subspace, 256 held-out normal rows
// and 64 anomalous rows from a cluster centred 3 within-cluster standard
// deviations off the centre of a normal one and pushed slightly off the
// latent subspace: close enough that the untrained head's AUROC is about
// 0.86, not 1.
func synthetic() (train, normal, anomal []float32, d int) {
	rng := rand.New(rand.NewPCG(11, 12))
	d = 64
	cl := newClusters(rng, d, 6, 8)
	train = cl.draw(rng, 2048, nil)
	normal = cl.draw(rng, 256, nil)
	dir := make([]float64, cl.lat)
	var nn float64
	for i := range dir {
		dir[i] = rng.NormFloat64()
		nn += dir[i] * dir[i]
	}
	centre := make([]float64, cl.lat)
	for i := range centre {
		centre[i] = cl.centres[0][i] + 3*cl.spread*dir[i]/math.Sqrt(nn)
	}
	anomal = cl.draw(rng, 64, centre)
	off := make([]float64, d) // a fixed direction off the subspace
	for j := range off {
		off[j] = rng.NormFloat64()
	}
	for r := range 64 {
		for j := range d {
			anomal[r*d+j] += float32(0.03 * off[j])
		}
	}
	return
}

// fixedLabelLoss is the relaxed contrastive loss of h's projections of x
// [n d] with the soft labels w.
func fixedLabelLoss(h *head.Head, x []float32, d int, w *tensor.Tensor, cfg head.TrainConfig) float64 {
	z := h.Project(tensor.FromSlice(x, len(x)/d, d))
	return loss.RelaxedContrastive(nil, autograd.NewConst(z), w, cfg.Margin).Item()
}

func smallConfig() head.TrainConfig {
	cfg := head.DefaultTrainConfig()
	cfg.FDim, cfg.GDim = 32, 16
	cfg.Epochs, cfg.Batch, cfg.StepsPerEpoch = 25, 256, 0 // full passes
	cfg.AdaptiveSigma = false
	cfg.LR = 1e-3
	cfg.Seed = 7
	return cfg
}

// TestTrainUseful trains on synthetic clustered data and checks that
// training lowers the loss and that the trained f separates an injected
// anomalous cluster by nearest-neighbour distance at least as well as the
// untrained f (the control of section 14), and well in absolute terms.
//
// The mean loss of an epoch is not comparable across epochs, since the soft
// labels move with the EMA network (with NormalizeZbar it rises here while
// the EMA embeddings contract on the sphere). So the loss is compared with
// fixed labels: those the trained head gives a held-out batch; the trained
// head must fit them better than the untrained one does.
//
// The checks can fail: the AUROC must not fall more than 0.005 below the
// control's (with NormalizeZbar it rises by about 0.003 here; on raw z̄ it
// stays level), and a collapsed f is shown to fail.
func TestTrainUseful(t *testing.T) {
	train, normal, anomal, d := synthetic()
	src, err := head.Float32FeaturesOf(train, d)
	if err != nil {
		t.Fatal(err)
	}
	const floor = 0.8 // absolute AUROC floor (the control is about 0.86)
	useful := func(h *head.Head, control float64) (float64, bool) {
		a := nnAUROC(h, train, normal, anomal, d)
		return a, a >= control-0.005 && a >= floor
	}
	for _, tc := range []struct {
		name      string
		normalize bool
	}{{"normalized", true}, {"raw", false}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := smallConfig()
			cfg.NormalizeZbar = tc.normalize
			untrained, err := head.New(d, cfg.FDim, cfg.GDim, cfg.Seed)
			if err != nil {
				t.Fatal(err)
			}
			control := nnAUROC(untrained, train, normal, anomal, d)
			h, hist, err := head.Train(context.Background(), src, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			first, last := hist.Epochs[0], hist.Epochs[len(hist.Epochs)-1]
			t.Logf("first %v", first)
			t.Logf("last  %v", last)

			w, _ := loss.SoftLabels(h.Project(tensor.FromSlice(normal, len(normal)/d, d)), cfg.LossOptions())
			lt, lu := fixedLabelLoss(h, normal, d, w, cfg), fixedLabelLoss(untrained, normal, d, w, cfg)
			t.Logf("held-out loss with the trained head's labels: trained %.4f, untrained %.4f", lt, lu)
			if !(lt < 0.95*lu) {
				t.Errorf("training did not lower the loss: trained %.4f, untrained %.4f", lt, lu)
			}

			a, ok := useful(h, control)
			t.Logf("NN AUROC of the anomalous cluster: trained %.4f, untrained control %.4f", a, control)
			if !ok {
				t.Errorf("trained AUROC %.4f: need ≥ the untrained %.4f − 0.005 and ≥ %.2f", a, control, floor)
			}
			// The criterion can fail: an f that maps every patch to the
			// same point (a total collapse) scores every patch alike.
			bad := h.Clone()
			clear(bad.F.W.Value.Data())
			if a, ok := useful(bad, control); ok {
				t.Errorf("a collapsed f passes the criterion (AUROC %.4f): the test cannot fail", a)
			}
		})
	}
}

// TestTrainDeterministic trains twice with the same seed, on one and on two
// SGEMM workers, and compares the weights bit for bit; another seed must
// give other weights.
func TestTrainDeterministic(t *testing.T) {
	train, _, _, d := synthetic()
	src, _ := head.Float32FeaturesOf(train[:512*d], d)
	cfg := smallConfig()
	cfg.Epochs, cfg.Batch, cfg.StepsPerEpoch = 3, 128, 3
	run := func(threads int, seed uint64) map[string]*tensor.Tensor {
		old := simd.SetThreads(threads)
		defer simd.SetThreads(old)
		c := cfg
		c.Seed = seed
		h, _, err := head.Train(context.Background(), src, c, nil)
		if err != nil {
			t.Fatal(err)
		}
		return h.Tensors()
	}
	a, b, c := run(1, 5), run(2, 5), run(2, 6)
	for _, n := range head.TensorNames {
		if !slices.Equal(a[n].Data(), b[n].Data()) {
			t.Errorf("%s differs between two runs with the same seed", n)
		}
		if slices.Equal(a[n].Data(), c[n].Data()) {
			t.Errorf("%s is the same for seeds 5 and 6", n)
		}
	}
}

// TestTrainFloat16 checks that a float16 source trains exactly as a float32
// source holding the same (half-rounded) values.
func TestTrainFloat16(t *testing.T) {
	train, _, _, d := synthetic()
	train = train[:300*d]
	h16, _ := head.NewFloat16Features(d)
	if err := h16.Append(train); err != nil {
		t.Fatal(err)
	}
	rounded := make([]float32, len(train))
	idx := make([]int, h16.Len())
	for i := range idx {
		idx[i] = i
	}
	if err := h16.Rows(idx, rounded); err != nil {
		t.Fatal(err)
	}
	h32, _ := head.Float32FeaturesOf(rounded, d)
	cfg := smallConfig()
	cfg.Epochs, cfg.Batch = 2, 100
	a, _, err := head.Train(context.Background(), h16, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := head.Train(context.Background(), h32, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.F.W.Value.Data(), b.F.W.Value.Data()) {
		t.Error("float16 and float32 sources of the same values train differently")
	}
}

// recorder is a FeatureSource that records the batches it is asked for.
type recorder struct {
	head.FeatureSource
	batches [][]int
	cancel  func()
	after   int // cancel after this many batches
}

func (r *recorder) Rows(idx []int, dst []float32) error {
	r.batches = append(r.batches, slices.Clone(idx))
	if r.cancel != nil && len(r.batches) == r.after {
		r.cancel()
	}
	return r.FeatureSource.Rows(idx, dst)
}

// TestTrainBatches checks the batch formation: a full pass visits every row
// once in near-equal batches; random batches never repeat a row within a
// batch and cover every row once per ⌈n/N⌉ steps.
func TestTrainBatches(t *testing.T) {
	train, _, _, d := synthetic()
	const n = 1000
	base, _ := head.Float32FeaturesOf(train[:n*d], d)
	for _, tc := range []struct {
		name          string
		batch, steps  int
		wantSteps     int
		wantSizes     []int
		coverPerEpoch bool
	}{
		{"full pass", 256, 0, 4, []int{250}, true},
		{"full pass, one batch", 4096, 0, 1, []int{1000}, true},
		{"full pass, uneven", 300, 0, 4, []int{250}, true},
		{"full pass, remainder", 333, 0, 4, []int{250}, true},
		{"random", 200, 7, 7, []int{200}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &recorder{FeatureSource: base}
			cfg := smallConfig()
			cfg.Epochs, cfg.Batch, cfg.StepsPerEpoch = 2, tc.batch, tc.steps
			_, hist, err := head.Train(context.Background(), src, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := hist.Epochs[0].Steps; got != tc.wantSteps {
				t.Fatalf("%d steps per epoch, want %d", got, tc.wantSteps)
			}
			for i, b := range src.batches {
				if !slices.Contains(tc.wantSizes, len(b)) {
					t.Fatalf("batch %d has %d rows, want one of %v", i, len(b), tc.wantSizes)
				}
				s := slices.Sorted(slices.Values(b))
				if len(slices.Compact(s)) != len(b) {
					t.Fatalf("batch %d repeats a row", i)
				}
			}
			if tc.coverPerEpoch {
				for e := range 2 {
					var all []int
					for _, b := range src.batches[e*tc.wantSteps : (e+1)*tc.wantSteps] {
						all = append(all, b...)
					}
					sort.Ints(all)
					for i, v := range all {
						if v != i {
							t.Fatalf("epoch %d does not visit every row once", e+1)
						}
					}
				}
				if slices.Equal(src.batches[0], src.batches[tc.wantSteps]) && tc.wantSteps > 1 {
					t.Error("the two epochs have the same first batch: not reshuffled")
				}
			} else { // 5 batches of 200 cover the 1000 rows once
				var all []int
				for _, b := range src.batches[:5] {
					all = append(all, b...)
				}
				sort.Ints(all)
				for i, v := range all {
					if v != i {
						t.Fatal("5 random batches of 200 do not cover the 1000 rows once")
					}
				}
			}
		})
	}
}

func TestTrainProgressAndCancel(t *testing.T) {
	train, _, _, d := synthetic()
	base, _ := head.Float32FeaturesOf(train[:400*d], d)
	cfg := smallConfig()
	cfg.Epochs, cfg.Batch = 4, 100 // 4 steps per epoch

	var seen []head.EpochStats
	_, hist, err := head.Train(context.Background(), base, cfg, func(s head.EpochStats) { seen = append(seen, s) })
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 4 || !slices.Equal(seen, hist.Epochs) || hist.Steps != 16 {
		t.Fatalf("progress saw %d epochs, history %d epochs and %d steps", len(seen), len(hist.Epochs), hist.Steps)
	}
	for i, s := range seen {
		want := cfg.LR * (1 + math.Cos(math.Pi*float64(i)/4)) / 2
		if s.Epoch != i+1 || s.Epochs != 4 || s.Steps != 4 || math.Abs(s.LR-want) > 1e-15 ||
			!(s.MeanPair > 0 && s.MeanPair < 1) || !(s.MeanCtx > 0 && s.MeanCtx < 1) || !(s.MedianSqDist > 0) || s.Elapsed <= 0 {
			t.Errorf("epoch %d: %v (want lr %.3g)", i+1, s, want)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &recorder{FeatureSource: base, cancel: cancel, after: 6} // cancelled during epoch 2
	h, hist, err := head.Train(ctx, src, cfg, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if h == nil || len(hist.Epochs) != 1 || hist.Steps != 6 || len(src.batches) != 6 {
		t.Errorf("after cancelling: head %v, %d epochs, %d steps, %d batches read", h, len(hist.Epochs), hist.Steps, len(src.batches))
	}
	t.Log(err)
}

// TestTrainDiverges checks that a non-finite feature, loss or weight stops
// training with an error naming the step and the likely cause.
func TestTrainDiverges(t *testing.T) {
	train, _, _, d := synthetic()
	for _, tc := range []struct {
		name   string
		mutate func(x []float32, cfg *head.TrainConfig)
		want   []string
	}{
		{"NaN feature", func(x []float32, _ *head.TrainConfig) { x[150*d+3] = float32(math.NaN()) },
			[]string{"feature 3 is NaN", "input features are not finite", "row 150 of the features"}},
		{"Inf feature", func(x []float32, cfg *head.TrainConfig) {
			x[37*d] = float32(math.Inf(-1))
			cfg.ImagePatches = 10
		}, []string{"feature 0 is -Inf", "input features are not finite", "row 37 of the features, image 3"}},
		{"huge features", func(x []float32, _ *head.TrainConfig) {
			for i := range x {
				x[i] *= 1e30
			}
		}, []string{"loss is", "first step", "features are likely too large"}},
		{"huge learning rate", func(_ []float32, cfg *head.TrainConfig) {
			cfg.Optimizer, cfg.LR, cfg.Momentum, cfg.Schedule = head.OptSGD, 1e38, 0, head.ScheduleConstant
		}, []string{"learning rate 1e+38 is likely too high"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := slices.Clone(train[:200*d])
			cfg := smallConfig()
			cfg.Epochs, cfg.Batch = 3, 100
			tc.mutate(x, &cfg)
			src, _ := head.Float32FeaturesOf(x, d)
			h, hist, err := head.Train(context.Background(), src, cfg, nil)
			if !errors.Is(err, head.ErrDiverged) || h != nil {
				t.Fatalf("head %v, error %v: want ErrDiverged", h, err)
			}
			for _, s := range append(tc.want, "epoch 1/3, step") {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if len(hist.Epochs) != 0 {
				t.Errorf("history has %d epochs", len(hist.Epochs))
			}
			t.Log(err)
		})
	}
}

func TestTrainErrors(t *testing.T) {
	train, _, _, d := synthetic()
	src, _ := head.Float32FeaturesOf(train[:100*d], d)
	one, _ := head.Float32FeaturesOf(train[:d], d)
	other, _ := head.New(d+1, 32, 16, 1)
	noG, _ := head.New(d, 32, 16, 1)
	noG.G = nil
	for _, tc := range []struct {
		name   string
		src    head.FeatureSource
		mutate func(*head.TrainConfig)
		want   string
	}{
		{"bad config", src, func(c *head.TrainConfig) { c.Epochs, c.K = -1, 0 }, "Epochs = -1"},
		{"nil source", nil, func(*head.TrainConfig) {}, "nil feature source"},
		{"one row", one, func(*head.TrainConfig) {}, "at least 2 rows"},
		{"init width", src, func(c *head.TrainConfig) { c.Init = other }, "features are 64 wide"},
		{"init without g", src, func(c *head.TrainConfig) { c.Init = noG }, "no projection layer"},
		{"identity f of another width", src, func(c *head.TrainConfig) { c.FInit = head.FInitIdentity }, "FDim = 64, the feature width, not 32"},
		{"unknown f init", src, func(c *head.TrainConfig) { c.FInit = "zeros" }, `FInit = "zeros"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := smallConfig()
			tc.mutate(&cfg)
			h, _, err := head.Train(context.Background(), tc.src, cfg, nil)
			if err == nil || h != nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("head %v, error %v: want one mentioning %q", h, err, tc.want)
			}
		})
	}
}

// TestTrainZeroEpochs checks the untrained control: zero epochs return the
// seeded initialisation unchanged.
func TestTrainZeroEpochs(t *testing.T) {
	src, err := head.Float32FeaturesOf(make([]float32, 64*16), 16)
	if err != nil {
		t.Fatal(err)
	}
	cfg := head.DefaultTrainConfig()
	cfg.FDim, cfg.GDim, cfg.Epochs, cfg.Seed = 8, 4, 0, 7
	h, hist, err := head.Train(context.Background(), src, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	init, err := head.New(16, 8, 4, 7)
	if err != nil {
		t.Fatal(err)
	}
	if hist.Steps != 0 || !tensor.Equal(h.F.W.Value, init.F.W.Value) {
		t.Fatalf("zero epochs: %d steps, weights changed", hist.Steps)
	}
}

// TestTrainIdentityF checks FInitIdentity: untrained, f is the identity
// (the embeddings are the features, so the pipeline is PatchCore); g keeps
// its seeded initialisation; and training moves f.
func TestTrainIdentityF(t *testing.T) {
	train, _, _, d := synthetic()
	src, err := head.Float32FeaturesOf(train[:200*d], d)
	if err != nil {
		t.Fatal(err)
	}
	cfg := smallConfig()
	cfg.FDim, cfg.FInit, cfg.Epochs = d, head.FInitIdentity, 0
	h, _, err := head.Train(context.Background(), src, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.FromSlice(train[:3*d], 3, d)
	if got := h.Embed(x); !tensor.Equal(got, x) {
		t.Fatalf("untrained identity f changed the features: %v", got.Data()[:4])
	}
	init, _ := head.New(d, d, cfg.GDim, cfg.Seed)
	if !tensor.Equal(h.G.W.Value, init.G.W.Value) {
		t.Fatal("g is not its seeded initialisation")
	}
	cfg.Epochs = 2
	h, _, err = head.Train(context.Background(), src, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tensor.Equal(h.Embed(x), x) {
		t.Fatal("training left the identity f unchanged")
	}
}

// TestTrainBatchesFromImages checks BatchImages: every batch comes from the
// rows of BatchImages images, holds no row twice, and consecutive batches
// use every image once before any repeats.
func TestTrainBatchesFromImages(t *testing.T) {
	train, _, _, d := synthetic()
	const n, per = 1000, 100 // 10 images of 100 patches
	base, _ := head.Float32FeaturesOf(train[:n*d], d)
	for _, tc := range []struct {
		name            string
		images, batch   int
		wantRows        int
		wantImagesTotal int // distinct images over the first 10/images batches
	}{
		{"one image, all its rows", 1, 128, 100, 10},
		{"one image, some rows", 1, 64, 64, 10},
		{"two images", 2, 150, 150, 10},
		{"five images", 5, 64, 64, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &recorder{FeatureSource: base}
			cfg := smallConfig()
			cfg.Epochs, cfg.Batch, cfg.StepsPerEpoch = 1, tc.batch, 10
			cfg.BatchImages, cfg.ImagePatches = tc.images, per
			if _, _, err := head.Train(context.Background(), src, cfg, nil); err != nil {
				t.Fatal(err)
			}
			seen := map[int]bool{}
			for i, b := range src.batches {
				if len(b) != tc.wantRows {
					t.Fatalf("batch %d has %d rows, want %d", i, len(b), tc.wantRows)
				}
				imgs := map[int]bool{}
				for _, r := range b {
					imgs[r/per] = true
				}
				if len(imgs) > tc.images {
					t.Fatalf("batch %d draws from %d images, want at most %d", i, len(imgs), tc.images)
				}
				if len(slices.Compact(slices.Sorted(slices.Values(b)))) != len(b) {
					t.Fatalf("batch %d repeats a row", i)
				}
				if i < 10/tc.images {
					for im := range imgs {
						if seen[im] {
							t.Fatalf("image %d used twice before every image was used", im)
						}
						seen[im] = true
					}
				}
			}
			if tc.wantRows == per*tc.images && len(seen) != tc.wantImagesTotal {
				t.Fatalf("the first batches used %d distinct images, want %d", len(seen), tc.wantImagesTotal)
			}
		})
	}
	cfg := smallConfig()
	cfg.BatchImages = 2
	if _, _, err := head.Train(context.Background(), base, cfg, nil); err == nil || !strings.Contains(err.Error(), "ImagePatches") {
		t.Errorf("BatchImages without ImagePatches: err = %v, want one naming ImagePatches", err)
	}
}
