package reconpatch

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/reconpatch/rp/reconpatch/dataset"
	"github.com/reconpatch/rp/reconpatch/head"
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
//
// The patch features of the training images (and ReConPatch's embeddings
// of them) are cached in memory or in temporary files in o.CacheDir, as
// o.FeatureCache and o.MemLimit decide (see planCaches); the files are
// removed when Fit returns, whether it succeeds or not. Every later stage
// streams the caches, so the model does not depend on where they are:
// float32 caches on disk give the model that memory gives, bit for bit.
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
	var plan cachePlan
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	alloc0 := ms.TotalAlloc
	feats, err := m.extractInto(ctx, samplePaths(bankSet), rep, "features", func(rows, d int) (featureStore, error) {
		var inUse int64
		if o.FeatureCache == CacheAuto || o.FeatureCache == "" {
			inUse = heapInUse(alloc0)
		}
		plan = o.planCaches(rows, d, inUse, rep)
		return o.newStore(plan.featDisk, rows, d)
	})
	if err != nil {
		return nil, err
	}
	rep.Logf("features: %d images → %d patches of %d in %v", len(bankSet), feats.Len(), m.FeatureDim, time.Since(start).Round(time.Millisecond))
	if err := m.fitBank(ctx, feats, plan, rep); err != nil {
		return nil, err
	}
	if err := m.fitStats(ctx, samplePaths(held), rep); err != nil {
		return nil, err
	}
	return m, nil
}

// fitBank trains the head on the cached patch features (ReConPatch),
// caches their embeddings where plan says, and builds the memory bank and
// the scorer from a coreset of them, streaming the caches. It closes feats
// (and the embeddings' cache) when it no longer needs them, also on an
// error. m.FeatureDim must be feats' width.
func (m *Model) fitBank(ctx context.Context, feats featureStore, plan cachePlan, rep Reporter) error {
	defer func() { closeStore(feats, rep) }()
	o := m.Options
	emb := feats // the rows the bank is selected from
	if o.Method == MethodReConPatch {
		start := time.Now()
		w, b, err := trainHead(ctx, feats, o, rep)
		if err != nil {
			return err
		}
		if err := m.setHead(w, b); err != nil {
			return err
		}
		rep.Logf("head: trained in %v", time.Since(start).Round(time.Millisecond))
		if emb, err = o.newStore(plan.embDisk, feats.Len(), m.EmbedDim()); err != nil {
			return err
		}
		defer func() { closeStore(emb, rep) }()
		if err := embedRows(ctx, m.head, feats, emb, rep); err != nil {
			return err
		}
		closeStore(feats, rep) // the bank keeps what it needs of the embeddings
		feats = nil
	}

	start := time.Now()
	cc := o.coreset(nil)
	size := cc.CoresetSize(emb.Len())
	rep.Begin("coreset", size, "rows")
	cc.Progress = func(done, _ int) { rep.Update(done) }
	cc.Context = ctx
	prec := Float32
	if o.BankHalf {
		prec = Float16
	}
	bank, _, err := BuildMemoryBankFrom(emb, cc, prec)
	if err != nil {
		rep.End("failed")
		return err
	}
	rep.End(fmt.Sprintf("%d of %d patches in %v", bank.Len(), emb.Len(), time.Since(start).Round(time.Millisecond)))
	m.Bank = bank
	m.scorer, err = NewScorer(bank, o.Score)
	return err
}

// featureStore is a cache of rows that Fit fills by appending and reads as
// a head.FeatureSource: head.Float32Features, head.Float16Features or
// head.DiskFeatures.
type featureStore interface {
	head.FeatureSource
	Append(rows []float32) error
}

// newStore returns an empty cache for rows rows of d values: a temporary
// file in o.CacheDir when disk is set, memory reserved for every row
// otherwise; float16 with o.FeatureHalf.
func (o Options) newStore(disk bool, rows, d int) (featureStore, error) {
	if disk {
		f, err := head.NewDiskFeatures(o.CacheDir, d, o.FeatureHalf)
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	if o.FeatureHalf {
		f, err := head.NewFloat16Features(d)
		if err != nil {
			return nil, err
		}
		f.Grow(rows)
		return f, nil
	}
	f, err := head.NewFloat32Features(d)
	if err != nil {
		return nil, err
	}
	f.Grow(rows)
	return f, nil
}

// closeStore closes a disk cache, removing its file (memory caches need
// nothing); a failure is only logged, since the model does not depend on it.
func closeStore(s featureStore, rep Reporter) {
	if c, ok := s.(io.Closer); ok && c != nil {
		if err := c.Close(); err != nil {
			rep.Logf("warning: %v", err)
		}
	}
}

// cachePlan says which of Fit's caches go to disk.
type cachePlan struct {
	featDisk bool // the patch features, n×D
	embDisk  bool // ReConPatch's embeddings f(x), n×D_f
}

// planCaches decides where Fit caches the features of rows patches of
// width d and, for ReConPatch, their embeddings. With CacheAuto a cache
// stays in memory while it fits in the memory limit beside inUse (what the
// process holds besides: the backbone and a batch's work) and the
// coreset's working set, which is always in memory: n×d' projected rows
// and 16 bytes of state per row, 528 bytes a patch. The features are
// needed while the embeddings are computed, the embeddings until the bank
// is built, so the features go to disk first. It logs the decision.
func (o Options) planCaches(rows, d int, inUse int64, rep Reporter) cachePlan {
	elem := int64(4)
	if o.FeatureHalf {
		elem = 2
	}
	feat := int64(rows) * int64(d) * elem
	var emb int64
	de := d // the width of the rows the coreset selects from
	if o.Method == MethodReConPatch {
		de = o.Head.FDim
		emb = int64(rows) * int64(de) * elem
	}
	p := o.coreset(nil).projectionDim(de)
	if p == 0 {
		p = de
	}
	work := int64(rows) * (int64(p)*4 + 16)
	avail := o.memLimit() - inUse
	var plan cachePlan
	switch o.FeatureCache {
	case CacheMemory:
	case CacheDisk:
		plan = cachePlan{featDisk: true, embDisk: emb > 0}
	default:
		plan.featDisk = feat+emb+work > avail
		plan.embDisk = emb > 0 && emb+work > avail
	}
	where := func(disk bool) string {
		if !disk {
			return "in memory"
		}
		dir := o.CacheDir
		if dir == "" {
			dir = os.TempDir()
		}
		return "on disk in " + dir
	}
	typ := "float32"
	if o.FeatureHalf {
		typ = "float16"
	}
	rep.Logf("feature cache: %d×%d %s (%s) %s", rows, d, typ, sizeString(feat), where(plan.featDisk))
	if emb > 0 {
		rep.Logf("embedding cache: %d×%d %s (%s) %s", rows, de, typ, sizeString(emb), where(plan.embDisk))
	}
	if o.FeatureCache == CacheAuto || o.FeatureCache == "" {
		rep.Logf("memory limit %s: %s in use, %s for the coreset", sizeString(o.memLimit()), sizeString(inUse), sizeString(work))
		if work > avail {
			rep.Logf("warning: the coreset's %d×%d projected rows alone (%s) exceed the memory left under the limit", rows, p, sizeString(work))
		}
	}
	return plan
}

// heapInUse estimates what training holds besides its caches: the live
// heap after a collection (the backbone, the first batch's features) plus
// what the first batch allocated since alloc0 (runtime.MemStats.TotalAlloc
// before it), a bound on a batch's transient memory.
func heapInUse(alloc0 uint64) int64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	batch := ms.TotalAlloc - alloc0
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc + batch)
}

// sizeString formats a number of bytes with a binary unit.
func sizeString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
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
// batches, in memory, and records the grid and sizes in m.
func (m *Model) extract(ctx context.Context, paths []string, rep Reporter, stage string) (*tensor.Tensor, int, error) {
	var f *head.Float32Features
	_, err := m.extractInto(ctx, paths, rep, stage, func(rows, d int) (featureStore, error) {
		var err error
		if f, err = head.NewFloat32Features(d); err != nil {
			return nil, err
		}
		f.Grow(rows)
		return f, nil
	})
	if err != nil {
		return nil, 0, err
	}
	return tensor.FromSlice(f.Data(), len(paths), m.Grid.Len(), m.FeatureDim), len(paths), nil
}

// extractInto computes the aggregated patch features of images in batches
// and appends each batch's rows, images in order, P rows of D each, to the
// cache that open returns for rows×D values; Extract calls open once, after
// the first batch has fixed the grid and D (recorded in m). On an error
// the cache is closed (a file removed).
func (m *Model) extractInto(ctx context.Context, paths []string, rep Reporter, stage string, open func(rows, d int) (featureStore, error)) (featureStore, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("reconpatch: no images")
	}
	var store featureStore
	fail := func(msg string, err error) (featureStore, error) {
		rep.End(msg)
		closeStore(store, rep)
		return nil, err
	}
	rep.Begin(stage, len(paths), "images")
	for lo := 0; lo < len(paths); lo += m.Options.Batch {
		if err := ctx.Err(); err != nil {
			return fail("stopped", err)
		}
		hi := min(lo+m.Options.Batch, len(paths))
		f, err := m.features(paths[lo:hi]) // (hi−lo)×P×D
		if err != nil {
			return fail("failed", err)
		}
		if store == nil {
			if store, err = open(len(paths)*f.Dim(1), f.Dim(2)); err != nil {
				return fail("failed", err)
			}
		}
		if err := store.Append(f.Contiguous().Data()); err != nil {
			return fail("failed", fmt.Errorf("reconpatch: caching the features of %s…: %w", paths[lo], err))
		}
		rep.Update(hi)
	}
	rep.End("")
	return store, nil
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
