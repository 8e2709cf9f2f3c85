package reconpatch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/reconpatch/rp/simd"
	"github.com/reconpatch/rp/tensor"
)

// naiveGreedy is GreedyCoresetSampler in float64 with the full n×n distance
// matrix: the first row is the one of largest ‖distance-matrix row‖, then
// farthest-point selection.
func naiveGreedy(x []float64, n, d, count int) []int {
	dm := make([]float64, n*n)
	for i := range n {
		for j := range n {
			var s float64
			for k := range d {
				e := x[i*d+k] - x[j*d+k]
				s += e * e
			}
			dm[i*n+j] = math.Sqrt(s)
		}
	}
	v := make([]float64, n)
	for i := range n {
		var s float64
		for _, e := range dm[i*n:][:n] {
			s += e * e
		}
		v[i] = math.Sqrt(s)
	}
	var sel []int
	for range count {
		best := 0
		for i := range v {
			if v[i] > v[best] {
				best = i
			}
		}
		sel = append(sel, best)
		for i := range v {
			v[i] = min(v[i], dm[i*n+best])
		}
	}
	return sel
}

func project64(x []float32, n, d int, w []float32, p int) []float64 {
	out := make([]float64, n*p)
	for i := range n {
		for o := range p {
			var s float64
			for k := range d {
				s += float64(x[i*d+k]) * float64(w[o*d+k])
			}
			out[i*p+o] = s
		}
	}
	return out
}

func TestGreedyMatchesNaive(t *testing.T) {
	for _, tc := range []struct{ n, d, p, count int }{{300, 24, 128, 30}, {250, 12, 8, 40}, {64, 5, -1, 64}} {
		rng := rand.New(rand.NewPCG(uint64(tc.n), 9))
		x := tensor.RandNormal(rng, 0, 1, tc.n, tc.d).Data()
		cfg := CoresetConfig{Method: CoresetGreedy, Size: tc.count, ProjectionDim: tc.p, Seed: 11}
		got, err := SelectCoreset(x, tc.n, tc.d, cfg)
		if err != nil {
			t.Fatal(err)
		}
		p := cfg.projectionDim(tc.d)
		var x64 []float64
		if p > 0 {
			x64 = project64(x, tc.n, tc.d, RandomProjection(11, p, tc.d), p)
		} else {
			p = tc.d
			x64 = make([]float64, len(x))
			for i, v := range x {
				x64[i] = float64(v)
			}
		}
		want := naiveGreedy(x64, tc.n, p, tc.count)
		if !slices.Equal(got, want) {
			t.Errorf("n=%d d=%d p=%d: indices\n%v\nwant\n%v", tc.n, tc.d, tc.p, got, want)
		}
	}
}

// clustered returns n points around k random centres in d dimensions, with
// a large common offset as CNN features have.
func clustered(rng *rand.Rand, n, d, k int, spread float64) []float32 {
	centres := tensor.RandNormal(rng, 5, 3, k, d).Data()
	x := make([]float32, n*d)
	for i := range n {
		c := centres[rng.IntN(k)*d:][:d]
		for j := range d {
			x[i*d+j] = c[j] + float32(spread*rng.NormFloat64())
		}
	}
	return x
}

func TestCoresetPruningIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	n, d := 6000, 48
	x := clustered(rng, n, d, 60, 0.7)
	defer simd.SetThreads(simd.SetThreads(0))
	for _, m := range []CoresetMethod{CoresetApproximate, CoresetGreedy} {
		cfg := CoresetConfig{Method: m, Ratio: 0.03, ProjectionDim: 32, Seed: 5}
		if m == CoresetGreedy {
			cfg.Ratio = 0.01
		}
		ref, err := selectCoreset(x, n, d, cfg, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, threads := range []int{1, 2, 3} {
			simd.SetThreads(threads)
			got, err := SelectCoreset(x, n, d, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, ref) {
				t.Errorf("%v, %d threads: pruned selection differs from the full scan", m, threads)
			}
		}
	}
}

// TestCoresetPruningState compares the whole state (every row's distance to
// the coreset) of the pruned and full updates, step by step.
func TestCoresetPruningState(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	n, p := 20000, 16
	x := clustered(rng, n, p, 25, 0.5)
	centreRows(x, n, p)
	a, b := newGreedy(x, n, p), newGreedy(x, n, p)
	starts := []int{3, 77, 1500}
	a.initMean(starts)
	b.initMean(starts)
	const steps = 200
	for step := range steps {
		if a.next != b.next {
			t.Fatalf("step %d: next %d and %d", step, a.next, b.next)
		}
		a.add(a.next, true)
		b.add(b.next, false)
		if !slices.Equal(a.v, b.v) {
			t.Fatalf("step %d: distances differ", step)
		}
	}
	t.Logf("pruning skipped %.0f%% of the distances", 100*(1-float64(a.visits)/float64(b.visits)))
	for i := range n {
		if a.u[i] < a.v[i] || a.a[i] < 0 {
			t.Fatalf("row %d: u %v v %v centre %d", i, a.u[i], a.v[i], a.a[i])
		}
	}
}

func TestCoresetDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	n, d := 2000, 200
	x := clustered(rng, n, d, 40, 1)
	cfg := DefaultCoresetConfig()
	cfg.Ratio = 0.02
	cfg.Seed = 7
	a, err := SelectCoreset(x, n, d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := SelectCoreset(x, n, d, cfg)
	if !slices.Equal(a, b) || len(a) != 40 {
		t.Fatalf("same seed, different selections (%d, %d rows)", len(a), len(b))
	}
	cfg.Seed = 8
	c, _ := SelectCoreset(x, n, d, cfg)
	if slices.Equal(a, c) {
		t.Error("seeds 7 and 8 gave the same selection")
	}
	// Giving the seed's own projection and start points changes nothing.
	cfg.Seed = 7
	rng2 := newCoresetRNG(7)
	cfg.Projection = randomProjection(rng2, 128, d)
	cfg.Starts = sampleDistinct(rng2, n, 10)
	cfg.Seed = 99
	e, _ := SelectCoreset(x, n, d, cfg)
	if !slices.Equal(a, e) {
		t.Error("explicit projection and starts differ from the seeded ones")
	}
	seen := map[int]bool{}
	for _, i := range a {
		if seen[i] || i < 0 || i >= n {
			t.Fatalf("selection %v repeats or leaves range", a)
		}
		seen[i] = true
	}
}

func TestRandomProjection(t *testing.T) {
	d := 1024
	w := RandomProjection(3, 128, d)
	bound := float32(1 / math.Sqrt(float64(d)))
	var sum, sq float64
	for _, v := range w {
		if v < -bound || v >= bound {
			t.Fatalf("value %v outside [−%v, %v)", v, bound, bound)
		}
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	mean, variance := sum/float64(len(w)), sq/float64(len(w))
	if want := float64(bound*bound) / 3; math.Abs(mean) > 1e-4 || math.Abs(variance-want) > 0.02*want {
		t.Errorf("mean %v variance %v, want 0 and %v", mean, variance, want)
	}
	if !slices.Equal(w, RandomProjection(3, 128, d)) {
		t.Error("not deterministic")
	}
	s := sampleDistinct(rand.New(rand.NewPCG(1, 1)), 12, 12)
	slices.Sort(s)
	for i, v := range s {
		if v != i {
			t.Fatalf("sampleDistinct(12, 12) = %v", s)
		}
	}
}

func TestCoresetEdges(t *testing.T) {
	x := []float32{0, 0, 1, 0, 0, 1, 1, 1, 5, 5}
	all, err := SelectCoreset(x, 5, 2, CoresetConfig{Ratio: 1})
	if err != nil || !slices.Equal(all, []int{0, 1, 2, 3, 4}) {
		t.Errorf("ratio 1: %v %v", all, err)
	}
	one, err := SelectCoreset(x, 5, 2, CoresetConfig{Ratio: 0.01, ProjectionDim: -1})
	if err != nil || len(one) != 1 {
		t.Errorf("1%% of 5: %v %v", one, err)
	}
	g, err := SelectCoreset(x, 5, 2, CoresetConfig{Method: CoresetGreedy, Size: 5, ProjectionDim: -1})
	if err != nil || g[0] != 4 || len(g) != 5 {
		t.Errorf("greedy of 5: %v %v", g, err)
	}
	// Duplicates: once every distinct row is chosen the rest are at 0.
	dup := []float32{1, 1, 1, 1, 2, 2}
	if s, err := SelectCoreset(dup, 3, 2, CoresetConfig{Size: 3, ProjectionDim: -1, Starts: []int{0}}); err != nil || s[0] != 2 || len(s) != 3 {
		t.Errorf("duplicates: %v %v", s, err)
	}
	var calls []string
	_, err = SelectCoreset(x, 5, 2, CoresetConfig{Size: 3, Progress: func(done, total int) { calls = append(calls, fmt.Sprint(done, "/", total)) }})
	if err != nil || strings.Join(calls, " ") != "1/3 2/3 3/3" {
		t.Errorf("progress %v %v", calls, err)
	}

	for _, c := range []struct {
		name string
		x    []float32
		n, d int
		cfg  CoresetConfig
		want string
	}{
		{"empty", nil, 0, 2, CoresetConfig{Ratio: 0.1}, "empty"},
		{"ratio", x, 5, 2, CoresetConfig{Ratio: 0}, "ratio"},
		{"ratio>1", x, 5, 2, CoresetConfig{Ratio: 1.5}, "ratio"},
		{"nan", []float32{0, float32(math.NaN())}, 1, 2, CoresetConfig{Ratio: 0.5}, "NaN"},
		{"projection", x, 5, 2, CoresetConfig{Ratio: 0.5, Projection: []float32{1}}, "projection"},
		{"starts", x, 5, 2, CoresetConfig{Ratio: 0.5, Starts: []int{7}}, "starting point"},
		{"method", x, 5, 2, CoresetConfig{Ratio: 0.5, Method: 9}, "method"},
	} {
		if _, err := SelectCoreset(c.x, c.n, c.d, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

// TestCoresetContext checks that a cancelled context stops the selection
// with the context's error.
func TestCoresetContext(t *testing.T) {
	x := make([]float32, 500*8)
	for i := range x {
		x[i] = float32(i%97) * 0.1
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg := CoresetConfig{Method: CoresetGreedy, Size: 100, Context: ctx}
	cfg.Progress = func(done, _ int) {
		if done == 10 {
			cancel()
		}
	}
	if _, err := SelectCoreset(x, 500, 8, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled selection: %v", err)
	}
}
