package loss

import (
	"fmt"
	"slices"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/tensor"
)

// Loss computes the soft labels from the EMA embeddings zbar [N D] (no
// gradient) and returns the relaxed contrastive loss of the online
// embeddings z [N D] with them, and the labels' diagnostics.
func Loss(tp *autograd.Tape, z *autograd.Var, zbar *tensor.Tensor, opt Options) (*autograd.Var, Stats) {
	w, st := SoftLabels(zbar, opt)
	return RelaxedContrastive(tp, z, w, opt.Margin), st
}

// RelaxedContrastive returns the relaxed contrastive loss (section 6.4) of
// the embeddings z [N D] with the soft labels w [N N] and margin m, a
// scalar:
//
//	d_ij = ‖z_i − z_j‖,  μ_i = (1/N)·Σ_n d_in,  δ_ij = d_ij/μ_i
//	L = (1/N)·Σ_i Σ_j [w_ij·δ_ij² + (1 − w_ij)·max(m − δ_ij, 0)²]
//
// The distances are autograd's PairDist (eps 0, exact zeros on the
// diagonal, stable backward at zero distance); the rest is one fused
// operation whose backward is the hand-derived gradient of section 6.5:
//
//	G_ij = (2/N)·[w_ij·δ_ij − (1 − w_ij)·max(m − δ_ij, 0)]      (∂L/∂δ_ij)
//	H_ik = G_ik/μ_i − (Σ_j G_ij·d_ij)/(N·μ_i²)                  (∂L/∂d_ik through row i, mean included)
//
// and PairDist turns H into ∂L/∂z_i = Σ_{k≠i} (H_ik + H_ki)·(z_i − z_k)/d_ik
// with one GEMM. A row whose points all coincide (μ_i = 0) contributes its
// push term m² per pair and no gradient. Sums run in float64.
func RelaxedContrastive(tp *autograd.Tape, z *autograd.Var, w *tensor.Tensor, m float64) *autograd.Var {
	d := tp.PairDist(z, 0)
	n := d.Shape()[0]
	if !slices.Equal(w.Shape(), []int{n, n}) {
		panic(fmt.Sprintf("loss: RelaxedContrastive: labels %v for %d embeddings", w.Shape(), n))
	}
	dd, wd := d.Value.Data(), w.Contiguous().Data()
	mu := make([]float64, n)
	var loss float64
	for i := range n {
		row := dd[i*n : (i+1)*n]
		var s float64
		for _, v := range row {
			s += float64(v)
		}
		mu[i] = s / float64(n)
		inv := 0.0
		if mu[i] > 0 {
			inv = 1 / mu[i]
		}
		wrow := wd[i*n : (i+1)*n]
		for j, v := range row {
			delta := float64(v) * inv
			wij := float64(wrow[j])
			push := max(m-delta, 0)
			loss += wij*delta*delta + (1-wij)*push*push
		}
	}
	value := tensor.Scalar(float32(loss / float64(n)))
	return tp.Func("RelaxedContrastive", value, []*autograd.Var{d}, func(g *tensor.Tensor) []*tensor.Tensor {
		scale := float64(g.Data()[0]) * 2 / float64(n)
		h := tensor.New(n, n)
		hd := h.Data()
		gi := make([]float64, n)
		for i := range n {
			if mu[i] == 0 {
				continue
			}
			inv := 1 / mu[i]
			row, wrow := dd[i*n:(i+1)*n], wd[i*n:(i+1)*n]
			var c float64
			for j, v := range row {
				delta := float64(v) * inv
				wij := float64(wrow[j])
				gij := scale * (wij*delta - (1-wij)*max(m-delta, 0))
				gi[j] = gij
				c += gij * float64(v)
			}
			corr := c * inv * inv / float64(n)
			hrow := hd[i*n : (i+1)*n]
			for j, v := range gi {
				hrow[j] = float32(v*inv - corr)
			}
		}
		return []*tensor.Tensor{h}
	})
}

// RelaxedContrastiveComposed is the same loss as RelaxedContrastive built
// from generic autograd operations (PairDist, Mean, Div, Mul, ClampMin,
// Sum), so that its gradient is autograd's chain rule rather than the hand
// derivation. It is the reference the fused form is tested against, and a
// starting point for variants; it is slower and records about ten nodes.
func RelaxedContrastiveComposed(tp *autograd.Tape, z *autograd.Var, w *tensor.Tensor, m float64) *autograd.Var {
	d := tp.PairDist(z, 0)                                        // [N N]
	delta := tp.Div(d, tp.Mean(d, true, 1))                       // [N N] / [N 1]
	wv := autograd.NewConst(w)                                    // [N N]
	notW := autograd.NewConst(tensor.AddScalar(tensor.Neg(w), 1)) // 1 − w
	pull := tp.Mul(wv, tp.Square(delta))
	push := tp.Mul(notW, tp.Square(tp.ClampMin(tp.AddScalar(tp.Neg(delta), float32(m)), 0)))
	n := float32(d.Shape()[0])
	return tp.Scale(tp.Sum(tp.Add(pull, push), false), 1/n)
}
