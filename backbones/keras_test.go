package backbones

import (
	"errors"
	"testing"

	"github.com/reconpatch/rp/nn"
	"github.com/reconpatch/rp/tensor"
	"github.com/reconpatch/rp/weights"
)

// loadKeras loads the installed Keras ResNet50, or skips.
func loadKeras(t testing.TB) Backbone {
	t.Helper()
	if _, err := weights.FindKerasResNet50(); errors.Is(err, weights.ErrNotInstalled) {
		t.Skipf("Keras ResNet50 is not installed (`make weights` installs it): %v", err)
	}
	b, err := Load(KerasResNet50, "")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rgbInput normalises an H×W×3 uint8 image stored as float32 by the fixture.
func rgbInput(t testing.TB, rgb *tensor.Tensor, norm Normalization) *tensor.Tensor {
	t.Helper()
	s := rgb.Shape()
	if len(s) != 3 || s[2] != 3 {
		t.Fatalf("rgb shape %v", s)
	}
	px := make([]uint8, rgb.Size())
	for i, v := range rgb.Contiguous().Data() {
		px[i] = uint8(v)
	}
	x := tensor.New(1, 3, s[0], s[1])
	norm.Apply(x.Data(), px, s[0], s[1])
	return x
}

// TestKerasResNet50 compares res3d, res4f (the first 32 channels) and the
// logits of the installed Keras ResNet50 on the eagle with an independent
// float64 forward written in the fixture script, and checks the classes of
// both sanity images.
func TestKerasResNet50(t *testing.T) {
	b := loadKeras(t)
	fx := fixture(t, "keras_resnet50")
	for _, tc := range []struct {
		img       string
		taps      []string
		top1      int
		top1Range [2]int
	}{
		{"eagle", []string{"res3d", "res4f", "layer2", "layer3", "logits"}, 22, [2]int{22, 22}},
		{"dog", []string{"logits"}, -1, [2]int{151, 268}},
	} {
		t.Run(tc.img, func(t *testing.T) {
			x := rgbInput(t, fx.Get(tc.img+"/rgb"), b.Normalization())
			out, err := b.Forward(x, tc.taps...)
			if err != nil {
				t.Fatal(err)
			}
			for _, tap := range tc.taps {
				ref := tap
				switch tap {
				case "layer2":
					ref = "res3d"
				case "layer3":
					ref = "res4f"
				}
				want := fx.Get(tc.img + "/" + ref)
				got := out[tap]
				if ref != "logits" { // the fixture keeps the first 32 channels
					got = firstChannels(got, want.Dim(1))
				}
				e := relL2(got, want)
				t.Logf("%-7s %v rel L2 %.2e", tap, out[tap].Shape(), e)
				if !(e <= fixtureTol) {
					t.Errorf("%s: relative L2 error %.3g > %g", tap, e, fixtureTol)
				}
			}
			probs := nn.Softmax{Dim: 1}.Forward(out["logits"]).Data()
			best := 0
			for i, p := range probs {
				if p > probs[best] {
					best = i
				}
			}
			t.Logf("top-1: %d %s (%.3f)", best, ImageNetClasses[best], probs[best])
			if best < tc.top1Range[0] || best > tc.top1Range[1] {
				t.Errorf("top-1 class %d (%s), want in %v", best, ImageNetClasses[best], tc.top1Range)
			}
		})
	}
}

// firstChannels returns the first c channels of x, N×C×H×W.
func firstChannels(x *tensor.Tensor, c int) *tensor.Tensor {
	n, ch, hw := x.Dim(0), x.Dim(1), x.Dim(2)*x.Dim(3)
	src := x.Contiguous().Data()
	out := tensor.New(n, c, x.Dim(2), x.Dim(3))
	for i := range n {
		copy(out.Data()[i*c*hw:][:c*hw], src[i*ch*hw:][:c*hw])
	}
	return out
}

// TestKerasTaps checks the names the Keras backbone answers to and that
// asking for res3d alone stops early with the same values.
func TestKerasTaps(t *testing.T) {
	b := loadKeras(t)
	taps := b.Taps()
	for _, want := range []string{"res2a", "res3d", "res4f", "res5c", "layer1", "layer2", "layer3", "layer4", "logits", "avg_pool", "fc1000", "max_pooling2d"} {
		found := false
		for _, n := range taps {
			found = found || n == want
		}
		if !found {
			t.Errorf("tap %q missing from %v", want, taps)
		}
	}
	for _, fused := range []string{"bn3d_branch2c", "res3d_branch2a"} {
		if _, err := b.Forward(tensor.New(1, 3, 64, 64), fused); err == nil {
			t.Errorf("tap %q (fused away) accepted", fused)
		}
	}
	x := tensor.New(2, 3, 64, 48)
	for i := range x.Data() {
		x.Data()[i] = float32(i%251) - 125
	}
	all, err := b.Forward(x, "res3d", "res4f")
	if err != nil {
		t.Fatal(err)
	}
	one, err := b.Forward(x, "layer2")
	if err != nil {
		t.Fatal(err)
	}
	if e := relL2(one["layer2"], all["res3d"]); e != 0 {
		t.Errorf("layer2 alone differs from res3d: %g", e)
	}
	if s := all["res4f"].Shape(); s[0] != 2 || s[1] != 1024 || s[2] != 4 || s[3] != 3 {
		t.Errorf("res4f shape %v, want [2 1024 4 3]", s)
	}
}
