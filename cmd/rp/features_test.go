package main

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconpatch/rp/backbones"
	"github.com/reconpatch/rp/reconpatch/imageio"
	"github.com/reconpatch/rp/tensor"
	"github.com/reconpatch/rp/weights"
)

// randomResNet18 writes a resnet18 state dict with random weights to a
// safetensors file and returns its path and the backbone built from it.
func randomResNet18(t *testing.T) (string, backbones.Backbone) {
	t.Helper()
	_, err := backbones.New("resnet18", weights.NewStateDict())
	var me *weights.MismatchError
	if !errors.As(err, &me) {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	sd := weights.NewStateDict()
	for _, w := range me.Missing {
		x := tensor.New(w.Shape...)
		scale := float32(math.Sqrt(2 / float64(x.Size()/w.Shape[0])))
		if strings.HasSuffix(w.Name, "running_var") || strings.HasSuffix(w.Name, "bn1.weight") || strings.HasSuffix(w.Name, "bn2.weight") {
			scale = 0
			x.Fill(1)
		}
		for i := range x.Data() {
			x.Data()[i] += scale * float32(rng.NormFloat64())
		}
		sd.Set(w.Name, x)
	}
	p := filepath.Join(t.TempDir(), "resnet18.safetensors")
	if err := weights.SaveSafetensors(p, sd, nil, weights.F32); err != nil {
		t.Fatal(err)
	}
	b, err := backbones.Load("resnet18", p)
	if err != nil {
		t.Fatal(err)
	}
	return p, b
}

// writePNG writes a w×h gradient image.
func writePNG(t *testing.T, path string, w, h int, seed uint8) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x*7) + seed, uint8(y * 5), uint8(x*y) ^ seed, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func maxAbsDiff(a, b *tensor.Tensor) float64 {
	if a == nil || b == nil || a.Size() != b.Size() {
		return math.Inf(1)
	}
	var m float64
	bd := b.Contiguous().Data()
	for i, v := range a.Contiguous().Data() {
		m = max(m, math.Abs(float64(v)-float64(bd[i])))
	}
	return m
}

func TestFeatures(t *testing.T) {
	wpath, b := randomResNet18(t)
	dir := t.TempDir()

	// A safetensors input of any size, already normalised.
	x := tensor.RandNormal(rand.New(rand.NewPCG(1, 2)), 0, 1, 3, 3, 40, 36)
	in := weights.NewStateDict()
	in.Set("input", x)
	inPath := filepath.Join(dir, "input.safetensors")
	if err := weights.SaveSafetensors(inPath, in, nil, weights.F32); err != nil {
		t.Fatal(err)
	}
	// Two images of different sizes, cropped to one.
	img1, img2 := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	writePNG(t, img1, 50, 40, 0)
	writePNG(t, img2, 37, 61, 99)
	imgBatch := tensor.New(2, 3, 32, 32)
	for i, p := range []string{img1, img2} {
		img, err := imageio.Load(p, imageio.Preprocess{Resize: 36, Crop: 32})
		if err != nil {
			t.Fatal(err)
		}
		b.Normalization().Apply(imgBatch.Data()[i*3*32*32:][:3*32*32], img.Pix, 32, 32)
	}

	for _, tc := range []struct {
		name   string
		args   []string
		x      *tensor.Tensor
		layers []string
	}{
		{"safetensors input", []string{"-layers", "layer2,layer3,logits", inPath}, x, []string{"layer2", "layer3", "logits"}},
		{"safetensors input, batches of 2", []string{"-batch", "2", "-layers", "layer1,logits", inPath}, x, []string{"layer1", "logits"}},
		{"images", []string{"-resize", "36", "-crop", "32", "-layers", "layer3", img1, img2}, imgBatch, []string{"layer3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.safetensors")
			args := append([]string{"features", "-backbone", "resnet18", "-weights", wpath, "-o", out}, tc.args...)
			var stdout, stderr bytes.Buffer
			if code := run(args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			got, err := weights.LoadSafetensors(out)
			if err != nil {
				t.Fatal(err)
			}
			if names := got.Names(); strings.Join(names, ",") != strings.Join(tc.layers, ",") {
				t.Errorf("tensors %v, want %v", names, tc.layers)
			}
			want, err := b.Forward(tc.x, tc.layers...)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range tc.layers {
				if d := maxAbsDiff(got.Get(l), want[l]); d > 1e-4 {
					t.Errorf("%s: shape %v, max difference %g from Forward %v", l, got.Get(l).Shape(), d, want[l].Shape())
				}
			}
			if tc.layers[len(tc.layers)-1] == "logits" {
				if s := got.Get("logits").Shape(); len(s) != 2 || s[0] != 3 || s[1] != 1000 {
					t.Errorf("logits shape %v, want [3 1000]", s)
				}
			}
		})
	}
}

func TestFeaturesErrors(t *testing.T) {
	wpath, _ := randomResNet18(t)
	dir := t.TempDir()
	img := filepath.Join(dir, "a.png")
	writePNG(t, img, 20, 20, 0)
	big := filepath.Join(dir, "big.png")
	writePNG(t, big, 30, 20, 0)
	bad := filepath.Join(dir, "bad.png")
	os.WriteFile(bad, []byte("not a png"), 0o644)
	noInput := filepath.Join(dir, "x.safetensors")
	sd := weights.NewStateDict()
	sd.Set("other", tensor.New(1, 3, 4, 4))
	weights.SaveSafetensors(noInput, sd, nil, weights.F32)
	out := filepath.Join(dir, "o.safetensors")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		errHas string
	}{
		{"no flags", []string{"features"}, 2, "usage"},
		{"no inputs", []string{"features", "-backbone", "resnet18", "-weights", "w", "-layers", "layer2", "-o", out}, 2, "usage"},
		{"unknown backbone", []string{"features", "-backbone", "vgg", "-layers", "layer2", "-o", out, img}, 1, "unknown backbone"},
		{"missing weights", []string{"features", "-backbone", "resnet18", "-weights", filepath.Join(dir, "nope.pth"), "-layers", "layer2", "-o", out, img}, 1, "nope.pth"},
		{"bad image", []string{"features", "-backbone", "resnet18", "-weights", wpath, "-layers", "layer2", "-o", out, bad}, 1, "bad.png"},
		{"no input tensor", []string{"features", "-backbone", "resnet18", "-weights", wpath, "-layers", "layer2", "-o", out, noInput}, 1, `no tensor named "input"`},
		{"mixed inputs", []string{"features", "-backbone", "resnet18", "-weights", wpath, "-layers", "layer2", "-o", out, noInput, img}, 1, "not both"},
		{"unknown layer", []string{"features", "-backbone", "resnet18", "-weights", wpath, "-layers", "layer2,layer7", "-o", out, img}, 1, `"layer7"`},
		{"sizes differ", []string{"features", "-backbone", "resnet18", "-weights", wpath, "-crop", "0", "-resize", "0", "-layers", "layer2", "-o", out, img, big}, 1, "-crop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.errHas) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr.String(), tc.code, tc.errHas)
			}
		})
	}
}
