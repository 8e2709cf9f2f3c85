package reconpatch

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/reconpatch/rp/simd"
	"github.com/reconpatch/rp/tensor"
)

// bruteNearest is the float64 nearest neighbour of every query: indices and
// squared distances, plus the gap to the second nearest.
func bruteNearest(q, bank []float32, n, m, d int) (idx []int, sq, gap []float64) {
	idx, sq, gap = make([]int, n), make([]float64, n), make([]float64, n)
	for i := range n {
		best, second := math.Inf(1), math.Inf(1)
		for j := range m {
			var s float64
			for k := range d {
				e := float64(q[i*d+k]) - float64(bank[j*d+k])
				s += e * e
			}
			if s < best {
				second, best, idx[i] = best, s, j
			} else if s < second {
				second = s
			}
		}
		sq[i], gap[i] = best, second-best
	}
	return
}

func TestNearestMatchesBruteForce(t *testing.T) {
	defer simd.SetThreads(simd.SetThreads(0))
	for _, tc := range []struct{ n, m, d int }{{1, 1, 3}, {37, 5, 7}, {300, 2500, 64}, {600, 700, 130}} {
		rng := rand.New(rand.NewPCG(uint64(tc.n), uint64(tc.m)))
		bankData := tensor.RandNormal(rng, 1, 1, tc.m, tc.d).Data()
		q := tensor.RandNormal(rng, 1, 1.2, tc.n, tc.d).Data()
		// A few queries sit exactly on bank rows.
		for i := 0; i < tc.n; i += 7 {
			copy(q[i*tc.d:][:tc.d], bankData[(i%tc.m)*tc.d:][:tc.d])
		}
		bank, err := NewMemoryBank(bankData, tc.m, tc.d, Float32)
		if err != nil {
			t.Fatal(err)
		}
		wantIdx, wantSq, gap := bruteNearest(q, bankData, tc.n, tc.m, tc.d)
		for _, dist := range []Distance{Euclidean, SquaredEuclidean} {
			s, err := NewScorer(bank, ScoreConfig{Distance: dist})
			if err != nil {
				t.Fatal(err)
			}
			for _, threads := range []int{1, 2} {
				simd.SetThreads(threads)
				idx, got := make([]int, tc.n), make([]float32, tc.n)
				s.Nearest(q, tc.n, idx, got)
				var maxRel float64
				for i := range tc.n {
					want := wantSq[i]
					if dist == Euclidean {
						want = math.Sqrt(want)
					}
					// Gram-matrix distances: error ≲ d·ε·(‖q‖² + ‖b‖²).
					if idx[i] != wantIdx[i] && gap[i] > 1e-3 {
						t.Fatalf("%v n=%d query %d: nearest %d, want %d (gap %v)", dist, tc.n, i, idx[i], wantIdx[i], gap[i])
					}
					if i%7 == 0 && got[i] != 0 {
						t.Fatalf("query %d equals a bank row but scores %v", i, got[i])
					}
					if want > 0.1 {
						maxRel = max(maxRel, math.Abs(float64(got[i])-want)/want)
					}
				}
				if maxRel > 1e-4 {
					t.Errorf("%v n=%d m=%d: max relative error %.3g", dist, tc.n, tc.m, maxRel)
				}
			}
		}
	}
}

func TestScoreImagesAndReweight(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	m, d, n, p := 300, 16, 3, 49
	bankData := tensor.RandNormal(rng, 0, 1, m, d).Data()
	bank, _ := NewMemoryBank(bankData, m, d, Float32)
	feats := tensor.RandNormal(rng, 0, 1.3, n, p, d)
	plain, _ := NewScorer(bank, ScoreConfig{})
	r, err := plain.Score(feats)
	if err != nil {
		t.Fatal(err)
	}
	q := feats.Data()
	for i := range n {
		wantIdx, wantSq, _ := bruteNearest(q[i*p*d:], bankData, p, m, d)
		maxS, jmax := -1.0, 0
		for j := range p {
			if s := math.Sqrt(wantSq[j]); s > maxS {
				maxS, jmax = s, j
			}
			if r.Nearest[i*p+j] != wantIdx[j] {
				t.Fatalf("image %d patch %d: nearest %d want %d", i, j, r.Nearest[i*p+j], wantIdx[j])
			}
		}
		if math.Abs(float64(r.Image[i])-maxS) > 1e-4*maxS || len(r.PatchScores(i)) != p {
			t.Errorf("image %d: score %v, want %v", i, r.Image[i], maxS)
		}

		// Re-weighting, b = 9, in float64: the b bank rows nearest to m*,
		// softmax of the distances from t*, read at m*.
		const b = 9
		ms := wantIdx[jmax]
		type nb struct {
			j int
			d float64
		}
		var nbs []nb
		for j := range m {
			var s float64
			for k := range d {
				e := float64(bankData[ms*d+k]) - float64(bankData[j*d+k])
				s += e * e
			}
			nbs = append(nbs, nb{j, s})
		}
		sort.SliceStable(nbs, func(a, c int) bool { return nbs[a].d < nbs[c].d })
		var den float64
		tstar := q[(i*p+jmax)*d:][:d]
		dist := func(j int) float64 {
			var s float64
			for k := range d {
				e := float64(tstar[k]) - float64(bankData[j*d+k])
				s += e * e
			}
			return math.Sqrt(s)
		}
		for _, e := range nbs[:b] {
			den += math.Exp(dist(e.j))
		}
		want := (1 - math.Exp(dist(ms))/den) * maxS
		rw, _ := NewScorer(bank, ScoreConfig{ReweightNeighbors: b})
		rr, _ := rw.Score(feats)
		if math.Abs(float64(rr.Image[i])-want) > 1e-5*math.Abs(want) {
			t.Errorf("image %d: re-weighted %v, want %v", i, rr.Image[i], want)
		}
	}
}

func TestScorerErrorsAndHalf(t *testing.T) {
	if _, err := NewScorer(nil, ScoreConfig{}); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("nil bank: %v", err)
	}
	if _, err := NewMemoryBank(nil, 0, 4, Float32); err == nil {
		t.Error("empty bank accepted")
	}
	if _, err := NewMemoryBank([]float32{1, float32(math.Inf(1))}, 1, 2, Float32); err == nil {
		t.Error("Inf accepted")
	}
	if _, err := NewMemoryBank([]float32{1, 1e6}, 1, 2, Float16); err == nil {
		t.Error("float16 overflow accepted")
	}
	bank, _ := NewMemoryBank([]float32{0, 0, 3, 4}, 2, 2, Float32)
	s, _ := NewScorer(bank, ScoreConfig{})
	if _, err := s.Score(tensor.New(1, 3, 5)); err == nil {
		t.Error("dimension mismatch accepted")
	}
	if _, err := NewScorer(bank, ScoreConfig{Distance: 7}); err == nil {
		t.Error("unknown distance accepted")
	}

	rng := rand.New(rand.NewPCG(51, 52))
	m, d := 500, 32
	data := tensor.RandNormal(rng, 0, 2, m, d).Data()
	h, err := NewMemoryBank(data, m, d, Float16)
	if err != nil {
		t.Fatal(err)
	}
	if h.Bytes() != m*d*2 || h.Precision() != Float16 || h.Len() != m || h.Dim() != d {
		t.Errorf("float16 bank: %d bytes, %v", h.Bytes(), h.Precision())
	}
	dec := h.Float32()
	for i, v := range data {
		if math.Abs(float64(dec[i]-v)) > math.Abs(float64(v))/2048+1e-7 {
			t.Fatalf("value %v stored as %v", v, dec[i])
		}
	}
	if row := h.Row(3, nil); row[5] != dec[3*d+5] {
		t.Error("Row disagrees with Float32")
	}
	h2, err := NewMemoryBankHalf(h.Half(), m, d)
	if err != nil || h2.Float32()[17] != dec[17] {
		t.Errorf("NewMemoryBankHalf: %v", err)
	}
	// Searching the float16 bank is searching its decoded values.
	q := tensor.RandNormal(rng, 0, 2, 50, d).Data()
	sh, _ := NewScorer(h, ScoreConfig{})
	idx := make([]int, 50)
	sh.Nearest(q, 50, idx, nil)
	wantIdx, _, gap := bruteNearest(q, dec, 50, m, d)
	for i := range idx {
		if idx[i] != wantIdx[i] && gap[i] > 1e-3 {
			t.Errorf("query %d: %d want %d", i, idx[i], wantIdx[i])
		}
	}
}

func TestBuildMemoryBank(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	n, d := 1000, 24
	x := clustered(rng, n, d, 10, 0.5)
	bank, idx, err := BuildMemoryBank(x, n, d, CoresetConfig{Ratio: 0.05, Seed: 1}, Float32)
	if err != nil {
		t.Fatal(err)
	}
	if bank.Len() != 50 || len(idx) != 50 {
		t.Fatalf("bank of %d rows, %d indices", bank.Len(), len(idx))
	}
	for r, i := range idx {
		if bank.Row(r, nil)[7] != x[i*d+7] {
			t.Fatal("bank row is not the selected embedding")
		}
	}
	if _, _, err := BuildMemoryBank(nil, 0, d, DefaultCoresetConfig(), Float32); err == nil {
		t.Error("no embeddings accepted")
	}
}
