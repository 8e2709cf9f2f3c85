package backbones

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/reconpatch/rp/tensor"
	"github.com/reconpatch/rp/weights"
)

// randomStateDict returns a state dict for the named torchvision backbone
// with random weights and batch-norm statistics: building from an empty dict
// lists every tensor the architecture wants, with its shape.
func randomStateDict(tb testing.TB, name string, seed uint64) *weights.StateDict {
	tb.Helper()
	_, err := New(name, weights.NewStateDict())
	var me *weights.MismatchError
	if !errors.As(err, &me) {
		tb.Fatalf("%s: %v", name, err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	sd := weights.NewStateDict()
	for _, w := range me.Missing {
		t := tensor.New(w.Shape...)
		d := t.Data()
		switch {
		case strings.HasSuffix(w.Name, ".running_var"):
			for i := range d {
				d[i] = 0.5 + 1.5*rng.Float32()
			}
		case strings.HasSuffix(w.Name, ".running_mean"), strings.HasSuffix(w.Name, ".bias"):
			for i := range d {
				d[i] = 0.2 * float32(rng.NormFloat64())
			}
		case len(w.Shape) == 1: // batch-norm gamma
			for i := range d {
				d[i] = 0.4 + 0.6*rng.Float32()
			}
		default: // He-normal weights
			std := math.Sqrt(2 / float64(t.Size()/w.Shape[0]))
			for i := range d {
				d[i] = float32(std * rng.NormFloat64())
			}
		}
		sd.Set(w.Name, t)
	}
	return sd
}

// BenchmarkWideResNet50Layer3 times wide_resnet50_2 up to layer3 (the
// PatchCore taps layer2 and layer3) at 224×224, per batch size; ms/image is
// the number to compare with PyTorch (scripts/parity.py --bench).
func BenchmarkWideResNet50Layer3(b *testing.B) {
	benchBackbone(b, "wide_resnet50_2", []string{"layer2", "layer3"}, []int{1, 8})
}

// BenchmarkDenseNet201Block3 times densenet201 up to its third dense block.
func BenchmarkDenseNet201Block3(b *testing.B) {
	benchBackbone(b, "densenet201", []string{"features.denseblock2", "features.denseblock3"}, []int{1})
}

func benchBackbone(b *testing.B, name string, taps []string, batches []int) {
	bb, err := New(name, randomStateDict(b, name, 1))
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range batches {
		b.Run(fmt.Sprintf("batch%d", n), func(b *testing.B) {
			x := tensor.RandNormal(rand.New(rand.NewPCG(2, 3)), 0, 1, n, 3, 224, 224)
			if _, err := bb.Forward(x, taps...); err != nil { // warm-up
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := bb.Forward(x, taps...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*n), "ms/image")
		})
	}
}
