package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/reconpatch/rp/internal/atomicfile"
	"github.com/reconpatch/rp/reconpatch"
	"github.com/reconpatch/rp/reconpatch/dataset"
)

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rp eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelPath := fs.String("model", "", "model file written by rp train (required)")
	data := fs.String("data", "", "data set folder with test images (required)")
	weightsPath := fs.String("weights", "", "backbone weight file (default: the one the model was trained with)")
	jsonPath := fs.String("json", "", "also write the metrics as JSON to this file")
	reportDir := fs.String("report", "", "also write an HTML report (metrics, ROC, score histograms, worst images with heatmaps) to DIR/report.html")
	maskThreshold := fs.Uint("mask-threshold", 128, "grey level (1-255) from which a mask pixel counts as defective; for soft-edged masks")
	quiet := fs.Bool("q", false, "no progress output")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: rp eval -model MODEL -data DIR [-json FILE] [-report DIR]\n\nScores a data set's test images and prints image AUROC, pixel AUROC, AUPRO and F1-max, overall and per defect type.\n\nExample:\n  rp eval -model tile.rpm -data ../shared/datasets/magnetic-tile -json metrics.json\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *modelPath == "" || *data == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	m, err := reconpatch.LoadModel(*modelPath)
	if err != nil {
		return err
	}
	if err := m.UseBackbone(*weightsPath); err != nil {
		return err
	}
	if *maskThreshold < 1 || *maskThreshold > 255 {
		return fmt.Errorf("rp eval: -mask-threshold %d: need a grey level from 1 to 255", *maskThreshold)
	}
	ds, err := dataset.Open(*data)
	if err != nil {
		return err
	}
	ds.MaskThreshold = uint8(*maskThreshold)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ev, err := reconpatch.Evaluate(ctx, m, ds, &barReporter{w: stderr, quiet: *quiet})
	if err != nil {
		return err
	}
	printMetrics(stdout, ev)
	if *jsonPath != "" {
		js, err := json.MarshalIndent(ev, "", "  ")
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(*jsonPath, append(js, '\n'), 0o644); err != nil {
			return err
		}
	}
	if *reportDir != "" {
		path, err := writeReport(ctx, *reportDir, m, ev, *data, &barReporter{w: stderr, quiet: *quiet})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "report: %s\n", path)
	}
	return nil
}

func printMetrics(w io.Writer, ev *reconpatch.Evaluation) {
	fmt.Fprintf(w, "%-14s %6s %6s  %-11s %-11s %-7s %-11s %-11s\n", "set", "images", "defect", "image AUROC", "pixel AUROC", "AUPRO", "image F1max", "pixel F1max")
	row := func(name string, m reconpatch.Metrics) {
		fmt.Fprintf(w, "%-14s %6d %6d  %-11s %-11s %-7s %-11s %-11s\n", name, m.Images, m.Defective,
			fmtMetric(m.ImageAUROC), fmtMetric(m.PixelAUROC), fmtMetric(m.AUPRO), fmtMetric(m.ImageF1Max), fmtMetric(m.PixelF1Max))
	}
	for _, t := range slices.Sorted(maps.Keys(ev.Types)) {
		row(t, ev.Types[t])
	}
	row("overall", ev.Overall)
	if th := ev.Overall.ImageF1Threshold; th != nil {
		fmt.Fprintf(w, "image threshold: stored %.4g, F1-optimal on this test set %.4g\n", ev.ImageThreshold, *th)
	}
}

func fmtMetric(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.4f", *v)
}
