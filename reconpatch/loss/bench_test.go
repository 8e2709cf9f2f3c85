package loss_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/nn/optim"
	"github.com/reconpatch/rp/reconpatch/loss"
	"github.com/reconpatch/rp/simd"
	"github.com/reconpatch/rp/tensor"
)

// trainer is one ReConPatch head in training: f = Linear(in → mid),
// g = Linear(mid → out), their EMA copies f̄, ḡ, AdamP with the defaults of
// section 12 (lr 1e-5, weight decay 1e-2) and the loss options.
type trainer struct {
	f, g, fbar, gbar *autograd.Linear
	ema              *optim.EMA
	opt              *optim.AdamP
	o                loss.Options
}

func newTrainer(seed uint64, in, mid, out int) *trainer {
	rng := rand.New(rand.NewPCG(seed, 0))
	t := &trainer{f: autograd.NewLinear(rng, in, mid, true), g: autograd.NewLinear(rng, mid, out, true)}
	params := autograd.Params(t.f, t.g)
	t.ema = optim.NewEMA(params, 0.99)
	sh := t.ema.Shadow()
	t.fbar, t.gbar = &autograd.Linear{W: sh[0], B: sh[1]}, &autograd.Linear{W: sh[2], B: sh[3]}
	cfg := optim.DefaultAdamPConfig(1e-5)
	cfg.WeightDecay = 1e-2
	t.opt = optim.NewAdamP(params, cfg)
	t.o = loss.DefaultOptions()
	t.o.Normalize = true
	return t
}

// step is one training step on the batch p [N in]: EMA forward (no grad),
// soft labels, online forward, loss, backward, AdamP, EMA update.
func (t *trainer) step(p *autograd.Var) float64 {
	zbar := t.gbar.Forward(nil, t.fbar.Forward(nil, p)).Value // [N out], no grad
	tp := autograd.NewTape()
	z := t.g.Forward(tp, t.f.Forward(tp, p)) // [N out]
	l, _ := loss.Loss(tp, z, zbar, t.o)
	tp.Backward(l)
	t.opt.Step()
	t.opt.ZeroGrad()
	t.ema.Update()
	return l.Item()
}

// BenchmarkReConPatchStep times one training step of the default head
// (1024 → 512 → 128) on a batch of 512 patch features; compare with
// `scripts/gen_autograd_fixtures.py --bench` on the same machine.
func BenchmarkReConPatchStep(b *testing.B) {
	for _, s := range []struct{ n, in, mid, out int }{{512, 1024, 512, 128}, {256, 1024, 512, 128}} {
		b.Run(fmt.Sprintf("N%d_%d-%d-%d", s.n, s.in, s.mid, s.out), func(b *testing.B) {
			t := newTrainer(1, s.in, s.mid, s.out)
			p := autograd.NewConst(tensor.RandNormal(rand.New(rand.NewPCG(2, 0)), 0, 1, s.n, s.in))
			t.step(p) // warm-up
			for b.Loop() {
				t.step(p)
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/step")
		})
	}
}

// BenchmarkParts times the pieces of a step at N = 512, D = 128.
func BenchmarkParts(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 0))
	z := tensor.RandNormal(rng, 0, 1, 512, 128)
	zbar := tensor.Add(z, tensor.RandNormal(rng, 0, 0.1, 512, 128))
	o := loss.DefaultOptions()
	o.Normalize = true
	w, _ := loss.SoftLabels(zbar, o)
	b.Run("SoftLabels/N512_D128", func(b *testing.B) {
		for b.Loop() {
			loss.SoftLabels(zbar, o)
		}
	})
	for _, form := range forms {
		b.Run("RelaxedContrastive-"+form.name+"/N512_D128", func(b *testing.B) {
			for b.Loop() {
				zv := autograd.NewParam(z)
				tp := autograd.NewTape()
				tp.Backward(form.f(tp, zv, w, 1))
			}
		})
	}
}

// TestStepThreads checks that a training step gives the same bits on one
// and on two SGEMM workers, and that a few steps lower the loss.
func TestStepThreads(t *testing.T) {
	run := func(threads, steps int) []float64 {
		old := simd.SetThreads(threads)
		defer simd.SetThreads(old)
		tr := newTrainer(5, 256, 128, 64)
		tr.opt.SetLR(1e-3)
		p := autograd.NewConst(tensor.RandNormal(rand.New(rand.NewPCG(6, 0)), 0, 1, 512, 256))
		var ls []float64
		for range steps {
			ls = append(ls, tr.step(p))
		}
		return ls
	}
	one, two := run(1, 3), run(2, 3)
	for i := range one {
		if one[i] != two[i] {
			t.Fatalf("step %d: loss %v on one worker, %v on two", i, one[i], two[i])
		}
	}
	if !(one[2] < one[0]) {
		t.Errorf("loss did not decrease: %v", one)
	}
	t.Logf("losses %v", one)
}
