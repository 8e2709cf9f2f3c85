package reconpatch

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/reconpatch/rp/simd"
	"github.com/reconpatch/rp/tensor"
)

// Distance is the patch-score metric.
type Distance uint8

const (
	// Euclidean is ‖t − m‖₂ (the ReConPatch paper's and anomalib's),
	// √max(0, d²) of the computed squared distance.
	Euclidean Distance = iota
	// SquaredEuclidean is ‖t − m‖₂², what official PatchCore's FAISS
	// IndexFlatL2 returns. Image AUROC is the same; maps differ slightly.
	SquaredEuclidean
)

// String names the metric.
func (d Distance) String() string {
	switch d {
	case Euclidean:
		return "euclidean"
	case SquaredEuclidean:
		return "squared"
	}
	return fmt.Sprintf("Distance(%d)", uint8(d))
}

// ScoreConfig configures a Scorer.
type ScoreConfig struct {
	// Distance is the patch-score metric (Euclidean by default).
	Distance Distance
	// ReweightNeighbors is b of PatchCore's image-score re-weighting
	// (section 9.3): 0 or 1 gives the plain maximum patch score (the
	// default, ReConPatch's); b ≥ 2 scales the maximum s* (at test patch
	// t*, nearest bank row m*) by 1 − softmax(‖t* − n‖ over the b bank rows
	// n nearest to m*, m* itself first) read at m*, as anomalib does (its
	// default b is 9). The softmax always uses Euclidean distances.
	ReweightNeighbors int
}

// Scorer scores test patches against a memory bank by exact nearest
// neighbour search. It is immutable and safe for concurrent use.
type Scorer struct {
	bank  []float32 // m×d, float32 (a float16 bank is decoded once)
	m, d  int
	norms []float32 // ‖bank row‖² by simd.Dot, for the re-weighting
	cfg   ScoreConfig
}

// NewScorer returns a scorer over bank. It returns an error if the bank is
// nil or empty or the configuration is invalid.
func NewScorer(bank *MemoryBank, cfg ScoreConfig) (*Scorer, error) {
	if bank == nil || bank.Len() == 0 {
		return nil, fmt.Errorf("reconpatch: NewScorer: empty memory bank")
	}
	if cfg.Distance != Euclidean && cfg.Distance != SquaredEuclidean {
		return nil, fmt.Errorf("reconpatch: NewScorer: unknown distance %v", cfg.Distance)
	}
	if cfg.ReweightNeighbors < 0 {
		return nil, fmt.Errorf("reconpatch: NewScorer: %d re-weighting neighbours", cfg.ReweightNeighbors)
	}
	s := &Scorer{bank: bank.Float32(), m: bank.Len(), d: bank.Dim(), cfg: cfg}
	if cfg.ReweightNeighbors > 1 {
		s.norms = make([]float32, s.m)
		parallelFor(s.m, s.d, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				r := s.bank[i*s.d:][:s.d]
				s.norms[i] = simd.Dot(r, r)
			}
		})
	}
	return s, nil
}

// BankSize is the number of bank rows.
func (s *Scorer) BankSize() int { return s.m }

// Dim is the feature length the scorer expects.
func (s *Scorer) Dim() int { return s.d }

// Nearest finds, for each of the n rows of q (n×d, row-major), its nearest
// bank row: idx[i] (ties: the lowest index) and dist[i], the distance in the
// scorer's metric. Either output may be nil. The search is exact, on
// simd.NearestRows: blocks of 256 queries by 2048 bank rows on
// simd.Threads() workers, never the whole n×m matrix. It panics if q or a
// non-nil output is too short.
func (s *Scorer) Nearest(q []float32, n int, idx []int, dist []float32) {
	if len(q) < n*s.d {
		panic(fmt.Sprintf("reconpatch: Scorer.Nearest: %d values for %d×%d", len(q), n, s.d))
	}
	if n == 0 {
		return
	}
	simd.NearestRows(q, n, s.d, s.bank, s.m, s.d, s.d, idx, dist)
	if dist != nil && s.cfg.Distance == Euclidean {
		for i, v := range dist[:n] {
			dist[i] = float32(math.Sqrt(float64(v)))
		}
	}
}

// Scores are the results of Scorer.Score for N images of P patches.
type Scores struct {
	// Image holds the N image scores.
	Image []float32
	// Patch holds the patch scores, N×P row-major (image, then patch).
	Patch []float32
	// Nearest holds each patch's nearest bank row, N×P.
	Nearest []int
	// N and P are the numbers of images and of patches per image.
	N, P int
}

// PatchScores returns image i's P patch scores (a sub-slice of Patch).
func (r *Scores) PatchScores(i int) []float32 { return r.Patch[i*r.P:][:r.P] }

// Score scores patch embeddings feats, N×P×D (D the bank's dimension): the
// patch scores, each patch's nearest bank row, and the image scores (the
// maximum patch score, or the re-weighted one). It returns an error if
// feats is not 3-D or D does not match the bank.
func (s *Scorer) Score(feats *tensor.Tensor) (*Scores, error) {
	if feats.Dims() != 3 || feats.Dim(2) != s.d {
		return nil, fmt.Errorf("reconpatch: Scorer.Score: feature shape %v, want N×P×%d", feats.Shape(), s.d)
	}
	n, p := feats.Dim(0), feats.Dim(1)
	q := feats.Contiguous().Data()
	r := &Scores{Image: make([]float32, n), Patch: make([]float32, n*p), Nearest: make([]int, n*p), N: n, P: p}
	if p == 0 {
		return nil, fmt.Errorf("reconpatch: Scorer.Score: no patches in shape %v", feats.Shape())
	}
	s.Nearest(q, n*p, r.Nearest, r.Patch)
	for i := range n {
		ps := r.Patch[i*p:][:p]
		j := argmaxFirst(ps)
		r.Image[i] = ps[j]
		if s.cfg.ReweightNeighbors > 1 {
			t := q[(i*p+j)*s.d:][:s.d]
			r.Image[i] = float32(s.reweight(t, r.Nearest[i*p+j], float64(ps[j])))
		}
	}
	return r, nil
}

// argmaxFirst is the index of the largest value, the first among ties; a
// NaN wins (it propagates, as in torch).
func argmaxFirst(x []float32) int {
	j := 0
	for i, v := range x {
		if v > x[j] || (v != v && x[j] == x[j]) {
			j = i
		}
	}
	return j
}

// reweight is PatchCore's re-weighted image score for the maximum patch t,
// its nearest bank row mi and its score score.
func (s *Scorer) reweight(t []float32, mi int, score float64) float64 {
	b := min(s.cfg.ReweightNeighbors, s.m)
	d := s.d
	mrow := s.bank[mi*d:][:d]
	// The b bank rows nearest to m* (m* first: its distance is exactly 0).
	type nb struct {
		i int
		d float32
	}
	all := make([]nb, s.m)
	parallelFor(s.m, d, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			sq := (s.norms[mi] + s.norms[j]) - 2*simd.Dot(mrow, s.bank[j*d:][:d])
			all[j] = nb{j, max(sq, 0)}
		}
	})
	slices.SortFunc(all, func(x, y nb) int {
		if c := cmp.Compare(x.d, y.d); c != 0 {
			return c
		}
		return cmp.Compare(x.i, y.i)
	})
	// 1 − softmax(‖t − n‖)[0] = 1 − 1 / Σⱼ exp(dⱼ − d₀), in float64.
	dist := func(j int) float64 {
		var acc float64
		for k, v := range s.bank[j*d:][:d] {
			e := float64(t[k]) - float64(v)
			acc += e * e
		}
		return math.Sqrt(acc)
	}
	d0 := dist(all[0].i)
	var sum float64
	for _, e := range all[:b] {
		sum += math.Exp(dist(e.i) - d0)
	}
	return (1 - 1/sum) * score
}

// Map returns image i's anomaly map: AnomalyMap of its patch scores on
// grid (which must hold P patches) with cfg.
func (r *Scores) Map(i int, grid Grid, cfg MapConfig) []float32 {
	return AnomalyMap(r.PatchScores(i), grid, cfg)
}
