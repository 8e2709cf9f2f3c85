package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/reconpatch/rp/reconpatch"
	"github.com/reconpatch/rp/reconpatch/dataset"
	"github.com/reconpatch/rp/reconpatch/head"
)

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rp train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := reconpatch.DefaultOptions(reconpatch.MethodReConPatch)
	data := fs.String("data", "", "data set folder (MVTec AD, BTAD, or a plain folder of normal images) (required)")
	out := fs.String("o", "", "model file to write (required)")
	method := fs.String("method", string(def.Method), "reconpatch or patchcore")
	backbone := fs.String("backbone", def.Backbone, "backbone (see rp features -h); several, comma-separated, make an ensemble")
	weightsPath := fs.String("weights", "", "backbone weight file (default: the installed keras_resnet50); comma-separated for an ensemble")
	layers := fs.String("layers", strings.Join(def.Features.Layers, ","), "backbone taps, shallowest first")
	patch := fs.Int("patch", def.Features.PatchSize, "patch neighbourhood size")
	aggregation := fs.String("aggregation", def.Features.Aggregation.String(), "patch feature aggregation: patchcore or concat")
	resize := fs.Int("resize", def.Resize, "resize the shorter image side to this (0: keep)")
	crop := fs.Int("crop", def.Crop, "centre-crop to this square (0: whole image)")
	stretch := fs.Bool("stretch", false, "resize both sides to -resize, keeping the whole image (use with -crop 0; for elongated images)")
	coreset := fs.Float64("coreset", def.CoresetRatio, "fraction of patches kept in the memory bank")
	bankHalf := fs.Bool("bank-half", false, "store the memory bank as float16 (half the size)")
	epochs := fs.Int("epochs", def.Head.Epochs, "head training epochs (reconpatch; 0 keeps f at its random initialisation, the untrained control)")
	steps := fs.Int("steps-per-epoch", def.Head.StepsPerEpoch, "batches per epoch (0: a full pass over all patches)")
	lr := fs.Float64("lr", def.Head.LR, "head learning rate")
	normZ := fs.Bool("normalize-zbar", def.Head.NormalizeZbar, "L2-normalise the EMA embeddings before the similarities")
	sigma := fs.Float64("sigma", def.Head.Sigma, "σ of the pairwise similarity exp(−‖z̄ᵢ−z̄ⱼ‖²/σ)")
	adaptive := fs.Bool("adaptive-sigma", def.Head.AdaptiveSigma, "scale σ by each batch's median squared distance")
	ema := fs.Float64("ema", def.Head.EMADecay, "EMA decay γ of the label network f̄, ḡ")
	knn := fs.Int("k", def.Head.K, "neighbours of the contextual similarity")
	alpha := fs.Float64("alpha", def.Head.Alpha, "weight of the pairwise similarity in the soft labels (1−α for the contextual)")
	fDim := fs.Int("f-dim", def.Head.FDim, "width of the representation head f (the memory bank's dimension)")
	gDim := fs.Int("g-dim", def.Head.GDim, "width of the projection head g")
	fInit := fs.String("f-init", head.FInitRandom, "how f starts: random (a random projection) or identity (needs -f-dim equal to the feature width, 1024 by default: the untrained f is PatchCore)")
	batchImages := fs.Int("batch-images", def.Head.BatchImages, "draw each head batch from the patches of this many random images (0: from all patches)")
	holdout := fs.Float64("holdout", def.HoldOut, "fraction of train/good held out for score statistics and thresholds")
	batch := fs.Int("batch", def.Batch, "images per backbone batch")
	memLimit := byteSize(reconpatch.DefaultMemLimit)
	fs.Var(&memLimit, "mem-limit", "memory budget of training (e.g. 512MiB, 8GiB): the feature caches go to disk when they would exceed it, and it is the Go runtime's soft memory limit (unless GOMEMLIMIT is set or -feature-cache is memory)")
	featureCache := fs.String("feature-cache", string(reconpatch.CacheAuto), "where the training patch features (and reconpatch's embeddings) are cached: auto (memory within -mem-limit, else disk), memory or disk; the model is the same")
	cacheDir := fs.String("cache-dir", os.TempDir(), "folder of the disk cache's temporary files (removed when training ends, also on an error or Ctrl-C)")
	featureHalf := fs.Bool("feature-half", false, "cache the training features as float16: half the memory or disk, an approximation (the model differs slightly)")
	seed := fs.Uint64("seed", 0, "random seed")
	quiet := fs.Bool("q", false, "no progress output")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: rp train -data DIR -o MODEL [flags]\n\nTrains an anomaly detector on the normal images of a data set.\n\nExamples:\n  rp train -data ../shared/datasets/magnetic-tile -o tile.rpm\n  rp train -data DIR -o pc.rpm -method patchcore -coreset 0.1\n  rp train -data DIR -o big.rpm -mem-limit 2GiB -cache-dir /var/tmp   # features over 2 GiB go to disk\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" || *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	m, err := reconpatch.ParseMethod(*method)
	if err != nil {
		return err
	}
	agg, err := reconpatch.ParseAggregation(*aggregation)
	if err != nil {
		return err
	}
	o := reconpatch.DefaultOptions(m)
	o.Backbone, o.Weights = *backbone, *weightsPath
	o.Features.Layers = strings.Split(*layers, ",")
	o.Features.PatchSize, o.Features.Aggregation = *patch, agg
	o.Resize, o.Crop, o.Stretch = *resize, *crop, *stretch
	o.CoresetRatio, o.BankHalf = *coreset, *bankHalf
	o.Head.Epochs, o.Head.StepsPerEpoch, o.Head.LR, o.Head.NormalizeZbar = *epochs, *steps, *lr, *normZ
	o.Head.Sigma, o.Head.AdaptiveSigma, o.Head.EMADecay = *sigma, *adaptive, *ema
	o.Head.BatchImages = *batchImages
	o.Head.FInit = *fInit
	o.Head.K, o.Head.Alpha, o.Head.FDim, o.Head.GDim = *knn, *alpha, *fDim, *gDim
	o.HoldOut, o.Batch, o.Seed = *holdout, *batch, *seed
	if o.FeatureCache, err = reconpatch.ParseFeatureCache(*featureCache); err != nil {
		return err
	}
	o.MemLimit, o.CacheDir, o.FeatureHalf = int64(memLimit), *cacheDir, *featureHalf
	if err := o.Validate(); err != nil {
		return err
	}
	if o.FeatureCache != reconpatch.CacheMemory && os.Getenv("GOMEMLIMIT") == "" {
		// The garbage collector runs before the heap passes the budget
		// (with its default GOGC=100 the heap grows to twice what is live).
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(o.MemLimit))
	}
	members := memberOptions(o, *backbone, *weightsPath, fs)
	ds, err := dataset.Open(*data)
	if err != nil {
		return err
	}
	rep := &barReporter{w: stderr, quiet: *quiet}
	for _, w := range ds.Warnings {
		rep.Logf("warning: %s", w)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	var model *reconpatch.Model
	if len(members) > 1 {
		model, err = reconpatch.FitEnsemble(ctx, ds, members, rep)
	} else {
		model, err = reconpatch.Fit(ctx, ds, members[0], rep)
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: no model written")
		}
		return err
	}
	if err := model.Save(*out); err != nil {
		return err
	}
	st := model.Stats
	if ms := model.Members(); len(ms) > 0 {
		fmt.Fprintf(stdout, "wrote %s: ensemble of %d %s models (%s), trained in %v\n", *out, len(ms), o.Method, *backbone, time.Since(start).Round(time.Second))
	} else {
		fmt.Fprintf(stdout, "wrote %s: %s on %s, bank %d×%d, trained in %v\n", *out, o.Method, o.Backbone, model.Bank.Len(), model.Bank.Dim(), time.Since(start).Round(time.Second))
	}
	if st.HeldOut > 0 {
		fmt.Fprintf(stdout, "held-out normal images: %d; image threshold %.4g, pixel threshold %.4g (modified z-score > %.1f)\n", st.HeldOut, st.ImageThreshold, st.PixelThreshold, st.ThresholdZ)
	}
	return nil
}

// memberOptions splits comma-separated -backbone and -weights into one set
// of options per ensemble member; a member takes -layers when it was given,
// otherwise its backbone's default taps. One backbone gives one member.
func memberOptions(o reconpatch.Options, backbones, weightsPaths string, fs *flag.FlagSet) []reconpatch.Options {
	names := strings.Split(backbones, ",")
	if len(names) == 1 {
		o.Features.Layers = layersFor(o, names[0], fs)
		return []reconpatch.Options{o}
	}
	paths := strings.Split(weightsPaths, ",")
	var ms []reconpatch.Options
	for i, n := range names {
		m := o
		m.Backbone, m.Weights = n, ""
		if i < len(paths) {
			m.Weights = paths[i]
		}
		m.Features.Layers = layersFor(o, n, fs)
		ms = append(ms, m)
	}
	return ms
}

func layersFor(o reconpatch.Options, backbone string, fs *flag.FlagSet) []string {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "layers" })
	if given {
		return o.Features.Layers
	}
	return reconpatch.DefaultLayers(backbone)
}
