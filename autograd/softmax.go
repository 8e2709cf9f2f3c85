package autograd

import (
	"fmt"
	"math"

	"github.com/reconpatch/rp/tensor"
)

// LogSoftmax returns log softmax over the last dimension, computed stably
// as x − max − log Σ exp(x − max) in float64 per row.
// Shape: [… K] → [… K].
//
// Backward: ∂/∂x = g − softmax(x)·Σ_k g_k (per row).
func (tp *Tape) LogSoftmax(x *Var) *Var {
	xs := x.Shape()
	if len(xs) == 0 {
		panic("autograd: LogSoftmax of a 0-d value")
	}
	k := xs[len(xs)-1]
	y := tensor.New(xs...)
	xd, yd := data(x.Value), y.Data()
	for r := 0; r+k <= len(xd) && k > 0; r += k {
		logSoftmaxRow(yd[r:r+k], xd[r:r+k])
	}
	return tp.record("LogSoftmax", y, []*Var{x}, func(g *tensor.Tensor) {
		gd := g.Data()
		for r := 0; r+k <= len(gd) && k > 0; r += k {
			var s float64
			for _, v := range gd[r : r+k] {
				s += float64(v)
			}
			for j := range k {
				gd[r+j] = float32(float64(gd[r+j]) - math.Exp(float64(yd[r+j]))*s)
			}
		}
		addGrad(x, g, true)
	})
}

// CrossEntropy returns the mean over the N rows of −log softmax(logits)[label],
// PyTorch's cross_entropy with integer targets.
// Shape: logits [N K], labels N values in [0, K) → [] (a scalar).
//
// Backward: ∂/∂logits = g·(softmax(logits) − onehot(labels))/N.
func (tp *Tape) CrossEntropy(logits *Var, labels []int) *Var {
	checkRank("CrossEntropy", "logits", logits, 2)
	n, k := logits.Shape()[0], logits.Shape()[1]
	if len(labels) != n {
		panic(fmt.Sprintf("autograd: CrossEntropy: %d labels for logits %v", len(labels), logits.Shape()))
	}
	xd := data(logits.Value)
	logp := make([]float32, n*k)
	var loss float64
	for i, l := range labels {
		if l < 0 || l >= k {
			panic(fmt.Sprintf("autograd: CrossEntropy: label %d out of range [0, %d)", l, k))
		}
		logSoftmaxRow(logp[i*k:(i+1)*k], xd[i*k:(i+1)*k])
		loss -= float64(logp[i*k+l])
	}
	y := tensor.Scalar(float32(loss / float64(max(n, 1))))
	return tp.record("CrossEntropy", y, []*Var{logits}, func(g *tensor.Tensor) {
		s := float64(g.Data()[0]) / float64(max(n, 1))
		gx := tensor.New(n, k)
		gd := gx.Data()
		for i, l := range labels {
			for j := range k {
				p := math.Exp(float64(logp[i*k+j]))
				if j == l {
					p--
				}
				gd[i*k+j] = float32(s * p)
			}
		}
		addGrad(logits, gx, true)
	})
}

// logSoftmaxRow writes log softmax of x into dst.
func logSoftmaxRow(dst, x []float32) {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	ls := m + math.Log(s)
	for j, v := range x {
		dst[j] = float32(float64(v) - ls)
	}
}
