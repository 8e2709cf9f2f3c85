package main

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconpatch/rp/weights"
)

// TestClassifyKeras classifies the eagle and the dog crops of the backbones
// fixture (written as PNGs, so no resizing) with the installed Keras
// ResNet50.
func TestClassifyKeras(t *testing.T) {
	if _, err := weights.FindKerasResNet50(); errors.Is(err, weights.ErrNotInstalled) {
		t.Skipf("Keras ResNet50 is not installed (`make weights` installs it): %v", err)
	}
	fx, err := weights.LoadSafetensors("../../backbones/testdata/keras_resnet50.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var paths []string
	for _, name := range []string{"eagle", "dog"} {
		rgb := fx.Get(name + "/rgb") // 224×224×3
		img := image.NewNRGBA(image.Rect(0, 0, 224, 224))
		for i, v := range rgb.Data() {
			img.Pix[i/3*4+i%3] = uint8(v)
			img.Pix[i/3*4+3] = 255
		}
		var buf bytes.Buffer
		png.Encode(&buf, img)
		p := filepath.Join(dir, name+".png")
		os.WriteFile(p, buf.Bytes(), 0o644)
		paths = append(paths, p)
	}
	var stdout, stderr bytes.Buffer
	args := append([]string{"classify", "-backbone", "keras_resnet50", "-resize", "0", "-crop", "0"}, paths...)
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	t.Log("\n" + out)
	lines := strings.Split(out, "\n")
	if len(lines) < 12 || !strings.Contains(lines[1], "1. bald eagle") || !strings.Contains(lines[1], " 22 ") {
		t.Errorf("eagle's first class is not bald eagle (22):\n%s", out)
	}
	if !strings.Contains(lines[7], "1. malamute") {
		t.Errorf("dog's first class is not malamute, as the reference forward says:\n%s", out)
	}
}

func TestClassifyErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		errHas string
	}{
		{"no images", []string{"classify"}, 2, "usage"},
		{"no weights", []string{"classify", "-backbone", "resnet50", "x.png"}, 1, "no weight file"},
		{"bad top", []string{"classify", "-top", "0", "x.png"}, 2, "usage"},
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
