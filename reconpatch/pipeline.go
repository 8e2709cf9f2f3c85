package reconpatch

import (
	"context"
	"fmt"
	"time"

	"github.com/reconpatch/rp/reconpatch/dataset"
	"github.com/reconpatch/rp/reconpatch/imageio"
	"github.com/reconpatch/rp/tensor"
)

// Prediction is one image's result.
type Prediction struct {
	Path  string
	Score float32   // image score: the largest patch score (or re-weighted)
	Map   []float32 // anomaly map, InputH×InputW row-major
}

// Fit trains a model on a data set's normal training images: it holds out
// a seeded share of train/good (or uses validation/good) for the score
// statistics, extracts patch features, trains the head (ReConPatch), keeps
// a coreset of the embeddings as the memory bank, and scores the held-out
// images. The backbone stays loaded in the returned model. Cancelling ctx
// stops the work with ctx's error; nothing is written.
func Fit(ctx context.Context, ds *dataset.Dataset, o Options, rep Reporter) (*Model, error) {
	rep = reporterOrNop(rep)
	if err := o.Validate(); err != nil {
		return nil, err
	}
	bb, digest, err := loadBackbone(o.Backbone, o.Weights)
	if err != nil {
		return nil, err
	}
	m := &Model{Options: o, WeightsSHA256: digest, backbone: bb}
	bankSet, held, err := ds.Split(o.HoldOut, o.Seed)
	if err != nil {
		return nil, err
	}
	if len(bankSet) == 0 {
		return nil, fmt.Errorf("reconpatch: no training images left for the memory bank in %s", ds.Root)
	}

	start := time.Now()
	feats, n, err := m.extract(ctx, samplePaths(bankSet), rep, "features")
	if err != nil {
		return nil, err
	}
	rows := n * m.Grid.Len()
	rep.Logf("features: %d images → %d patches of %d in %v", n, rows, m.FeatureDim, time.Since(start).Round(time.Millisecond))

	emb, d := feats.Data(), m.FeatureDim
	if o.Method == MethodReConPatch {
		start = time.Now()
		o.Head.ImagePatches = m.Grid.Len() // rows per image, for Head.BatchImages
		w, b, err := trainHead(ctx, feats.Data(), m.FeatureDim, o, rep)
		if err != nil {
			return nil, err
		}
		if err := m.setHead(w, b); err != nil {
			return nil, err
		}
		d = m.EmbedDim()
		emb = Embed(m.head, feats.Reshape(rows, m.FeatureDim)).Data()
		rep.Logf("head: trained in %v", time.Since(start).Round(time.Millisecond))
	}
	feats = nil // the bank keeps what it needs

	start = time.Now()
	cc := o.coreset(nil)
	size := cc.CoresetSize(rows)
	rep.Begin("coreset", size, "rows")
	cc.Progress = func(done, _ int) { rep.Update(done) }
	cc.Context = ctx
	prec := Float32
	if o.BankHalf {
		prec = Float16
	}
	bank, _, err := BuildMemoryBank(emb, rows, d, cc, prec)
	if err != nil {
		rep.End("failed")
		return nil, err
	}
	rep.End(fmt.Sprintf("%d of %d patches in %v", bank.Len(), rows, time.Since(start).Round(time.Millisecond)))
	m.Bank = bank
	if m.scorer, err = NewScorer(bank, o.Score); err != nil {
		return nil, err
	}

	if err := m.fitStats(ctx, samplePaths(held), rep); err != nil {
		return nil, err
	}
	return m, nil
}

// fitStats scores the held-out normal images and records their statistics
// and the default thresholds.
func (m *Model) fitStats(ctx context.Context, paths []string, rep Reporter) error {
	m.Stats = Stats{ThresholdZ: DefaultThresholdZ, HeldOut: len(paths)}
	if len(paths) == 0 {
		rep.Logf("no held-out images: no default thresholds (give -threshold when predicting)")
		return nil
	}
	preds, err := m.Predict(ctx, paths, rep)
	if err != nil {
		return err
	}
	img := make([]float32, len(preds))
	var pix []float32
	for i, p := range preds {
		img[i] = p.Score
		pix = append(pix, p.Map...)
	}
	m.Stats.ImageMedian, m.Stats.ImageMAD = Median(img), MedianAbsDeviation(img)
	m.Stats.PixelMedian, m.Stats.PixelMAD = Median(pix), MedianAbsDeviation(pix)
	z := m.Stats.ThresholdZ * MADScale
	m.Stats.ImageThreshold = m.Stats.ImageMedian + z*m.Stats.ImageMAD
	m.Stats.PixelThreshold = m.Stats.PixelMedian + z*m.Stats.PixelMAD
	return nil
}

// Predict scores image files: each image's score and anomaly map at the
// backbone's input size. The model's backbone must be loaded (Fit leaves it
// loaded; after LoadModel call UseBackbone).
func (m *Model) Predict(ctx context.Context, paths []string, rep Reporter) ([]Prediction, error) {
	return m.predict(ctx, len(paths), func(lo, hi int) ([]imageio.RGB, []string, error) {
		imgs, err := m.loadImages(paths[lo:hi])
		return imgs, paths[lo:hi], err
	}, rep)
}

// PredictImages is Predict for decoded images, already preprocessed to the
// model's input size (imageio.Preprocess with the model's options): a
// server scores request bodies without files. Predictions have no Path.
func (m *Model) PredictImages(ctx context.Context, imgs []imageio.RGB, rep Reporter) ([]Prediction, error) {
	for i, img := range imgs {
		if img.W != m.InputW || img.H != m.InputH {
			return nil, fmt.Errorf("reconpatch: image %d is %d×%d, the model takes %d×%d", i, img.W, img.H, m.InputW, m.InputH)
		}
	}
	return m.predict(ctx, len(imgs), func(lo, hi int) ([]imageio.RGB, []string, error) {
		return imgs[lo:hi], make([]string, hi-lo), nil
	}, rep)
}

// predict scores n images that load(lo, hi) supplies batch by batch (with
// their names), single model or ensemble.
func (m *Model) predict(ctx context.Context, n int, load func(lo, hi int) ([]imageio.RGB, []string, error), rep Reporter) ([]Prediction, error) {
	rep = reporterOrNop(rep)
	if len(m.members) > 0 {
		return m.predictEnsemble(ctx, n, load, rep)
	}
	if m.backbone == nil {
		return nil, errNoBackbone
	}
	out := make([]Prediction, 0, n)
	mc := m.Options.mapConfig(m.InputH, m.InputW)
	rep.Begin("scoring", n, "images")
	for lo := 0; lo < n; lo += m.Options.Batch {
		if err := ctx.Err(); err != nil {
			rep.End("stopped")
			return nil, err
		}
		hi := min(lo+m.Options.Batch, n)
		imgs, names, err := load(lo, hi)
		if err != nil {
			rep.End("failed")
			return nil, err
		}
		feats, err := m.featuresOf(imgs)
		if err != nil {
			rep.End("failed")
			return nil, err
		}
		sc, err := m.scorer.Score(Embed(m.head, feats))
		if err != nil {
			rep.End("failed")
			return nil, err
		}
		for i := range imgs {
			out = append(out, Prediction{Path: names[i], Score: sc.Image[i], Map: sc.Map(i, m.Grid, mc)})
		}
		rep.Update(len(out))
	}
	rep.End("")
	return out, nil
}

// extract computes the aggregated patch features of images, N×P×D, in
// batches, and records the grid and sizes in m.
func (m *Model) extract(ctx context.Context, paths []string, rep Reporter, stage string) (*tensor.Tensor, int, error) {
	var all *tensor.Tensor
	rep.Begin(stage, len(paths), "images")
	for lo := 0; lo < len(paths); lo += m.Options.Batch {
		if err := ctx.Err(); err != nil {
			rep.End("stopped")
			return nil, 0, err
		}
		hi := min(lo+m.Options.Batch, len(paths))
		f, err := m.features(paths[lo:hi])
		if err != nil {
			rep.End("failed")
			return nil, 0, err
		}
		if all == nil {
			all = tensor.New(len(paths), f.Dim(1), f.Dim(2))
		}
		copy(all.Data()[lo*f.Dim(1)*f.Dim(2):], f.Data())
		rep.Update(hi)
	}
	rep.End("")
	if all == nil {
		return nil, 0, fmt.Errorf("reconpatch: no images")
	}
	return all, len(paths), nil
}

// features runs one batch of image files through the backbone and the patch
// aggregation: N×P×D. The first batch fixes the model's input size, grid and
// feature length; later images must give the same.
func (m *Model) features(paths []string) (*tensor.Tensor, error) {
	imgs, err := m.loadImages(paths)
	if err != nil {
		return nil, err
	}
	return m.featuresOf(imgs)
}

// loadImages decodes and preprocesses image files; the first image fixes
// the model's input size when it has none yet, later ones must match it.
func (m *Model) loadImages(paths []string) ([]imageio.RGB, error) {
	pre := m.Options.preprocess()
	imgs := make([]imageio.RGB, len(paths))
	for i, p := range paths {
		img, err := imageio.Load(p, pre)
		if err != nil {
			return nil, err
		}
		if m.InputH == 0 {
			m.InputH, m.InputW = img.H, img.W
		}
		if img.H != m.InputH || img.W != m.InputW {
			return nil, fmt.Errorf("reconpatch: %s is %d×%d after preprocessing, the model takes %d×%d: use a crop (or images of one size)", p, img.W, img.H, m.InputW, m.InputH)
		}
		imgs[i] = img
	}
	return imgs, nil
}

// featuresOf runs preprocessed images through the backbone and the patch
// aggregation: N×P×D.
func (m *Model) featuresOf(imgs []imageio.RGB) (*tensor.Tensor, error) {
	x, err := imageio.Batch(imgs, m.backbone.Normalization())
	if err != nil {
		return nil, err
	}
	taps, err := m.backbone.Forward(x, m.Options.Features.Layers...)
	if err != nil {
		return nil, err
	}
	f, grid, err := Aggregate(m.Options.Features, taps)
	if err != nil {
		return nil, err
	}
	if m.Grid == (Grid{}) {
		m.Grid, m.FeatureDim = grid, f.Dim(2)
	}
	if grid != m.Grid || f.Dim(2) != m.FeatureDim {
		return nil, fmt.Errorf("reconpatch: patch grid %v×%d differs from the model's %v×%d", grid, f.Dim(2), m.Grid, m.FeatureDim)
	}
	return f, nil
}

func samplePaths(s []dataset.Sample) []string {
	p := make([]string, len(s))
	for i := range s {
		p[i] = s[i].Path
	}
	return p
}
