package autograd

import (
	"fmt"
	"math"

	"github.com/reconpatch/rp/simd"
	"github.com/reconpatch/rp/tensor"
)

// PairSqDist returns the squared Euclidean distances between the rows of z:
// S_ij = ‖z_i − z_j‖². It runs on simd.SqDist (the Gram form
// ‖z_i‖² + ‖z_j‖² − 2·z_i·z_j on the SGEMM, clamped at 0), whose diagonal is
// exactly 0.
// Shape: z [N D] → [N N].
//
// Backward: with A = g + gᵀ (diagonal dropped),
// ∂/∂z_i = 2·Σ_j A_ij·(z_i − z_j) = 2·(rowsum(A)_i·z_i − (A·z)_i), one GEMM.
func (tp *Tape) PairSqDist(z *Var) *Var {
	checkRank("PairSqDist", "z", z, 2)
	s := pairSqDist(z.Value)
	return tp.record("PairSqDist", s, []*Var{z}, func(g *tensor.Tensor) {
		n := z.Shape()[0]
		gd := g.Data()
		a := make([]float32, n*n)
		for i := range n {
			for j := range n {
				if i != j {
					a[i*n+j] = 2 * (gd[i*n+j] + gd[j*n+i])
				}
			}
		}
		addGrad(z, pairGrad(a, z.Value), true)
	})
}

// PairDist returns the Euclidean distances between the rows of z,
// D_ij = √(‖z_i − z_j‖² + eps), with the squared distances of PairSqDist.
// With eps = 0 the diagonal is exactly 0.
// Shape: z [N D] → [N N].
//
// The backward pass is stable at zero distance: a pair whose distance is 0
// (the diagonal, duplicate rows) contributes no gradient, its subgradient of
// choice, instead of the 0/0 of differentiating √ at 0; the diagonal never
// contributes, whatever eps. Elsewhere, with A_ij = (g_ij + g_ji)/D_ij,
// ∂/∂z_i = Σ_j A_ij·(z_i − z_j) = rowsum(A)_i·z_i − (A·z)_i, one GEMM.
func (tp *Tape) PairDist(z *Var, eps float32) *Var {
	checkRank("PairDist", "z", z, 2)
	if eps < 0 || math.IsNaN(float64(eps)) {
		panic(fmt.Sprintf("autograd: PairDist: eps %v < 0", eps))
	}
	d := pairSqDist(z.Value)
	dd := d.Data()
	for i, v := range dd {
		dd[i] = float32(math.Sqrt(float64(v + eps)))
	}
	return tp.record("PairDist", d, []*Var{z}, func(g *tensor.Tensor) {
		n := z.Shape()[0]
		gd := g.Data()
		a := make([]float32, n*n)
		for i := range n {
			for j := range n {
				if v := dd[i*n+j]; i != j && v > 0 {
					a[i*n+j] = (gd[i*n+j] + gd[j*n+i]) / v
				}
			}
		}
		addGrad(z, pairGrad(a, z.Value), true)
	})
}

// pairSqDist is the [N N] matrix of squared distances between z's rows.
// The rows are centred first (distances do not change), which shrinks the
// norms in the Gram form and with them its rounding error.
func pairSqDist(z *tensor.Tensor) *tensor.Tensor {
	n, d := z.Dim(0), z.Dim(1)
	s := tensor.New(n, n)
	if n > 0 {
		zc := centred(z)
		simd.SqDist(s.Data(), n, zc, n, max(d, 1), zc, n, max(d, 1), d)
	}
	return s
}

// centred returns the rows of z [N D] minus their mean, row-major.
func centred(z *tensor.Tensor) []float32 {
	n, d := z.Dim(0), z.Dim(1)
	zd := data(z)
	mean := make([]float64, d)
	for i := range n {
		for j, v := range zd[i*d : (i+1)*d] {
			mean[j] += float64(v)
		}
	}
	out := make([]float32, n*d)
	for j := range mean {
		mean[j] /= float64(n)
	}
	for i := range n {
		row := out[i*d : (i+1)*d]
		for j, v := range zd[i*d : (i+1)*d] {
			row[j] = float32(float64(v) - mean[j])
		}
	}
	return out
}

// pairGrad returns G with G_i = Σ_j a_ij·(z_i − z_j) = rowsum(a)_i·z_i −
// (a·z)_i for the [N N] matrix a (row-major) and z [N D], computed on the
// centred rows of z (the differences do not change) to limit cancellation.
func pairGrad(a []float32, z *tensor.Tensor) *tensor.Tensor {
	n, d := z.Dim(0), z.Dim(1)
	gz := tensor.New(n, d)
	if n == 0 || d == 0 {
		return gz
	}
	zd, gd := centred(z), gz.Data()
	simd.Sgemm(false, false, n, d, n, -1, a, n, zd, d, 0, gd, d)
	for i := range n {
		var s float64
		for _, v := range a[i*n : (i+1)*n] {
			s += float64(v)
		}
		simd.Axpy(float32(s), zd[i*d:(i+1)*d], gd[i*d:(i+1)*d])
	}
	return gz
}
