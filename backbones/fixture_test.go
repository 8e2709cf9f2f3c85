package backbones

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/reconpatch/rp/tensor"
	"github.com/reconpatch/rp/weights"
)

// The fixtures in testdata are written by scripts/gen_backbone_fixtures.py:
// torchvision's own ResNet and DenseNet classes at reduced widths and depths
// with random weights and batch-norm statistics, saved in both torch
// serialisations, and <case>.safetensors holding the input, every tap's
// output and the logits of torchvision's forward, with the configuration in
// its metadata.

const fixtureTol = 1e-4 // relative L2 error allowed per tap

var fixtureCases = []string{"resnet18_tiny", "resnet50_tiny", "wide_resnet_tiny", "resnext_tiny", "densenet_tiny"}

// relL2 is ‖got − want‖ / ‖want‖ in float64, or +Inf if the shapes differ.
func relL2(got, want *tensor.Tensor) float64 {
	if !slices.Equal(got.Shape(), want.Shape()) {
		return math.Inf(1)
	}
	var num, den float64
	g, w := got.Contiguous().Data(), want.Contiguous().Data()
	for i := range w {
		d := float64(g[i]) - float64(w[i])
		num += d * d
		den += float64(w[i]) * float64(w[i])
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

// fixture reads testdata/<name>.safetensors.
func fixture(t testing.TB, name string) *weights.StateDict {
	t.Helper()
	sd, err := weights.LoadSafetensors(filepath.Join("testdata", name+".safetensors"))
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 scripts/gen_backbone_fixtures.py)", err)
	}
	return sd
}

// buildFixture builds the case's architecture from its metadata and sd.
func buildFixture(t testing.TB, io *weights.StateDict, name string, sd *weights.StateDict) Backbone {
	t.Helper()
	var b Backbone
	var err error
	switch io.Metadata["arch"] {
	case "resnet":
		var cfg ResNetConfig
		if err := json.Unmarshal([]byte(io.Metadata["config"]), &cfg); err != nil {
			t.Fatal(err)
		}
		b, err = NewResNet(name, cfg, sd)
	case "densenet":
		var cfg DenseNetConfig
		if err := json.Unmarshal([]byte(io.Metadata["config"]), &cfg); err != nil {
			t.Fatal(err)
		}
		b, err = NewDenseNet(name, cfg, sd)
	default:
		t.Fatalf("%s: unknown arch %q", name, io.Metadata["arch"])
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// outputNames are the fixture's tensors other than the input.
func outputNames(io *weights.StateDict) []string {
	var names []string
	for _, n := range io.Names() {
		if n != "input" {
			names = append(names, n)
		}
	}
	return names
}

// TestFixtures runs every reduced torchvision architecture, loaded from each
// serialisation, and compares every tap with torchvision's output.
func TestFixtures(t *testing.T) {
	for _, name := range fixtureCases {
		io := fixture(t, name)
		for _, file := range []string{name + ".pth", name + "_legacy.pth"} {
			t.Run(file, func(t *testing.T) {
				sd, err := weights.Load(filepath.Join("testdata", file))
				if err != nil {
					t.Fatal(err)
				}
				b := buildFixture(t, io, name, sd)
				taps := outputNames(io)
				out, err := b.Forward(io.Get("input"), taps...)
				if err != nil {
					t.Fatal(err)
				}
				for _, tap := range taps {
					got, want := out[tap], io.Get(tap)
					if got == nil {
						t.Errorf("%s: no output", tap)
						continue
					}
					e := relL2(got, want)
					t.Logf("%-22s %v rel L2 %.2e", tap, want.Shape(), e)
					if !(e <= fixtureTol) {
						t.Errorf("%s: shape %v (want %v), relative L2 error %.3g > %g", tap, got.Shape(), want.Shape(), e, fixtureTol)
					}
				}
			})
		}
	}
}

// TestFixturesStopEarly checks that asking for one tap runs only as far as
// it and gives the same values as the full run, and that aliases agree.
func TestFixturesStopEarly(t *testing.T) {
	for _, name := range fixtureCases {
		t.Run(name, func(t *testing.T) {
			io := fixture(t, name)
			sd, err := weights.Load(filepath.Join("testdata", name+".pth"))
			if err != nil {
				t.Fatal(err)
			}
			b := buildFixture(t, io, name, sd)
			for _, tap := range b.Taps() {
				out, err := b.Forward(io.Get("input"), tap)
				if err != nil {
					t.Fatal(err)
				}
				if len(out) != 1 || out[tap] == nil {
					t.Fatalf("%s: got %d outputs", tap, len(out))
				}
				ref := tap
				switch tap {
				case "fc", "classifier":
					ref = "logits"
				case "features":
					ref = "features.norm5"
				}
				if want := io.Get(ref); want != nil {
					if e := relL2(out[tap], want); !(e <= fixtureTol) {
						t.Errorf("%s alone: relative L2 error %.3g", tap, e)
					}
				}
			}
		})
	}
}

// TestFixturesSafetensors round-trips a checkpoint through safetensors, as
// `rp convert` does, and loads the backbone from it by preset-free config.
func TestFixturesSafetensors(t *testing.T) {
	io := fixture(t, "resnext_tiny")
	sd, err := weights.Load(filepath.Join("testdata", "resnext_tiny.pth"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "w.safetensors")
	if err := weights.SaveSafetensors(p, sd, nil, weights.F32); err != nil {
		t.Fatal(err)
	}
	sd2, err := weights.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	b := buildFixture(t, io, "resnext_tiny", sd2)
	out, err := b.Forward(io.Get("input"), "layer2", "layer3")
	if err != nil {
		t.Fatal(err)
	}
	for _, tap := range []string{"layer2", "layer3"} {
		if e := relL2(out[tap], io.Get(tap)); !(e <= fixtureTol) {
			t.Errorf("%s: relative L2 error %.3g", tap, e)
		}
	}
}

// TestConcurrentForward runs one backbone from several goroutines at once.
func TestConcurrentForward(t *testing.T) {
	for _, name := range []string{"resnext_tiny", "densenet_tiny"} {
		io := fixture(t, name)
		sd, err := weights.Load(filepath.Join("testdata", name+".pth"))
		if err != nil {
			t.Fatal(err)
		}
		b := buildFixture(t, io, name, sd)
		errs := make(chan error, 4)
		for range 4 {
			go func() {
				out, err := b.Forward(io.Get("input"), "logits")
				if err == nil && !(relL2(out["logits"], io.Get("logits")) <= fixtureTol) {
					err = fmt.Errorf("%s: logits differ under concurrency", name)
				}
				errs <- err
			}()
		}
		for range 4 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	}
}
