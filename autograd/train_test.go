package autograd_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/tensor"
)

// bars draws n 1×12×12 images of four classes — a horizontal bar, a
// vertical bar, a diagonal and an anti-diagonal, each 6 pixels long at a
// random place — with Gaussian noise of σ 0.3.
// Shape: → images [n 1 12 12], labels n.
func bars(rng *rand.Rand, n int) (*tensor.Tensor, []int) {
	const s = 12
	x := tensor.RandNormal(rng, 0, 0.3, n, 1, s, s)
	xd := x.Data()
	labels := make([]int, n)
	for i := range n {
		c := rng.IntN(4)
		labels[i] = c
		r0, c0 := rng.IntN(s-6), rng.IntN(s-6)
		for k := range 6 {
			var r, cc int
			switch c {
			case 0:
				r, cc = r0+3, c0+k
			case 1:
				r, cc = r0+k, c0+3
			case 2:
				r, cc = r0+k, c0+k
			case 3:
				r, cc = r0+k, c0+5-k
			}
			xd[i*s*s+r*s+cc] += 1
		}
	}
	return x, labels
}

// smallCNN is conv(1→8) → BN → ReLU → conv(8→16, stride 2) → ReLU →
// conv(16→16, stride 2) → ReLU → global mean → Linear(16→4).
type smallCNN struct {
	c1, c2, c3 *autograd.Conv2d
	bn         *autograd.BatchNorm
	fc         *autograd.Linear
}

func newSmallCNN(rng *rand.Rand) *smallCNN {
	pad1 := autograd.ConvOptions{Padding: [2]int{1, 1}}
	down := autograd.ConvOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}
	return &smallCNN{
		c1: autograd.NewConv2d(rng, 1, 8, 3, 3, false, pad1),
		bn: autograd.NewBatchNorm(8),
		c2: autograd.NewConv2d(rng, 8, 16, 3, 3, true, down),
		c3: autograd.NewConv2d(rng, 16, 16, 3, 3, true, down),
		fc: autograd.NewLinear(rng, 16, 4, true),
	}
}

func (m *smallCNN) forward(tp *autograd.Tape, x *autograd.Var) *autograd.Var {
	h := tp.ReLU(m.bn.Forward(tp, m.c1.Forward(tp, x))) // [N 8 12 12]
	h = tp.ReLU(m.c2.Forward(tp, h))                    // [N 16 6 6]
	h = tp.ReLU(m.c3.Forward(tp, h))                    // [N 16 3 3]
	return m.fc.Forward(tp, tp.Mean(h, false, 2, 3))    // [N 16] → [N 4]
}

func (m *smallCNN) params() []*autograd.Var {
	return autograd.Params(m.c1, m.bn, m.c2, m.c3, m.fc)
}

// adam is a minimal Adam for this test (package nn/optim depends on
// autograd, so it cannot be used here).
type adam struct {
	params []*autograd.Var
	m, v   [][]float32
	t      int
}

func (a *adam) step(lr float64) {
	a.t++
	b1, b2 := 0.9, 0.999
	c1, c2 := 1-math.Pow(b1, float64(a.t)), 1-math.Pow(b2, float64(a.t))
	for i, p := range a.params {
		if a.m == nil {
			a.m, a.v = make([][]float32, len(a.params)), make([][]float32, len(a.params))
		}
		if a.m[i] == nil {
			a.m[i], a.v[i] = make([]float32, p.Value.Size()), make([]float32, p.Value.Size())
		}
		w, g := p.Value.Data(), p.Grad.Data()
		for j := range w {
			a.m[i][j] = float32(b1*float64(a.m[i][j]) + (1-b1)*float64(g[j]))
			a.v[i][j] = float32(b2*float64(a.v[i][j]) + (1-b2)*float64(g[j])*float64(g[j]))
			w[j] -= float32(lr * float64(a.m[i][j]) / c1 / (math.Sqrt(float64(a.v[i][j])/c2) + 1e-8))
		}
		p.ZeroGrad()
	}
}

// TestTrainCNN trains the small CNN on the bars task and requires > 95 %
// accuracy on held-out images (batch norm in evaluation mode).
func TestTrainCNN(t *testing.T) {
	start := time.Now()
	rng := rand.New(rand.NewPCG(42, 1))
	net := newSmallCNN(rng)
	opt := &adam{params: net.params()}
	const steps, batch = 200, 32
	var last float64
	for range steps {
		x, labels := bars(rng, batch)
		tp := autograd.NewTape()
		loss := tp.CrossEntropy(net.forward(tp, autograd.NewConst(x)), labels)
		tp.Backward(loss)
		opt.step(1e-2)
		last = loss.Item()
	}
	net.bn.Training = false
	x, labels := bars(rand.New(rand.NewPCG(7, 7)), 512)
	correct := 0
	for b0 := 0; b0 < len(labels); b0 += batch {
		xb := autograd.NewConst(x.Narrow(0, b0, batch))
		pred := tensor.ArgMax(net.forward(nil, xb).Value, 1, false).Data()
		for i, p := range pred {
			if int(p) == labels[b0+i] {
				correct++
			}
		}
	}
	acc := float64(correct) / float64(len(labels))
	t.Logf("%d steps of batch %d in %v: last training loss %.3f, held-out accuracy %.1f %%", steps, batch, time.Since(start).Round(time.Millisecond), last, 100*acc)
	if acc <= 0.95 {
		t.Errorf("held-out accuracy %.1f %% ≤ 95 %%", 100*acc)
	}
}
