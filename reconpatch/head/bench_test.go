package head_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/reconpatch/rp/reconpatch/head"
	"github.com/reconpatch/rp/tensor"
)

// BenchmarkTrainStep times one training step (EMA forward, soft labels,
// online forward, loss, backward, AdamP, EMA update) of the default head on
// a batch of patch features; compare with `scripts/gen_autograd_fixtures.py
// --bench` (PyTorch, the same work) on the same machine.
func BenchmarkTrainStep(b *testing.B) {
	for _, s := range []struct{ n, in, f, g int }{{512, 1024, 512, 128}} {
		b.Run(fmt.Sprintf("batch=%d/%d-%d-%d", s.n, s.in, s.f, s.g), func(b *testing.B) {
			h, err := head.New(s.in, s.f, s.g, 1)
			if err != nil {
				b.Fatal(err)
			}
			cfg := head.DefaultTrainConfig()
			cfg.FDim, cfg.GDim, cfg.Batch = s.f, s.g, s.n
			tr, err := head.NewTrainer(h, cfg)
			if err != nil {
				b.Fatal(err)
			}
			x := tensor.RandNormal(rand.New(rand.NewPCG(2, 0)), 0, 1, s.n, s.in)
			if _, err := tr.Step(x); err != nil { // warm-up
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := tr.Step(x); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/step")
		})
	}
}

// BenchmarkTrainEpoch times Train over 8192 float16 patch features (16
// steps of 512), batch gathering and conversion included.
func BenchmarkTrainEpoch(b *testing.B) {
	const n, d = 8192, 1024
	src, _ := head.NewFloat16Features(d)
	if err := src.Append(tensor.RandNormal(rand.New(rand.NewPCG(3, 0)), 0, 1, n, d).Data()); err != nil {
		b.Fatal(err)
	}
	cfg := head.DefaultTrainConfig()
	cfg.Epochs = 1
	for b.Loop() {
		if _, _, err := head.Train(context.Background(), src, cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N)/16, "ms/step")
}

// BenchmarkEmbed times f on 784 patches (one 224-px image), 1024 → 512.
func BenchmarkEmbed(b *testing.B) {
	h, _ := head.New(1024, 512, 128, 1)
	x := tensor.RandNormal(rand.New(rand.NewPCG(4, 0)), 0, 1, 784, 1024)
	for b.Loop() {
		h.Embed(x)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/image")
}
