package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/reconpatch/rp/reconpatch"
	"github.com/reconpatch/rp/reconpatch/dataset"
	"github.com/reconpatch/rp/reconpatch/imageio"
	"github.com/reconpatch/rp/reconpatch/render"
)

// heatAlpha is the weight of the heatmap over the image in <name>_heatmap.png.
const heatAlpha = 0.5

const predictUsage = `Usage: rp predict -model MODEL [-o DIR] [-threshold T] [-pixel-threshold P] [-json] INPUT...

Scores images with a model from rp train. INPUT is an image file or a folder,
searched recursively, in name order and skipping hidden entries, for images:
%s. A file named directly is decoded whatever its extension.

Prints one row per image (path, score, label) on stdout, or with -json one
JSON object per line:
  {"path", "score", "anomalous", "threshold", "map", "heatmap", "mask", "map_scale"}
The label is "anomalous" when the score exceeds the image threshold (default:
the model's, from its held-out normal images), else "normal"; "-" (JSON null)
when there is no threshold.

With -o DIR it also writes, per image, into DIR:
  NAME_map.png      the raw anomaly map, 16-bit grey: score = pixel / scale,
                    scale in the PNG text chunk "rp-map-scale" and in the JSON
  NAME_heatmap.png  the map in colour (inferno-like: dark = low), blended
                    half and half over the preprocessed (resized, cropped)
                    image; colours span [the model's median pixel score,
                    max(1.5 × pixel threshold, the map's maximum)], or the
                    map's own range for a model without statistics
  NAME_mask.png     white where the map exceeds the pixel threshold (default:
                    the model's); left out when there is none
NAME is the image's path under the INPUT folder it was found in, without its
extension, with "/" replaced by "_" (good/000.png → good_000), or the file's
own name for a file INPUT; "-2", "-3", … is appended when names still clash.

Finding anomalies is not an error: the exit code is 0. An input that cannot
be read is reported on stderr, naming it; the others are still scored and
the exit code is 1.

Example:
  rp predict -model tile.rpm -o out -json photos/ > scores.jsonl

Flags:
`

// predictRecord is one -json output line.
type predictRecord struct {
	Path      string   `json:"path"`
	Score     float32  `json:"score"`
	Anomalous *bool    `json:"anomalous"` // null without a threshold
	Threshold *float64 `json:"threshold"`
	Map       *string  `json:"map"` // output files: null without -o
	Heatmap   *string  `json:"heatmap"`
	Mask      *string  `json:"mask"` // null without a pixel threshold
	MapScale  *float32 `json:"map_scale"`
}

// predictInput is one image to score and the base of its output names.
type predictInput struct {
	path, name string
}

func runPredict(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rp predict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	modelPath := fs.String("model", "", "model file written by rp train (required)")
	outDir := fs.String("o", "", "write NAME_map.png, NAME_heatmap.png and NAME_mask.png per image into this folder")
	threshold := fs.Float64("threshold", 0, "image score threshold (default: the model's)")
	pixelThreshold := fs.Float64("pixel-threshold", 0, "pixel score threshold for the masks (default: the model's)")
	asJSON := fs.Bool("json", false, "print one JSON object per image instead of a table")
	weightsPath := fs.String("weights", "", "backbone weight file (default: the one the model was trained with)")
	quiet := fs.Bool("q", false, "no progress output")
	fs.Usage = func() {
		fmt.Fprintf(stderr, predictUsage, strings.Join(dataset.Extensions, " "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *modelPath == "" || fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	m, err := reconpatch.LoadModel(*modelPath)
	if err != nil {
		return err
	}
	hasStats := m.Stats.HeldOut > 0
	var imageTh, pixelTh *float64
	switch {
	case set["threshold"]:
		imageTh = threshold
	case hasStats:
		imageTh = &m.Stats.ImageThreshold
	default:
		fmt.Fprintf(stderr, "rp predict: %s stores no image threshold and -threshold is not set: labels are \"-\"\n", *modelPath)
	}
	switch {
	case set["pixel-threshold"]:
		pixelTh = pixelThreshold
	case hasStats:
		pixelTh = &m.Stats.PixelThreshold
	case *outDir != "":
		fmt.Fprintf(stderr, "rp predict: %s stores no pixel threshold and -pixel-threshold is not set: no masks\n", *modelPath)
	}
	if err := m.UseBackbone(*weightsPath); err != nil {
		return err
	}
	if *outDir != "" {
		if err := os.MkdirAll(*outDir, 0o755); err != nil {
			return err
		}
	}

	failed := 0
	bar := &barReporter{w: stderr, quiet: *quiet}
	fail := func(err error) {
		failed++
		if bar.bar != nil && !bar.quiet {
			bar.bar.Interrupt()
		}
		fmt.Fprintf(stderr, "rp predict: %v\n", err)
	}
	inputs := collectInputs(fs.Args(), fail)
	names := make(map[string]string, len(inputs))
	for _, in := range inputs {
		names[in.path] = in.name
	}
	total := len(inputs) + failed

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	pre := imageio.Preprocess{Resize: m.Options.Resize, Crop: m.Options.Crop, Stretch: m.Options.Stretch}
	enc := json.NewEncoder(stdout)
	if !*asJSON {
		fmt.Fprintln(stdout, "path\tscore\tlabel")
	}
	rep := &offsetReporter{r: bar}
	bar.Begin("scoring", len(inputs), "images")
	// Chunks of a few batches bound the memory the preprocessed images take.
	chunk := max(m.Options.Batch, 1) * 4
	for lo := 0; lo < len(inputs); lo += chunk {
		rep.base = lo
		// Decode first, so that one bad file fails alone rather than its batch.
		var paths []string
		var imgs []imageio.RGB
		for _, in := range inputs[lo:min(lo+chunk, len(inputs))] {
			img, err := imageio.Load(in.path, pre)
			if err == nil && (img.W != m.InputW || img.H != m.InputH) {
				err = fmt.Errorf("%s is %d×%d after preprocessing, the model takes %d×%d", in.path, img.W, img.H, m.InputW, m.InputH)
			}
			if err != nil {
				fail(err)
				continue
			}
			paths = append(paths, in.path)
			if *outDir != "" {
				imgs = append(imgs, img)
			}
		}
		if len(paths) == 0 {
			bar.Update(min(lo+chunk, len(inputs)))
			continue
		}
		preds, err := m.Predict(ctx, paths, rep)
		if err != nil {
			if ctx.Err() != nil {
				bar.End("stopped")
				return ctx.Err()
			}
			failed += len(paths) - 1 // fail counts one
			fail(err)
			continue
		}
		for i, p := range preds {
			rec := predictRecord{Path: p.Path, Score: p.Score, Threshold: imageTh}
			if imageTh != nil {
				a := float64(p.Score) > *imageTh
				rec.Anomalous = &a
			}
			if *outDir != "" {
				if err := writePredictFiles(&rec, *outDir, names[p.Path], imgs[i], p.Map, m, pixelTh); err != nil {
					bar.End("failed")
					return err
				}
			}
			if *asJSON {
				if err := enc.Encode(rec); err != nil {
					return err
				}
				continue
			}
			label := "-"
			switch {
			case rec.Anomalous == nil:
			case *rec.Anomalous:
				label = "anomalous"
			default:
				label = "normal"
			}
			fmt.Fprintf(stdout, "%s\t%.6g\t%s\n", p.Path, p.Score, label)
		}
		bar.Update(min(lo+chunk, len(inputs))) // failed files count as done
	}
	bar.End("")
	if failed > 0 {
		return fmt.Errorf("%d of %d inputs failed", failed, total)
	}
	return nil
}

// writePredictFiles writes NAME_map.png, NAME_heatmap.png and (with a pixel
// threshold) NAME_mask.png into dir and records their paths in rec.
func writePredictFiles(rec *predictRecord, dir, name string, img imageio.RGB, amap []float32, m *reconpatch.Model, pixelTh *float64) error {
	w, h := m.InputW, m.InputH
	mapPath := filepath.Join(dir, name+"_map.png")
	m16, scale := render.Map16(amap, w, h)
	if err := render.WriteMap16(mapPath, m16, scale); err != nil {
		return err
	}
	rec.Map, rec.MapScale = &mapPath, &scale

	lo, hi := heatRange(amap, m.Stats, pixelTh)
	heatPath := filepath.Join(dir, name+"_heatmap.png")
	heat := render.Overlay(img, render.Heatmap(amap, w, h, lo, hi), heatAlpha)
	if err := render.WritePNG(heatPath, heat); err != nil {
		return err
	}
	rec.Heatmap = &heatPath

	if pixelTh != nil {
		maskPath := filepath.Join(dir, name+"_mask.png")
		if err := render.WritePNG(maskPath, render.Mask(amap, w, h, float32(*pixelTh))); err != nil {
			return err
		}
		rec.Mask = &maskPath
	}
	return nil
}

// heatRange is the score range the heatmap's colours span: from the model's
// median pixel score to max(1.5 × the pixel threshold, the map's maximum),
// so that normal images stay dark and an anomaly's peak is the brightest
// colour. Without statistics it is the map's own range (from the map's
// minimum to max(1.5 × pixelTh, its maximum) with a -pixel-threshold).
func heatRange(amap []float32, st reconpatch.Stats, pixelTh *float64) (lo, hi float32) {
	mn, mx := float32(0), float32(0)
	for i, v := range amap {
		if i == 0 || v < mn {
			mn = v
		}
		if i == 0 || v > mx {
			mx = v
		}
	}
	lo, hi = mn, mx
	if st.HeldOut > 0 {
		lo = float32(st.PixelMedian)
	}
	if pixelTh != nil {
		hi = max(hi, float32(1.5**pixelTh))
	}
	return lo, hi
}

// collectInputs expands args (image files and folders) into the images to
// score, each once, with unique output names; it reports what it cannot use
// through fail and goes on.
func collectInputs(args []string, fail func(error)) []predictInput {
	var out []predictInput
	seen := map[string]bool{}
	used := map[string]bool{}
	add := func(path, rel string) {
		key := path
		if abs, err := filepath.Abs(path); err == nil {
			key = abs
		}
		if seen[key] {
			return
		}
		seen[key] = true
		rel = strings.TrimSuffix(rel, filepath.Ext(rel))
		base := strings.ReplaceAll(filepath.ToSlash(rel), "/", "_")
		name := base
		for n := 2; used[name]; n++ {
			name = base + "-" + strconv.Itoa(n)
		}
		used[name] = true
		out = append(out, predictInput{path: path, name: name})
	}
	for _, arg := range args {
		st, err := os.Stat(arg)
		if err != nil {
			fail(err)
			continue
		}
		if !st.IsDir() {
			add(arg, filepath.Base(arg))
			continue
		}
		n := len(out)
		err = filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != arg && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !dataset.IsImage(d.Name()) {
				return nil
			}
			rel, err := filepath.Rel(arg, path)
			if err != nil {
				return err
			}
			add(path, rel)
			return nil
		})
		switch {
		case err != nil:
			fail(err)
		case len(out) == n:
			fail(fmt.Errorf("%s: no images (%s) in the folder", arg, strings.Join(dataset.Extensions, " ")))
		}
	}
	return out
}

// offsetReporter passes the progress of one chunk's Predict call on to r as
// part of a single "scoring" stage: it shifts Update by base and drops the
// chunk's own Begin and End.
type offsetReporter struct {
	r    reconpatch.Reporter
	base int
}

func (o *offsetReporter) Begin(string, int, string)       {}
func (o *offsetReporter) Update(done int)                 { o.r.Update(o.base + done) }
func (o *offsetReporter) End(string)                      {}
func (o *offsetReporter) Logf(format string, args ...any) { o.r.Logf(format, args...) }
