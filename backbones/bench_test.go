package backbones

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/reconpatch/rp/tensor"
	"github.com/reconpatch/rp/weights"
)

// randomStateDict is RandomStateDict for tests.
func randomStateDict(tb testing.TB, name string, seed uint64) *weights.StateDict {
	tb.Helper()
	sd, err := RandomStateDict(name, seed)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
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

// BenchmarkResNeXt101Layer3 times resnext101_32x8d up to layer3.
func BenchmarkResNeXt101Layer3(b *testing.B) {
	benchBackbone(b, "resnext101_32x8d", []string{"layer2", "layer3"}, []int{1})
}
