package loss_test

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/autograd/autogradtest"
	"github.com/reconpatch/rp/reconpatch/loss"
	"github.com/reconpatch/rp/tensor"
)

// relTol bounds ‖go − torch‖₂/‖torch‖₂ against PyTorch's float64 results.
const relTol = 1e-5

func to64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// refLoss is the relaxed contrastive loss in float64, straight from the
// definition (section 6.4).
func refLoss(n, d int, z, w []float64, m float64) float64 {
	dist := make([]float64, n*n)
	for i := range n {
		for j := range n {
			var s float64
			for p := range d {
				e := z[i*d+p] - z[j*d+p]
				s += e * e
			}
			dist[i*n+j] = math.Sqrt(s)
		}
	}
	var l float64
	for i := range n {
		var mu float64
		for j := range n {
			mu += dist[i*n+j]
		}
		mu /= float64(n)
		for j := range n {
			delta := dist[i*n+j] / mu
			push := math.Max(m-delta, 0)
			l += w[i*n+j]*delta*delta + (1-w[i*n+j])*push*push
		}
	}
	return l / float64(n)
}

// closedForm is the hand-derived gradient of section 6.5 in float64:
// ∂L/∂z_i = Σ_{k≠i} (H_ik + H_ki)·(z_i − z_k)/d_ik with
// H_ik = G_ik/μ_i − (Σ_j G_ij d_ij)/(N μ_i²).
func closedForm(n, d int, z, w []float64, m float64) []float64 {
	dist := make([]float64, n*n)
	for i := range n {
		for j := range n {
			var s float64
			for p := range d {
				e := z[i*d+p] - z[j*d+p]
				s += e * e
			}
			dist[i*n+j] = math.Sqrt(s)
		}
	}
	h := make([]float64, n*n)
	for i := range n {
		var mu float64
		for j := range n {
			mu += dist[i*n+j]
		}
		mu /= float64(n)
		g := make([]float64, n)
		var c float64
		for j := range n {
			delta := dist[i*n+j] / mu
			g[j] = 2 / float64(n) * (w[i*n+j]*delta - (1-w[i*n+j])*math.Max(m-delta, 0))
			c += g[j] * dist[i*n+j]
		}
		for k := range n {
			h[i*n+k] = g[k]/mu - c/(float64(n)*mu*mu)
		}
	}
	out := make([]float64, n*d)
	for i := range n {
		for k := range n {
			if k == i {
				continue
			}
			a := (h[i*n+k] + h[k*n+i]) / dist[i*n+k]
			for p := range d {
				out[i*d+p] += a * (z[i*d+p] - z[k*d+p])
			}
		}
	}
	return out
}

type lossFunc func(tp *autograd.Tape, z *autograd.Var, w *tensor.Tensor, m float64) *autograd.Var

var forms = []struct {
	name string
	f    lossFunc
}{
	{"fused", loss.RelaxedContrastive},
	{"composed", loss.RelaxedContrastiveComposed},
}

func TestAgainstTorch(t *testing.T) {
	fx, err := autogradtest.LoadFixture(filepath.Join("testdata", "loss.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range fx.Cases {
		t.Run(c.Name, func(t *testing.T) {
			var o struct {
				Sigma         float64 `json:"sigma"`
				AdaptiveSigma bool    `json:"adaptive_sigma"`
				K             int     `json:"k"`
				Alpha         float64 `json:"alpha"`
				Margin        float64 `json:"margin"`
				Normalize     bool    `json:"normalize"`
			}
			if err := c.Decode(&o); err != nil {
				t.Fatal(err)
			}
			opt := loss.Options{Sigma: o.Sigma, AdaptiveSigma: o.AdaptiveSigma, K: o.K, Alpha: o.Alpha, Margin: o.Margin, Normalize: o.Normalize}
			check := func(what string, got []float32, role string, tol float64) {
				e := autogradtest.RelErr(got, to64(fx.Tensor(c, role).Data()))
				if e > tol {
					t.Errorf("%s: relative error %.2g > %.0g", what, e, tol)
				}
				t.Logf("%-16s relative error %.1e", what, e)
			}
			zbar := fx.Tensor(c, "zbar")
			w, st := loss.SoftLabels(zbar, opt)
			check("soft labels w", w.Data(), "w", relTol)
			zb := zbar
			if opt.Normalize {
				zb = loss.NormalizeRows(zbar)
			}
			sq := (*autograd.Tape)(nil).PairSqDist(autograd.NewConst(zb)).Value
			check("w_pair", loss.PairwiseSimilarity(sq, st.Sigma).Data(), "wpair", relTol)
			// w_ctx is made of exact fractions; the neighbour sets must match.
			check("w_ctx", loss.ContextualSimilarity(sq, opt.K).Data(), "wctx", 1e-7)
			check("median sq dist", []float32{float32(st.MedianSqDist)}, "median", relTol)

			// The loss and its gradient with torch's labels, both forms.
			for _, form := range forms {
				z := autograd.NewParam(fx.Tensor(c, "z").Clone())
				tp := autograd.NewTape()
				l := form.f(tp, z, fx.Tensor(c, "w"), opt.Margin)
				tp.Backward(l)
				check(form.name+" loss", l.Value.Data(), "loss", relTol)
				check(form.name+" grad", z.Grad.Data(), "grad_z", relTol)
			}
		})
	}
}

// TestGradient compares, on random data, the gradient of both forms with
// the closed form of section 6.5 and with central differences of the
// float64 loss.
func TestGradient(t *testing.T) {
	for _, tc := range []struct {
		n, d int
		m    float64
	}{{7, 3, 1}, {12, 5, 1.2}, {9, 4, 0.7}} {
		rng := rand.New(rand.NewPCG(uint64(tc.n), 1))
		z := tensor.RandUniform(rng, -1, 1, tc.n, tc.d)
		zbar := tensor.Add(z, tensor.RandUniform(rng, -0.2, 0.2, tc.n, tc.d))
		opt := loss.DefaultOptions()
		opt.K, opt.Margin = 4, tc.m
		w, _ := loss.SoftLabels(zbar, opt)
		w64 := to64(w.Data())
		cf := closedForm(tc.n, tc.d, to64(z.Data()), w64, tc.m)
		for _, form := range forms {
			res, err := autogradtest.Check(autogradtest.Case{
				Inputs: []*tensor.Tensor{z},
				F: func(tp *autograd.Tape, x []*autograd.Var) *autograd.Var {
					return form.f(tp, x[0], w, tc.m)
				},
				Ref: func(x [][]float64) []float64 { return []float64{refLoss(tc.n, tc.d, x[0], w64, tc.m)} },
			})
			if err != nil {
				t.Fatal(err)
			}
			zv := autograd.NewParam(z.Clone())
			tp := autograd.NewTape()
			tp.Backward(form.f(tp, zv, w, tc.m))
			eCF := autogradtest.RelErr(zv.Grad.Data(), cf)
			t.Logf("N=%d D=%d m=%v %s: vs finite differences %.1e (forward %.1e), vs closed form %.1e",
				tc.n, tc.d, tc.m, form.name, res.Grad, res.Forward, eCF)
			if res.Grad > 1e-5 || res.Forward > 1e-6 || eCF > 1e-5 {
				t.Errorf("%s: errors too large", form.name)
			}
		}
	}
}

// denseContextual is section 6.2 with dense N×N sets, as the PyTorch
// reference in the fixture script computes it; neighbours come from
// loss.Neighbours.
func denseContextual(sq *tensor.Tensor, k int) []float64 {
	n := sq.Dim(0)
	h := max(1, k/2)
	nb := loss.Neighbours(sq, k)
	in := func(i, j, upto int) bool { return slices.Contains(nb[i*k:i*k+upto], j) }
	wt := make([]float64, n*n)
	for i := range n {
		for j := range n {
			if !in(i, j, k) {
				continue
			}
			c := 0
			for x := range n {
				if in(i, x, k) && in(j, x, k) {
					c++
				}
			}
			wt[i*n+j] = float64(c) / float64(k)
		}
	}
	what := make([]float64, n*n)
	for i := range n {
		var r []int
		for l := range n {
			if in(i, l, h) && in(l, i, h) {
				r = append(r, l)
			}
		}
		for _, l := range r {
			for j := range n {
				what[i*n+j] += wt[l*n+j] / float64(len(r))
			}
		}
	}
	out := make([]float64, n*n)
	for i := range n {
		for j := range n {
			out[i*n+j] = (what[i*n+j] + what[j*n+i]) / 2
		}
	}
	return out
}

func TestContextualSimilarity(t *testing.T) {
	// A 4×4 lattice has many equal distances: the lower index must win.
	var pts []float32
	for y := range 4 {
		for x := range 4 {
			pts = append(pts, float32(x), float32(y))
		}
	}
	lattice := tensor.FromSlice(pts, 16, 2)
	rng := rand.New(rand.NewPCG(9, 9))
	for _, tc := range []struct {
		name string
		z    *tensor.Tensor
		k    int
	}{
		{"lattice-k5", lattice, 5},
		{"lattice-k4", lattice, 4},
		{"random-k1", tensor.RandNormal(rng, 0, 1, 9, 3), 1},
		{"random-k6", tensor.RandNormal(rng, 0, 1, 30, 4), 6},
		{"k-above-n", tensor.RandNormal(rng, 0, 1, 3, 4), 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sq := (*autograd.Tape)(nil).PairSqDist(autograd.NewConst(tc.z)).Value
			got := loss.ContextualSimilarity(sq, tc.k)
			k := min(tc.k, tc.z.Dim(0))
			if e := autogradtest.RelErr(got.Data(), denseContextual(sq, k)); e > 1e-7 {
				t.Errorf("sparse vs dense: relative error %.2g", e)
			}
			n := tc.z.Dim(0)
			for i := range n {
				for j := range n {
					if got.At(i, j) != got.At(j, i) {
						t.Fatalf("not symmetric at (%d, %d)", i, j)
					}
				}
			}
		})
	}
	// Lattice point 5 = (1, 1): itself, then the four at distance 1 in
	// index order 1, 4, 6, 9.
	nb := loss.Neighbours((*autograd.Tape)(nil).PairSqDist(autograd.NewConst(lattice)).Value, 5)
	if got := nb[5*5 : 6*5]; !slices.Equal(got, []int{5, 1, 4, 6, 9}) {
		t.Errorf("neighbours of 5: %v", got)
	}
}

// TestStats checks the diagnostics on scaled copies of one batch: the
// median squared distance scales with the square of the embeddings, and
// normalisation or AdaptiveSigma make the labels scale-free.
func TestStats(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	z := tensor.RandNormal(rng, 0, 1, 40, 8)
	opt := loss.DefaultOptions()
	_, st1 := loss.SoftLabels(z, opt)
	_, st10 := loss.SoftLabels(tensor.MulScalar(z, 10), opt)
	if r := st10.MedianSqDist / st1.MedianSqDist; math.Abs(r-100) > 1e-3 {
		t.Errorf("median ratio %v, want 100", r)
	}
	if !(st10.MeanPair < st1.MeanPair) {
		t.Errorf("w_pair does not shrink with the scale: %v, %v", st1.MeanPair, st10.MeanPair)
	}
	for _, o := range []loss.Options{
		{Sigma: 1, K: 5, Alpha: 0.5, Margin: 1, Normalize: true},
		{Sigma: 1, K: 5, Alpha: 0.5, Margin: 1, AdaptiveSigma: true},
	} {
		w1, _ := loss.SoftLabels(z, o)
		w10, _ := loss.SoftLabels(tensor.MulScalar(z, 10), o)
		if !tensor.AllClose(w1, w10, 1e-4, 1e-5) {
			t.Errorf("options %+v: labels depend on the scale", o)
		}
	}
}
