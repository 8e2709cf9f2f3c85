package autograd_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/tensor"
)

// Forward plus backward of single operations at the sizes of ReConPatch
// training and of a small CNN.

func BenchmarkLinear(b *testing.B) {
	for _, s := range []struct{ n, in, out int }{{512, 1024, 512}, {512, 512, 128}} {
		b.Run(fmt.Sprintf("N%d_%dx%d", s.n, s.in, s.out), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			x := autograd.NewParam(tensor.RandNormal(rng, 0, 1, s.n, s.in))
			l := autograd.NewLinear(rng, s.in, s.out, true)
			for b.Loop() {
				tp := autograd.NewTape()
				tp.Backward(tp.Sum(l.Forward(tp, x), false))
				x.ZeroGrad()
				l.W.ZeroGrad()
				l.B.ZeroGrad()
			}
			b.ReportMetric(3*2*float64(s.n*s.in*s.out)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkPairDist(b *testing.B) {
	for _, s := range []struct{ n, d int }{{512, 128}, {256, 128}} {
		b.Run(fmt.Sprintf("N%d_D%d", s.n, s.d), func(b *testing.B) {
			z := autograd.NewParam(tensor.RandNormal(rand.New(rand.NewPCG(1, 1)), 0, 1, s.n, s.d))
			for b.Loop() {
				tp := autograd.NewTape()
				tp.Backward(tp.Sum(tp.PairDist(z, 0), false))
				z.ZeroGrad()
			}
		})
	}
}

func BenchmarkConv2d(b *testing.B) {
	for _, s := range []struct{ n, c, o, h, groups int }{{16, 32, 32, 32, 1}, {16, 32, 32, 32, 4}} {
		b.Run(fmt.Sprintf("N%d_C%d_O%d_H%d_G%d_3x3", s.n, s.c, s.o, s.h, s.groups), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			x := autograd.NewParam(tensor.RandNormal(rng, 0, 1, s.n, s.c, s.h, s.h))
			c := autograd.NewConv2d(rng, s.c, s.o, 3, 3, true, autograd.ConvOptions{Padding: [2]int{1, 1}, Groups: s.groups})
			for b.Loop() {
				tp := autograd.NewTape()
				tp.Backward(tp.Sum(c.Forward(tp, x), false))
				x.ZeroGrad()
				c.W.ZeroGrad()
				c.B.ZeroGrad()
			}
			flops := 3 * 2 * float64(s.n*s.o*s.h*s.h*s.c/s.groups*9)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
