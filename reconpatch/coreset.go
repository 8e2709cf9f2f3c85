package reconpatch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/reconpatch/rp/reconpatch/head"
	"github.com/reconpatch/rp/simd"
)

// CoresetMethod is the greedy coreset variant.
type CoresetMethod uint8

const (
	// CoresetApproximate is PatchCore's ApproximateGreedyCoresetSampler
	// (the default of every published PatchCore run): each point's
	// initial distance to the coreset is its mean distance to
	// StartPoints random points, which are not part of the coreset.
	CoresetApproximate CoresetMethod = iota
	// CoresetGreedy is PatchCore's GreedyCoresetSampler: the first point
	// is the one with the largest ‖row of the distance matrix‖₂, i.e. the
	// largest Σⱼ d²(i, j). That takes O(n²·d') time (never O(n²) memory):
	// for small sets.
	CoresetGreedy
)

// String names the method as the command line does.
func (m CoresetMethod) String() string {
	switch m {
	case CoresetApproximate:
		return "approximate"
	case CoresetGreedy:
		return "greedy"
	}
	return fmt.Sprintf("CoresetMethod(%d)", uint8(m))
}

// CoresetConfig configures SelectCoreset. The zero value, with a Ratio, is
// PatchCore's approximate sampler.
type CoresetConfig struct {
	// Method is the greedy variant.
	Method CoresetMethod
	// Ratio is the fraction of rows kept, in (0, 1]: int(n·Ratio) rows
	// (at least 1); 1 keeps every row unselected, in order, as PatchCore
	// does. The project default is 0.01.
	Ratio float64
	// Size, when positive, is the number of rows kept, overriding Ratio.
	Size int
	// ProjectionDim is the dimension d' of the random projection the
	// distances are computed in: 0 means 128 (PatchCore's), a negative
	// value none. Rows already d' long are not projected (PatchCore).
	ProjectionDim int
	// StartPoints is the number of random starting points of
	// CoresetApproximate: 0 means 10 (PatchCore's number_of_starting_points).
	StartPoints int
	// Seed seeds every random choice: the projection matrix, then the
	// starting points.
	Seed uint64
	// Projection, when set, is the d'×d projection matrix to use (torch
	// nn.Linear's weight layout: the projected row is W·x) instead of a
	// random one.
	Projection []float32
	// Starts, when set, are the starting points of CoresetApproximate to
	// use instead of random ones.
	Starts []int
	// Progress, when set, is called after each selected row with the
	// number selected so far and the total, on the calling goroutine.
	Progress func(done, total int)
	// Context, when set, is checked before each selected row: once it is
	// done, SelectCoreset returns its error (Ctrl-C during rp train).
	Context context.Context
}

// DefaultCoresetConfig is the project default (section 12): PatchCore's
// approximate greedy coreset of 1 % in a 128-d random projection, 10
// starting points, seed 0.
func DefaultCoresetConfig() CoresetConfig {
	return CoresetConfig{Method: CoresetApproximate, Ratio: 0.01}
}

// CoresetSize is the number of rows SelectCoreset keeps out of n.
func (c CoresetConfig) CoresetSize(n int) int {
	if c.Size > 0 {
		return min(c.Size, n)
	}
	return min(max(int(float64(n)*c.Ratio), 1), n)
}

// projectionDim is d' for rows of length d, or 0 for no projection.
func (c CoresetConfig) projectionDim(d int) int {
	p := c.ProjectionDim
	if p == 0 {
		p = 128
	}
	if p < 0 || p == d {
		return 0
	}
	return p
}

// RandomProjection returns the d'×d matrix that SelectCoreset draws for
// seed: rows of torch.nn.Linear(d, d', bias=False)'s default initialisation,
// every element independently uniform on [−1/√d, 1/√d) (kaiming_uniform
// with a = √5), drawn in row-major order from a PCG generator seeded with
// (seed, 0x5265436f6e506174). Its rows have expected squared norm 1/3, so
// projected distances are about √(d'/3d) times the original ones; the
// greedy selection does not depend on that scale.
func RandomProjection(seed uint64, dproj, d int) []float32 {
	return randomProjection(newCoresetRNG(seed), dproj, d)
}

func newCoresetRNG(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x5265436f6e506174))
}

func randomProjection(rng *rand.Rand, dproj, d int) []float32 {
	w := make([]float32, dproj*d)
	bound := 1 / math.Sqrt(float64(d))
	for i := range w {
		v := float32(bound)
		for v >= float32(bound) { // float32 rounding may reach the bound
			v = float32(bound * (2*rng.Float64() - 1))
		}
		w[i] = v
	}
	return w
}

// sampleDistinct draws k distinct integers of [0, n) (Floyd's algorithm), in
// the order drawn.
func sampleDistinct(rng *rand.Rand, n, k int) []int {
	seen := make(map[int]bool, k)
	out := make([]int, 0, k)
	for j := n - k; j < n; j++ {
		t := rng.IntN(j + 1)
		if seen[t] {
			t = j
		}
		seen[t] = true
		out = append(out, t)
	}
	return out
}

// SelectCoreset returns the indices, in selection order, of the greedy
// (k-centre) coreset of the n rows of x (n×d, row-major), as PatchCore's
// samplers compute it (section 8):
//
//  1. project every row to d' = 128 dimensions with a random matrix
//     (RandomProjection; cfg.Projection to supply one);
//  2. start every row's distance to the coreset at its mean distance to
//     10 distinct random rows (CoresetApproximate), or pick first the row
//     with the largest Σⱼ d²(i, j) (CoresetGreedy);
//  3. repeat: select the row of largest distance (ties: the lowest index),
//     and lower every row's distance to min(its distance, its distance to
//     the selected row).
//
// Distances are Euclidean, √max(0, ‖a‖² + ‖b‖² − 2a·b) as PatchCore's, in
// float32 on simd.Dot after centring the projected rows (which leaves the
// distances unchanged and makes them more accurate). Step 3 is exact but
// does not compute every distance: each row keeps its nearest selected row
// so far, and rows that the triangle inequality (with a margin covering the
// float32 rounding of every distance involved) shows cannot get closer to
// the new row are skipped; the result is bit for bit that of computing
// them all. The scan runs in blocks on simd.Threads() workers; the result
// does not depend on their number.
//
// SelectCoreset returns an error for an empty set, a non-finite value or an
// invalid configuration, and panics if x is shorter than n·d.
func SelectCoreset(x []float32, n, d int, cfg CoresetConfig) ([]int, error) {
	return selectCoreset(x, n, d, cfg, true)
}

// SelectCoresetFrom is SelectCoreset on the rows of src, which it reads in
// order, in chunks of a few MiB: only the projected rows, n×d' float32
// (512 bytes a row with d' = 128), are held in memory (n×d without a
// projection), so the rows themselves may stay on disk (head.DiskFeatures).
// The result is that of SelectCoreset on the same rows, bit for bit.
func SelectCoresetFrom(src head.FeatureSource, cfg CoresetConfig) ([]int, error) {
	return selectCoresetFrom(src, cfg, true)
}

func selectCoreset(x []float32, n, d int, cfg CoresetConfig, prune bool) ([]int, error) {
	if n < 0 || d < 0 {
		panic(fmt.Sprintf("reconpatch: SelectCoreset: negative shape %d×%d", n, d))
	}
	if len(x) < n*d {
		panic(fmt.Sprintf("reconpatch: SelectCoreset: %d values for %d×%d", len(x), n, d))
	}
	if n == 0 || d == 0 {
		return nil, fmt.Errorf("reconpatch: SelectCoreset: empty set %d×%d", n, d)
	}
	src, err := head.Float32FeaturesOf(x[:n*d], d)
	if err != nil {
		return nil, err
	}
	return selectCoresetFrom(src, cfg, prune)
}

func selectCoresetFrom(src head.FeatureSource, cfg CoresetConfig, prune bool) ([]int, error) {
	n, d := src.Len(), src.Dim()
	if n == 0 || d == 0 {
		return nil, fmt.Errorf("reconpatch: SelectCoreset: empty set %d×%d", n, d)
	}
	if cfg.Size <= 0 && !(cfg.Ratio > 0 && cfg.Ratio <= 1) {
		return nil, fmt.Errorf("reconpatch: SelectCoreset: ratio %v is not in (0, 1]", cfg.Ratio)
	}
	if cfg.Method != CoresetApproximate && cfg.Method != CoresetGreedy {
		return nil, fmt.Errorf("reconpatch: SelectCoreset: unknown method %v", cfg.Method)
	}
	total := cfg.CoresetSize(n)
	if cfg.Size <= 0 && cfg.Ratio == 1 {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx, nil
	}

	rng := newCoresetRNG(cfg.Seed)
	p := cfg.projectionDim(d)
	var w []float32 // p×d, or nil for no projection
	if p > 0 {
		w = cfg.Projection
		if w == nil {
			w = randomProjection(rng, p, d)
		} else if len(w) != p*d {
			return nil, fmt.Errorf("reconpatch: SelectCoreset: projection has %d values, want %d×%d", len(w), p, d)
		}
	} else {
		p = d
	}
	// The projected rows n×p, chunk by chunk: each row's projection does
	// not depend on the chunk it is computed in.
	red := make([]float32, n*p)
	err := forRowChunks(src, func(lo, hi int, x []float32) error {
		if cfg.Context != nil {
			if err := cfg.Context.Err(); err != nil {
				return err
			}
		}
		if w == nil {
			copy(red[lo*p:hi*p], x)
		} else {
			simd.Sgemm(false, true, hi-lo, p, d, 1, x, d, w, d, 0, red[lo*p:hi*p], p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A NaN or Inf in x reaches the projected rows (times a non-zero
	// weight); checking those is p/d of the work.
	if i := firstNonFinite(red); i >= 0 {
		return nil, fmt.Errorf("reconpatch: SelectCoreset: row %d holds a NaN or Inf, or overflows when projected", i/p)
	}
	centreRows(red, n, p)

	g := newGreedy(red, n, p)
	switch cfg.Method {
	case CoresetApproximate:
		starts := cfg.Starts
		if starts == nil {
			k := cfg.StartPoints
			if k <= 0 {
				k = 10
			}
			starts = sampleDistinct(rng, n, min(k, n))
		}
		if len(starts) == 0 {
			return nil, errors.New("reconpatch: SelectCoreset: no starting points")
		}
		for _, s := range starts {
			if s < 0 || s >= n {
				return nil, fmt.Errorf("reconpatch: SelectCoreset: starting point %d out of [0, %d)", s, n)
			}
		}
		g.initMean(starts)
	case CoresetGreedy:
		g.initRowNorms()
	}
	sel := make([]int, 0, total)
	for t := range total {
		if cfg.Context != nil {
			if err := cfg.Context.Err(); err != nil {
				return nil, err
			}
		}
		s := g.next
		sel = append(sel, s)
		g.add(s, prune)
		if cfg.Progress != nil {
			cfg.Progress(t+1, total)
		}
	}
	return sel, nil
}

// streamBytes is the size of the chunks in which cached rows are streamed
// (the coreset's projection, the embedding of ReConPatch's features): the
// memory that takes does not grow with the number of rows. A variable so
// that tests can make chunks small.
var streamBytes = 16 << 20

// forRowChunks calls fn on the rows of src in order, in chunks of at most
// streamBytes of float32: x holds rows [lo, hi), (hi−lo)×src.Dim() values,
// and is valid only during the call. Rows held in memory as float32 are
// passed without a copy; others are read into one reused buffer. The first
// error (of reading or of fn) stops the scan and is returned.
func forRowChunks(src head.FeatureSource, fn func(lo, hi int, x []float32) error) error {
	n, d := src.Len(), src.Dim()
	chunk := max(1, streamBytes/(4*d))
	if f, ok := src.(*head.Float32Features); ok {
		data := f.Data()
		for lo := 0; lo < n; lo += chunk {
			hi := min(lo+chunk, n)
			if err := fn(lo, hi, data[lo*d:hi*d]); err != nil {
				return err
			}
		}
		return nil
	}
	buf := make([]float32, min(chunk, n)*d)
	idx := make([]int, min(chunk, n))
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		ids, x := idx[:hi-lo], buf[:(hi-lo)*d]
		for i := range ids {
			ids[i] = lo + i
		}
		if err := src.Rows(ids, x); err != nil {
			return fmt.Errorf("reconpatch: reading rows %d…%d: %w", lo, hi-1, err)
		}
		if err := fn(lo, hi, x); err != nil {
			return err
		}
	}
	return nil
}

// firstNonFinite returns the index of the first NaN or ±Inf in x, or −1.
func firstNonFinite(x []float32) int {
	for i, v := range x {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return i
		}
	}
	return -1
}

// centreRows subtracts the column means from the n×p matrix x.
func centreRows(x []float32, n, p int) {
	mean := make([]float64, p)
	for i := range n {
		for j, v := range x[i*p:][:p] {
			mean[j] += float64(v)
		}
	}
	m := make([]float32, p)
	for j := range m {
		m[j] = float32(mean[j] / float64(n))
	}
	parallelFor(n, p, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := x[i*p:][:p]
			for j := range row {
				row[j] -= m[j]
			}
		}
	})
}

// greedy is the state of the greedy selection over n rows of length p.
//
// v[i] is row i's distance to the coreset (PatchCore's anchor distance, the
// selection key). Row i also remembers a selected row, centres[a[i]], at
// computed distance u[i] ≥ v[i] (a[i] = −1 before the first selection).
// When row s is selected, d(i, s) ≥ d(a, s) − u[i] − 3E by the triangle
// inequality, where E bounds the float32 error of one computed distance; so
// if d(a, s) − 3E ≥ u[i] + v[i], the computed d(i, s) ≥ v[i] and neither
// v[i] nor the selection can change, and row i is skipped without reading
// it. The scan is sequential over the rows (12 bytes of state per skipped
// row instead of its p values), in contiguous ranges on several workers.
type greedy struct {
	x       []float32
	n, p    int
	norms   []float32 // ‖x_i‖², by simd.Dot
	v, u    []float32
	a       []int32
	centres []int
	thr     []float32 // per centre, d(centre, s) − 3E for the row s being added
	margin  float32   // 3E
	next    int       // the row of largest v: the next selection
	visits  int       // rows whose distance was computed (for tests)
}

func newGreedy(x []float32, n, p int) *greedy {
	g := &greedy{x: x, n: n, p: p, norms: make([]float32, n), v: make([]float32, n), u: make([]float32, n), a: make([]int32, n)}
	var maxNorm float32
	for i := range n {
		r := x[i*p:][:p]
		g.norms[i] = simd.Dot(r, r)
		maxNorm = max(maxNorm, g.norms[i])
	}
	// |computed d² − d²| ≤ γ(‖a‖² + ‖b‖²) with γ = (2p+4)ε for the two
	// norms, the dot product and the sums (simd.Dot's worst case is
	// p·ε·Σ|aᵢbᵢ|); doubled for safety. |√a − √b| ≤ √|a − b| then bounds
	// the error of the distance by E = √(2γ·max‖x‖²).
	gamma := float64(4*p+8) * 0x1p-24
	e := math.Sqrt(2 * gamma * float64(maxNorm))
	g.margin = float32(3 * e * 1.01)
	inf := float32(math.Inf(1))
	for i := range n {
		g.u[i] = inf
		g.a[i] = -1
	}
	return g
}

// dist is the computed distance between rows i and j.
func (g *greedy) dist(i, j int) float32 {
	p := g.p
	s := (g.norms[i] + g.norms[j]) - 2*simd.Dot(g.x[i*p:][:p], g.x[j*p:][:p])
	if s <= 0 {
		return 0
	}
	return float32(math.Sqrt(float64(s)))
}

// initMean sets v[i] to the mean distance from row i to the start rows.
func (g *greedy) initMean(starts []int) {
	parallelFor(g.n, len(starts)*g.p, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			var s float32
			for _, j := range starts {
				s += g.dist(i, j)
			}
			g.v[i] = s / float32(len(starts))
		}
	})
	g.next = argmaxFirst(g.v)
}

// initRowNorms sets v[i] to √Σⱼ d²(i, j), the norm of row i of the distance
// matrix, computed on simd.SqDist in blocks.
func (g *greedy) initRowNorms() {
	const rb, cb = 512, 4096
	n, p := g.n, g.p
	buf := make([]float32, min(rb, n)*min(cb, n))
	sums := make([]float64, min(rb, n))
	for r0 := 0; r0 < n; r0 += rb {
		m := min(rb, n-r0)
		clear(sums)
		for c0 := 0; c0 < n; c0 += cb {
			nc := min(cb, n-c0)
			simd.SqDist(buf, nc, g.x[r0*p:], m, p, g.x[c0*p:], nc, p, p)
			parallelFor(m, nc, func(lo, hi int) {
				for r := lo; r < hi; r++ {
					var s float64
					for _, v := range buf[r*nc:][:nc] {
						s += float64(v)
					}
					sums[r] += s
				}
			})
		}
		for r, s := range sums[:m] {
			g.v[r0+r] = float32(math.Sqrt(s))
		}
	}
	g.next = argmaxFirst(g.v)
}

// add selects row s (the current g.next): it lowers every v by the
// distance to s, skipping the rows the triangle inequality rules out, and
// finds the next selection. With prune false every row is visited: the
// reference for tests.
func (g *greedy) add(s int, prune bool) {
	t := int32(len(g.centres))
	g.centres = append(g.centres, s)
	g.thr = append(g.thr, 0)
	parallelFor(len(g.centres), 2*g.p, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			g.thr[k] = g.dist(g.centres[k], s) - g.margin
		}
	})
	if !prune {
		for k := range g.thr {
			g.thr[k] = float32(math.Inf(-1))
		}
	}

	type best struct {
		v      float32
		i      int
		visits int
	}
	const chunk = 8192
	chunks := (g.n + chunk - 1) / chunk
	res := make([]best, chunks)
	parallelFor(chunks, chunk*g.p/4, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			b := best{v: float32(math.Inf(-1)), i: -1}
			for i := c * chunk; i < min((c+1)*chunk, g.n); i++ {
				v, u := g.v[i], g.u[i]
				if a := g.a[i]; a < 0 || g.thr[a] < u+v {
					b.visits++
					d := g.dist(i, s)
					if d < v {
						v = d
						g.v[i] = d
					}
					if d < u {
						g.u[i], g.a[i] = d, t
					}
				}
				if v > b.v {
					b.v, b.i = v, i
				}
			}
			res[c] = b
		}
	})
	b := res[0]
	for _, r := range res[1:] {
		if r.v > b.v {
			b.v, b.i = r.v, r.i
		}
		b.visits += r.visits
	}
	g.next = b.i
	g.visits += b.visits
}
