package backbones

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reconpatch/rp/tensor"
	"github.com/reconpatch/rp/weights"
)

// TestPresetParameterCounts checks every preset against the parameter
// counts torchvision documents (num_params of its weights' metadata):
// building from an empty state dict reports every tensor as missing, with
// its shape.
func TestPresetParameterCounts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params int
	}{
		{"resnet18", 11689512},
		{"resnet50", 25557032},
		{"wide_resnet50_2", 68883240},
		{"wide_resnet101_2", 126886696},
		{"resnext101_32x8d", 88791336},
		{"densenet121", 7978856},
		{"densenet161", 28681000},
		{"densenet169", 14149480},
		{"densenet201", 20013928},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.name, weights.NewStateDict())
			var me *weights.MismatchError
			if !errors.As(err, &me) {
				t.Fatalf("error %v is not a *weights.MismatchError", err)
			}
			if len(me.Unexpected)+len(me.Misshaped) != 0 {
				t.Fatalf("unexpected or mis-shaped tensors in an empty dict: %v", err)
			}
			n := 0
			for _, w := range me.Missing {
				if strings.HasSuffix(w.Name, ".running_mean") || strings.HasSuffix(w.Name, ".running_var") {
					continue
				}
				size := 1
				for _, d := range w.Shape {
					size *= d
				}
				n += size
			}
			if n != tc.params {
				t.Errorf("%d parameters, torchvision has %d", n, tc.params)
			}
		})
	}
}

// TestMismatchReportsAll removes, adds and reshapes tensors of a fixture
// checkpoint and expects all three problems in one error.
func TestMismatchReportsAll(t *testing.T) {
	for _, name := range []string{"resnet50_tiny", "densenet_tiny"} {
		t.Run(name, func(t *testing.T) {
			io := fixture(t, name)
			sd, err := weights.Load(filepath.Join("testdata", name+"_legacy.pth"))
			if err != nil {
				t.Fatal(err)
			}
			names := sd.Names()
			missing, reshaped := names[3], names[len(names)-1] // a batch-norm tensor, the classifier bias
			sd.Delete(missing)
			sd.Set(reshaped, tensor.New(3))
			sd.Set("extra.weight", tensor.New(1))
			switch io.Metadata["arch"] {
			case "resnet":
				cfg := ResNetConfig{Block: Bottleneck, Layers: [4]int{2, 1, 2, 1}, Groups: 1, WidthPerGroup: 64, StemWidth: 8, Planes: [4]int{4, 8, 8, 16}, NumClasses: 10}
				var b *ResNet
				if b, err = NewResNet(name, cfg, sd); b != nil {
					t.Fatal("a backbone despite the error")
				}
			default:
				cfg := DenseNetConfig{GrowthRate: 4, BlockConfig: []int{2, 3, 2, 2}, NumInitFeatures: 8, BnSize: 2, NumClasses: 10}
				var b *DenseNet
				if b, err = NewDenseNet(name, cfg, sd); b != nil {
					t.Fatal("a backbone despite the error")
				}
			}
			if err == nil {
				t.Fatal("no error")
			}
			var me *weights.MismatchError
			if !errors.As(err, &me) {
				t.Fatalf("error %v is not a *weights.MismatchError", err)
			}
			if len(me.Missing) != 1 || len(me.Unexpected) != 1 || len(me.Misshaped) != 1 {
				t.Errorf("want 1 missing, 1 unexpected, 1 mis-shaped: %v", err)
			}
			for _, s := range []string{weights.DenseNetKey(missing), "extra.weight", reshaped, name, "testdata"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not mention %q:\n%v", s, err)
				}
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	truncated := filepath.Join(dir, "truncated.pth")
	raw, err := os.ReadFile(filepath.Join("testdata", "resnet18_tiny.pth"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, raw[:len(raw)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.pth")
	if err := os.WriteFile(garbage, []byte("not a checkpoint at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, backbone, path string
		errHas               []string
	}{
		{"unknown backbone", "resnet9000", "x.pth", []string{"unknown backbone", "wide_resnet50_2"}},
		{"no path", "resnet18", "", []string{"resnet18", "no weight file"}},
		{"missing file", "resnet18", filepath.Join(dir, "nope.pth"), []string{"resnet18", "nope.pth"}},
		{"truncated", "resnet18", truncated, []string{"resnet18", "truncated.pth"}},
		{"garbage", "resnet18", garbage, []string{"resnet18", "garbage.pth"}},
		{"wrong architecture", "resnet18", filepath.Join("testdata", "densenet_tiny.pth"), []string{"resnet18", "missing", "unexpected"}},
		{"keras from a pth", KerasResNet50, filepath.Join("testdata", "resnet18_tiny.pth"), []string{KerasResNet50, "TF.js", "make weights"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Load(tc.backbone, tc.path)
			if err == nil || b != nil {
				t.Fatalf("Load(%q, %q): no error", tc.backbone, tc.path)
			}
			for _, s := range tc.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestForwardErrors(t *testing.T) {
	sd, err := weights.Load(filepath.Join("testdata", "densenet_tiny.pth"))
	if err != nil {
		t.Fatal(err)
	}
	dn := buildFixture(t, fixture(t, "densenet_tiny"), "densenet_tiny", sd)
	sd, err = weights.Load(filepath.Join("testdata", "resnet18_tiny.pth"))
	if err != nil {
		t.Fatal(err)
	}
	rn := buildFixture(t, fixture(t, "resnet18_tiny"), "resnet18_tiny", sd)
	for _, tc := range []struct {
		name   string
		b      Backbone
		x      *tensor.Tensor
		taps   []string
		errHas string
	}{
		{"no taps", rn, tensor.New(1, 3, 8, 8), nil, "no taps"},
		{"unknown tap", rn, tensor.New(1, 3, 8, 8), []string{"layer2", "layer9"}, `"layer9"`},
		{"2-D input", rn, tensor.New(3, 8), []string{"layer2"}, "not N×3×H×W"},
		{"4 channels", rn, tensor.New(1, 4, 8, 8), []string{"layer2"}, "not N×3×H×W"},
		{"empty batch", rn, tensor.New(0, 3, 8, 8), []string{"layer2"}, "no image"},
		{"nil input", rn, nil, []string{"layer2"}, "nil input"},
		{"densenet too small", dn, tensor.New(1, 3, 12, 40), []string{"features.denseblock3"}, "too small"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.b.Forward(tc.x, tc.taps...)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("error %v, want one mentioning %s", err, tc.errHas)
			}
		})
	}
	// The smallest input the error names works.
	if _, err := dn.Forward(tensor.New(1, 3, 13, 13), "features.denseblock3"); err != nil {
		t.Errorf("13×13: %v", err)
	}
	if _, err := dn.Forward(tensor.New(1, 3, 1, 1), "features.denseblock1"); err != nil {
		t.Errorf("1×1 to denseblock1: %v", err)
	}
	if _, err := rn.Forward(tensor.New(1, 3, 1, 1), "logits"); err != nil {
		t.Errorf("1×1 to logits: %v", err)
	}
}

func TestNormalization(t *testing.T) {
	rgb := []uint8{0, 128, 255, 10, 20, 30} // two pixels, 1×2
	for _, tc := range []struct {
		name string
		n    Normalization
		want []float32 // 3 planes of 2
	}{
		{"imagenet", ImageNetNormalization, []float32{
			(0.0/255 - 0.485) / 0.229, (10.0/255 - 0.485) / 0.229,
			(128.0/255 - 0.456) / 0.224, (20.0/255 - 0.456) / 0.224,
			(255.0/255 - 0.406) / 0.225, (30.0/255 - 0.406) / 0.225,
		}},
		{"caffe", CaffeNormalization, []float32{255 - 103.939, 30 - 103.939, 128 - 116.779, 20 - 116.779, 0 - 123.68, 10 - 123.68}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make([]float32, 6)
			tc.n.Apply(got, rgb, 1, 2)
			gotF := make([]float32, 6)
			f := make([]float32, len(rgb))
			for i, v := range rgb {
				f[i] = float32(v)
			}
			tc.n.ApplyFloat(gotF, f, 1, 2)
			for i := range got {
				if d := got[i] - tc.want[i]; d > 1e-5 || d < -1e-5 {
					t.Errorf("Apply[%d] = %v, want %v", i, got[i], tc.want[i])
				}
				if gotF[i] != got[i] {
					t.Errorf("ApplyFloat[%d] = %v, Apply %v", i, gotF[i], got[i])
				}
			}
		})
	}
}

func TestNames(t *testing.T) {
	names := Names()
	for _, want := range []string{"resnet18", "resnet50", "wide_resnet50_2", "wide_resnet101_2", "resnext101_32x8d", "densenet201", "keras_resnet50"} {
		if !slices.Contains(names, want) {
			t.Errorf("Names() = %v lacks %s", names, want)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("Names() = %v is not sorted", names)
	}
	if ImageNetClasses[22] != "bald eagle" || ImageNetClasses[999] == "" {
		t.Errorf("ImageNetClasses[22] = %q", ImageNetClasses[22])
	}
	if _, err := New(KerasResNet50, weights.NewStateDict()); err == nil {
		t.Error("New(keras_resnet50) from a state dict: no error")
	}
}
