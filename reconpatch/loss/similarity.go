package loss

import (
	"fmt"
	"github.com/reconpatch/rp/internal/order"
	"math"
	"slices"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/simd"
	"github.com/reconpatch/rp/tensor"
)

// Options are the hyper-parameters of the soft labels and the loss.
type Options struct {
	// Sigma is the bandwidth σ of the pairwise similarity (1 in every
	// implementation).
	Sigma float64
	// AdaptiveSigma multiplies Sigma by the batch's median squared
	// distance between z̄ vectors, making w^pair scale-free.
	AdaptiveSigma bool
	// K is the number of nearest neighbours, i itself included (5).
	K int
	// Alpha weighs the pairwise against the contextual similarity (0.5).
	Alpha float64
	// Margin is m of the push term (1).
	Margin float64
	// Normalize L2-normalises every z̄ vector before the similarities, as
	// STML does.
	Normalize bool
}

// DefaultOptions returns the project defaults of section 12: σ = 1 on raw
// z̄, k = 5, α = 0.5, m = 1.
func DefaultOptions() Options {
	return Options{Sigma: 1, K: 5, Alpha: 0.5, Margin: 1}
}

func (o Options) check() {
	if !(o.Sigma > 0) || o.K < 1 || !(o.Alpha >= 0 && o.Alpha <= 1) || !(o.Margin >= 0) {
		panic(fmt.Sprintf("loss: bad options %+v: need σ > 0, k ≥ 1, α in [0, 1], m ≥ 0", o))
	}
}

// Stats are diagnostics of one batch's soft labels.
type Stats struct {
	// MedianSqDist is the median of ‖z̄_i − z̄_j‖² over the pairs i < j
	// (after normalisation, when Normalize is set).
	MedianSqDist float64
	// Sigma is the bandwidth used (Sigma, or Sigma·MedianSqDist).
	Sigma float64
	// MeanPair and MeanCtx are the means of w^pair and w^ctx off the
	// diagonal.
	MeanPair, MeanCtx float64
}

// SoftLabels returns the soft labels w [N N] for the EMA embeddings zbar
// [N D] and diagnostics of the batch. w is symmetric up to rounding and has
// no gradient.
func SoftLabels(zbar *tensor.Tensor, opt Options) (*tensor.Tensor, Stats) {
	opt.check()
	if zbar.Dims() != 2 {
		panic(fmt.Sprintf("loss: SoftLabels: embeddings of shape %v: need [N D]", zbar.Shape()))
	}
	if opt.Normalize {
		zbar = NormalizeRows(zbar)
	}
	var tp *autograd.Tape // no grad
	sq := tp.PairSqDist(autograd.NewConst(zbar)).Value
	var st Stats
	st.MedianSqDist = MedianOffDiagonal(sq)
	st.Sigma = opt.Sigma
	if opt.AdaptiveSigma && st.MedianSqDist > 0 {
		st.Sigma *= st.MedianSqDist
	}
	ctx := ContextualSimilarity(sq, opt.K)
	w := PairwiseSimilarity(sq, st.Sigma)
	st.MeanPair, st.MeanCtx = meanOffDiagonal(w), meanOffDiagonal(ctx)
	a := float32(opt.Alpha)
	wd, cd := w.Data(), ctx.Data()
	for i := range wd {
		wd[i] = a*wd[i] + (1-a)*cd[i]
	}
	return w, st
}

// PairwiseSimilarity returns exp(−sq/σ) for the squared distances sq
// [N N]. Shape: [N N] → [N N].
func PairwiseSimilarity(sq *tensor.Tensor, sigma float64) *tensor.Tensor {
	if !(sigma > 0) {
		panic(fmt.Sprintf("loss: PairwiseSimilarity: σ = %v", sigma))
	}
	w := tensor.MulScalar(sq, float32(-1/sigma))
	d := w.Data()
	simd.Exp(d, d)
	return w
}

// ContextualSimilarity returns w^ctx [N N] from the squared distances sq
// [N N] between the EMA embeddings (section 6.2):
//
//  1. N_k(i): i itself first, then the k − 1 nearest other points, ties
//     broken by the lower index (exact top-k);
//  2. w̃_ij = |N_k(i) ∩ N_k(j)|/k for j ∈ N_k(i), else 0;
//  3. R(i) = {l ∈ N_h(i) : i ∈ N_h(l)} with h = max(1, ⌊k/2⌋) (the
//     reciprocal half-neighbourhood, which holds i), and
//     ŵ_ij = (1/|R(i)|)·Σ_{l∈R(i)} w̃_lj;
//  4. w^ctx = (ŵ + ŵᵀ)/2.
//
// The top-k selection reads each row of sq once (O(N²), as any use of the
// distance matrix; a candidate is inserted in O(k) only when it beats the
// current k-th). After it, w̃ has k non-zeros per row and ŵ at most h·k, so
// the similarity itself costs O(N·k²), with no N×N (let alone N×N×N)
// products; only the dense result is N×N. k is capped at N.
func ContextualSimilarity(sq *tensor.Tensor, k int) *tensor.Tensor {
	if sq.Dims() != 2 || sq.Dim(0) != sq.Dim(1) {
		panic(fmt.Sprintf("loss: ContextualSimilarity: distances of shape %v: need [N N]", sq.Shape()))
	}
	if k < 1 {
		panic(fmt.Sprintf("loss: ContextualSimilarity: k = %d", k))
	}
	n := sq.Dim(0)
	out := tensor.New(n, n)
	if n == 0 {
		return out
	}
	k = min(k, n)
	h := max(1, k/2)
	nb := Neighbours(sq, k) // [n][k]
	// w̃ row i: values at the columns nb[i].
	wt := make([]float32, n*k)
	mark := make([]int, n) // mark[x] = i+1 when x ∈ N_k(i)
	for i := range n {
		for _, x := range nb[i*k : (i+1)*k] {
			mark[x] = i + 1
		}
		for a, j := range nb[i*k : (i+1)*k] {
			c := 0
			for _, x := range nb[j*k : (j+1)*k] {
				if mark[x] == i+1 {
					c++
				}
			}
			wt[i*k+a] = float32(c) / float32(k)
		}
	}
	od := out.Data()
	var r []int
	for i := range n {
		r = r[:0]
		for _, l := range nb[i*k : i*k+h] {
			if slices.Contains(nb[l*k:l*k+h], i) {
				r = append(r, l)
			}
		}
		scale := 0.5 / float32(len(r))
		for _, l := range r {
			for a, j := range nb[l*k : (l+1)*k] {
				v := scale * wt[l*k+a]
				od[i*n+j] += v
				od[j*n+i] += v
			}
		}
	}
	return out
}

// Neighbours returns, for each row i of the squared distances sq [N N],
// its k nearest points in order: i first, then the k − 1 nearest others by
// increasing distance, ties broken by the lower index. The result is
// row-major [N k]. It panics if k > N.
func Neighbours(sq *tensor.Tensor, k int) []int {
	n := sq.Dim(0)
	if k > n || k < 1 {
		panic(fmt.Sprintf("loss: Neighbours: k = %d for %d points", k, n))
	}
	d := sq.Contiguous().Data()
	out := make([]int, n*k)
	for i := range n {
		row := d[i*n : (i+1)*n]
		sel := out[i*k : (i+1)*k]
		sel[0] = i
		if k == 1 {
			continue
		}
		m := 1 // sel[1:m] sorted by (distance, index)
		for j, v := range row {
			if j == i {
				continue
			}
			if m == k && !less(v, j, row[sel[m-1]], sel[m-1]) {
				continue
			}
			p := min(m, k-1) // insertion point search from the end
			for p > 1 && less(v, j, row[sel[p-1]], sel[p-1]) {
				sel[p] = sel[p-1]
				p--
			}
			sel[p] = j
			if m < k {
				m++
			}
		}
	}
	return out
}

// less orders by distance, then index; NaN sorts last.
func less(v float32, j int, w float32, l int) bool {
	switch {
	case v != v:
		return false
	case w != w:
		return true
	case v != w:
		return v < w
	}
	return j < l
}

// MedianOffDiagonal returns the median of sq[i][j] over i < j (the lower
// middle value for an even count), NaN for fewer than two points.
func MedianOffDiagonal(sq *tensor.Tensor) float64 {
	n := sq.Dim(0)
	if n < 2 {
		return math.NaN()
	}
	d := sq.Contiguous().Data()
	vals := make([]float32, 0, n*(n-1)/2)
	for i := range n {
		vals = append(vals, d[i*n+i+1:(i+1)*n]...)
	}
	k := (len(vals) - 1) / 2
	order.SelectKth(vals, k)
	return float64(vals[k])
}

func meanOffDiagonal(w *tensor.Tensor) float64 {
	n := w.Dim(0)
	if n < 2 {
		return math.NaN()
	}
	d := w.Data()
	var s float64
	for i := range n {
		for j := range n {
			if i != j {
				s += float64(d[i*n+j])
			}
		}
	}
	return s / float64(n*(n-1))
}

// NormalizeRows returns the rows of z [N D] divided by their L2 norms
// (rows of norm below 1e-12 are divided by 1e-12, as F.normalize).
func NormalizeRows(z *tensor.Tensor) *tensor.Tensor {
	out := z.Clone()
	n, d := z.Dim(0), z.Dim(1)
	od := out.Data()
	for i := range n {
		row := od[i*d : (i+1)*d]
		var s float64
		for _, v := range row {
			s += float64(v) * float64(v)
		}
		inv := 1 / math.Max(math.Sqrt(s), 1e-12)
		for j, v := range row {
			row[j] = float32(float64(v) * inv)
		}
	}
	return out
}
