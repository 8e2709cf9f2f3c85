package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/reconpatch/rp/backbones"
	"github.com/reconpatch/rp/reconpatch/imageio"
	"github.com/reconpatch/rp/tensor"
	"github.com/reconpatch/rp/weights"
)

// imageFlags are the preprocessing flags features and classify share.
type imageFlags struct {
	resize, crop *int
}

func addImageFlags(fs *flag.FlagSet) imageFlags {
	return imageFlags{
		resize: fs.Int("resize", 256, "resize the shorter side of each image to this many pixels (PIL bilinear); 0 keeps the size"),
		crop:   fs.Int("crop", 224, "centre-crop each image to this square size; 0 keeps the whole image"),
	}
}

// loadImages decodes, resizes and crops image files as reconpatch/imageio
// does (PIL-exact), normalises them with norm and stacks them into one
// N×3×H×W batch; the images must end up the same size.
func loadImages(paths []string, f imageFlags, norm backbones.Normalization) (*tensor.Tensor, error) {
	if *f.resize < 0 || *f.crop < 0 {
		return nil, fmt.Errorf("-resize %d and -crop %d must not be negative", *f.resize, *f.crop)
	}
	p := imageio.Preprocess{Resize: *f.resize, Crop: *f.crop}
	var x *tensor.Tensor
	var h, w int
	for i, path := range paths {
		img, err := imageio.Load(path, p)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			h, w = img.H, img.W
			x = tensor.New(len(paths), 3, h, w)
		} else if img.H != h || img.W != w {
			return nil, fmt.Errorf("%s is %d×%d after preprocessing but %s is %d×%d: give -crop (or images of one size) to batch them", path, img.W, img.H, paths[0], w, h)
		}
		norm.Apply(x.Data()[i*3*h*w:][:3*h*w], img.Pix, h, w)
	}
	return x, nil
}

// loadInput reads the inputs of features: image files, or one safetensors
// file holding "input", N×3×H×W, already normalised.
func loadInput(paths []string, f imageFlags, norm backbones.Normalization) (*tensor.Tensor, error) {
	var st []string
	for _, p := range paths {
		if strings.EqualFold(filepath.Ext(p), ".safetensors") {
			st = append(st, p)
		}
	}
	if len(st) == 0 {
		return loadImages(paths, f, norm)
	}
	if len(paths) != 1 {
		return nil, fmt.Errorf("give one .safetensors input or image files, not both or several (%s)", strings.Join(st, ", "))
	}
	sd, err := weights.LoadSafetensors(paths[0])
	if err != nil {
		return nil, err
	}
	x := sd.Get("input")
	if x == nil {
		return nil, fmt.Errorf("%s holds no tensor named \"input\" (it has %s)", paths[0], strings.Join(sd.Names(), ", "))
	}
	if s := x.Shape(); len(s) != 4 || s[1] != 3 {
		return nil, fmt.Errorf("%s: input shape %v is not N×3×H×W", paths[0], s)
	}
	return x, nil
}

// splitList splits a comma-separated flag value, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func runFeatures(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rp features", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: rp features -backbone NAME -weights FILE -layers A,B[,logits] -o OUT.safetensors INPUT...")
		fmt.Fprintln(stderr, "\nINPUT is image files (resized, centre-cropped and normalised for the backbone) or one .safetensors")
		fmt.Fprintln(stderr, "file holding \"input\", N×3×H×W float32, already normalised. OUT holds one N×C×H×W tensor per layer")
		fmt.Fprintln(stderr, "(logits: N×classes), named as requested.")
		fmt.Fprintln(stderr, "\nExample:\n  rp features -backbone wide_resnet50_2 -weights wrn50.pth -layers layer2,layer3 -o f.safetensors a.png b.png")
		fmt.Fprintf(stderr, "\nbackbones: %s\n\nflags:\n", strings.Join(backbones.Names(), ", "))
		fs.PrintDefaults()
	}
	name := fs.String("backbone", "", "backbone name (required)")
	wpath := fs.String("weights", "", "weight file: torchvision .pth or .safetensors; TF.js model.json for keras_resnet50 (default: the installed copy)")
	layers := fs.String("layers", "", "comma-separated taps, e.g. layer2,layer3 or features.denseblock2,logits (required)")
	out := fs.String("o", "", "output .safetensors file (required)")
	batch := fs.Int("batch", 8, "images per forward pass")
	imf := addImageFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	taps := splitList(*layers)
	if *name == "" || len(taps) == 0 || *out == "" || fs.NArg() == 0 || *batch < 1 {
		fs.Usage()
		return errUsage
	}
	b, err := backbones.Load(*name, *wpath)
	if err != nil {
		return err
	}
	x, err := loadInput(fs.Args(), imf, b.Normalization())
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := backbones.ForwardBatched(b, x, *batch, taps...)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	sd := weights.NewStateDict()
	for _, t := range taps {
		sd.Set(t, res[t])
	}
	meta := map[string]string{"backbone": *name, "layers": strings.Join(taps, ",")}
	if *wpath != "" {
		meta["weights"] = filepath.Base(*wpath)
	}
	if err := weights.SaveSafetensors(*out, sd, meta, weights.F32); err != nil {
		return err
	}
	n := x.Dim(0)
	fmt.Fprintf(stderr, "%s: %d input(s) %d×%d, %.1f ms per input → %s\n", *name, n, x.Dim(3), x.Dim(2),
		float64(elapsed.Microseconds())/1e3/float64(n), *out)
	for _, t := range taps {
		fmt.Fprintf(stdout, "%s %v\n", t, res[t].Shape())
	}
	return nil
}
