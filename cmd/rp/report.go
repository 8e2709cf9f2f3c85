package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"github.com/reconpatch/rp/reconpatch"
	"github.com/reconpatch/rp/reconpatch/imageio"
	"github.com/reconpatch/rp/reconpatch/render"
	"github.com/reconpatch/rp/reconpatch/report"
)

// writeReport writes dir/report.html for ev: it scores the worst false
// positives and negatives again to render their heatmaps, and returns the
// report's path. m's backbone must be loaded.
func writeReport(ctx context.Context, dir string, m *reconpatch.Model, ev *reconpatch.Evaluation, data string, rep reconpatch.Reporter) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	fp, fn := report.Worst(ev, report.MaxWorst)
	var paths []string
	for _, r := range append(fp, fn...) {
		paths = append(paths, r.Path)
	}
	thumbs, err := renderThumbs(ctx, m, paths, rep)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "report.html")
	d := report.Data{
		Title:   "rp evaluation: " + filepath.Base(filepath.Clean(data)),
		Model:   modelSummary(m),
		Options: optionsSummary(m),
		Dataset: data,
		Eval:    ev,
		Thumbs:  thumbs,
	}
	if err := report.Write(path, d); err != nil {
		return "", err
	}
	return path, nil
}

// renderThumbs scores paths with m and returns, per path, the preprocessed
// image and its heatmap overlay (coloured as rp predict does) as PNGs.
func renderThumbs(ctx context.Context, m *reconpatch.Model, paths []string, rep reconpatch.Reporter) (map[string]report.Thumb, error) {
	out := map[string]report.Thumb{}
	if len(paths) == 0 {
		return out, nil
	}
	err := overlays(ctx, m, paths, rep, func(p reconpatch.Prediction, img, heat imageio.RGB) error {
		a, err := encodePNG(img)
		if err != nil {
			return err
		}
		b, err := encodePNG(heat)
		if err != nil {
			return err
		}
		out[p.Path] = report.Thumb{Image: a, Heatmap: b}
		return nil
	})
	return out, err
}

// overlays scores paths with m and calls fn with each prediction, its
// preprocessed image and the heatmap over it.
func overlays(ctx context.Context, m *reconpatch.Model, paths []string, rep reconpatch.Reporter, fn func(p reconpatch.Prediction, img, heat imageio.RGB) error) error {
	preds, err := m.Predict(ctx, paths, rep)
	if err != nil {
		return err
	}
	pre := imageio.Preprocess{Resize: m.Options.Resize, Crop: m.Options.Crop, Stretch: m.Options.Stretch}
	var pixelTh *float64
	if m.Stats.HeldOut > 0 {
		pixelTh = &m.Stats.PixelThreshold
	}
	for _, p := range preds {
		img, err := imageio.Load(p.Path, pre)
		if err != nil {
			return err
		}
		if img.W != m.InputW || img.H != m.InputH {
			return fmt.Errorf("%s is %d×%d after preprocessing, the model takes %d×%d", p.Path, img.W, img.H, m.InputW, m.InputH)
		}
		lo, hi := heatRange(p.Map, m.Stats, pixelTh)
		heat := render.Overlay(img, render.Heatmap(p.Map, m.InputW, m.InputH, lo, hi), heatAlpha)
		if err := fn(p, img, heat); err != nil {
			return err
		}
	}
	return nil
}

func encodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// modelSummary is a one-line description of m.
func modelSummary(m *reconpatch.Model) string {
	o := m.Options
	var s string
	if ms := m.Members(); len(ms) > 0 || m.Bank == nil {
		s = fmt.Sprintf("ensemble of %d %s models", len(ms), o.Method)
	} else {
		s = fmt.Sprintf("%s on %s, memory bank %d×%d", o.Method, o.Backbone, m.Bank.Len(), m.Bank.Dim())
	}
	if m.Stats.HeldOut > 0 {
		s += fmt.Sprintf("; %d held-out normal images, image threshold %.4g, pixel threshold %.4g", m.Stats.HeldOut, m.Stats.ImageThreshold, m.Stats.PixelThreshold)
	}
	return s
}

// optionsSummary lists m's main training options on one line.
func optionsSummary(m *reconpatch.Model) string {
	o := m.Options
	s := []string{
		fmt.Sprintf("resize %d", o.Resize), fmt.Sprintf("crop %d", o.Crop),
		"layers " + strings.Join(o.Features.Layers, ","), fmt.Sprintf("patch %d", o.Features.PatchSize),
		fmt.Sprintf("coreset %g", o.CoresetRatio), fmt.Sprintf("input %d×%d", m.InputW, m.InputH),
	}
	if o.Stretch {
		s = append(s, "stretch")
	}
	if o.Method == reconpatch.MethodReConPatch {
		s = append(s, fmt.Sprintf("head: %d epochs × %d steps, lr %g, f-dim %d", o.Head.Epochs, o.Head.StepsPerEpoch, o.Head.LR, o.Head.FDim))
	}
	s = append(s, fmt.Sprintf("seed %d", o.Seed))
	return strings.Join(s, " · ")
}
