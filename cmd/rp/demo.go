package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/reconpatch/rp/internal/progress"
	"github.com/reconpatch/rp/reconpatch"
	"github.com/reconpatch/rp/reconpatch/dataset"
	"github.com/reconpatch/rp/reconpatch/imageio"
	"github.com/reconpatch/rp/reconpatch/render"
	"github.com/reconpatch/rp/reconpatch/synth"
	"github.com/reconpatch/rp/weights"
)

// demoCategory is the synthetic category rp demo uses: grey brushed metal
// with scratches, holes and stains, which the reduced budget learns well.
const demoCategory = "brushed_metal"

// demoOverlays is how many heatmap overlays rp demo writes.
const demoOverlays = 4

const demoUsage = `Usage: rp demo [-o DIR] [-q] [-seed S]

Runs the whole pipeline on a synthetic data set, end to end and offline:
  1. rp synth: the %s category (%d train, %d test good and %d test
     images per defect type, %d×%d pixels) into DIR/data
  2. rp train: ReConPatch on the Keras ResNet-50, resize %d, crop %d,
     with a reduced head training of %d epochs × %d steps (rp train's
     default is longer) so that the whole demo takes well under a minute
     on two cores (about 30 s measured); the model goes to DIR/model.rpm
  3. rp eval: prints image AUROC, pixel AUROC, AUPRO and F1-max, and
     writes DIR/report.html (metrics, ROC curve, score histograms, the
     worst false positives and negatives with their heatmaps)
  4. heatmap overlays of %d test images into DIR/overlays/
DIR defaults to a new temporary folder, which is kept; with -o DIR an
existing DIR/data/%s is replaced. Needs the backbone: make weights.

Example:
  rp demo -o /tmp/rp-demo     # then open /tmp/rp-demo/report.html in a browser

The tuning flags shrink the run (the tests use them); their defaults are
the demo's.

Flags:
`

func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rp demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output folder (default: a new temporary folder, kept)")
	seed := fs.Uint64("seed", 1, "random seed of the data set and the training")
	quiet := fs.Bool("q", false, "no progress output")
	size := fs.Int("size", synth.DefaultSize, "tuning: synthetic image side in pixels")
	train := fs.Int("train", synth.DefaultTrain, "tuning: normal training images")
	testGood := fs.Int("test-good", synth.DefaultTestGood, "tuning: normal test images")
	testDefect := fs.Int("test-defect", synth.DefaultTestPerDefect, "tuning: test images per defect type")
	resize := fs.Int("resize", 256, "tuning: resize the shorter side to this")
	crop := fs.Int("crop", 224, "tuning: centre-crop to this square")
	epochs := fs.Int("epochs", 5, "tuning: head training epochs")
	steps := fs.Int("steps-per-epoch", 40, "tuning: head training batches per epoch")
	fs.Usage = func() {
		fmt.Fprintf(stderr, demoUsage, demoCategory, *train, *testGood, *testDefect, *size, *size,
			*resize, *crop, *epochs, *steps, demoOverlays, demoCategory)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	if _, err := weights.FindKerasResNet50(); err != nil {
		return fmt.Errorf("the demo needs the Keras ResNet-50 weights: run `make weights` (%w)", err)
	}
	o := reconpatch.DefaultOptions(reconpatch.MethodReConPatch)
	o.Features.Layers = reconpatch.DefaultLayers(o.Backbone)
	o.Resize, o.Crop = *resize, *crop
	o.Head.Epochs, o.Head.StepsPerEpoch = *epochs, *steps
	o.Seed = *seed
	if err := o.Validate(); err != nil {
		return err
	}

	dir := *out
	if dir == "" {
		d, err := os.MkdirTemp("", "rp-demo-")
		if err != nil {
			return err
		}
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	rep := &barReporter{w: stderr, quiet: *quiet}

	// 1. The data set.
	var bar *progress.Bar
	sum, err := synth.Generate(filepath.Join(dir, "data"), synth.Config{
		Seed: *seed, Size: *size, Categories: []string{demoCategory},
		Train: *train, TestGood: *testGood, TestPerDefect: *testDefect, Overwrite: true,
	}, func(done, total int) {
		if bar == nil {
			bar = progress.New(stderr, "synth", total, "images", progress.Options{Quiet: *quiet})
		}
		bar.Set(done)
	})
	if bar != nil {
		bar.Finish("")
	}
	if err != nil {
		return err
	}
	data := sum.Categories[0].Dir
	ds, err := dataset.Open(data)
	if err != nil {
		return err
	}

	// 2. Training.
	m, err := reconpatch.Fit(ctx, ds, o, rep)
	if err != nil {
		return err
	}
	modelPath := filepath.Join(dir, "model.rpm")
	if err := m.Save(modelPath); err != nil {
		return err
	}
	trained := time.Since(start)

	// 3. Evaluation and report.
	ev, err := reconpatch.Evaluate(ctx, m, ds, rep)
	if err != nil {
		return err
	}
	reportPath, err := writeReport(ctx, dir, m, ev, data, rep)
	if err != nil {
		return err
	}

	// 4. Overlays: the first good test image and the first of each defect type.
	overlayDir := filepath.Join(dir, "overlays")
	if err := os.MkdirAll(overlayDir, 0o755); err != nil {
		return err
	}
	var paths []string
	names := map[string]string{}
	seen := map[string]bool{}
	for _, r := range ev.Images {
		if len(paths) == demoOverlays || seen[r.Type] {
			continue
		}
		seen[r.Type] = true
		paths = append(paths, r.Path)
		base := filepath.Base(r.Path)
		names[r.Path] = r.Type + "_" + base[:len(base)-len(filepath.Ext(base))] + "_heatmap.png"
	}
	var written []string
	err = overlays(ctx, m, paths, rep, func(p reconpatch.Prediction, _, heat imageio.RGB) error {
		path := filepath.Join(overlayDir, names[p.Path])
		written = append(written, fmt.Sprintf("%s (score %.4g)", path, p.Score))
		return render.WritePNG(path, heat)
	})
	if err != nil {
		return err
	}

	printMetrics(stdout, ev)
	fmt.Fprintf(stdout, "\ndemo finished in %v (data and training %v)\n", time.Since(start).Round(time.Second), trained.Round(time.Second))
	fmt.Fprintf(stdout, "data set: %s\nmodel:    %s\nreport:   %s\noverlays:\n", data, modelPath, reportPath)
	for _, w := range written {
		fmt.Fprintf(stdout, "  %s\n", w)
	}
	return nil
}
