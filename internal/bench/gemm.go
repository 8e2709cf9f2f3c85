// Package bench measures rp's kernels the way docs/BENCHMARKS.md reports
// them: the median of several timed runs after a warm-up, beside the peak of
// the same instruction set measured in the same process.
package bench

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/reconpatch/rp/simd"
)

// GemmResult is one SGEMM measurement.
type GemmResult struct {
	N          int     `json:"n"`
	Threads    int     `json:"threads"`
	GFLOPS     float64 `json:"gflops"`      // median over runs
	BestGFLOPS float64 `json:"best_gflops"` // fastest run
	PeakGFLOPS float64 `json:"peak_gflops"` // register-only FMA loop, same ISA and threads
	Efficiency float64 `json:"efficiency"`  // GFLOPS / PeakGFLOPS
	Kernel     string  `json:"kernel"`      // dispatch level
	Tile       string  `json:"tile"`        // micro-kernel name
	Runs       int     `json:"runs"`
	MedianMS   float64 `json:"median_ms"`
}

// Gemm times C = A·B for n×n matrices on the given number of threads at the
// current dispatch level: one warm-up product, then runs timed products
// (at least one), reporting the median.
func Gemm(n, threads, runs int) (GemmResult, error) {
	if n <= 0 || threads <= 0 {
		return GemmResult{}, fmt.Errorf("bench: gemm needs n > 0 and threads > 0, got n=%d threads=%d", n, threads)
	}
	runs = max(runs, 1)
	prev := simd.SetThreads(threads)
	defer simd.SetThreads(prev)

	r := rand.New(rand.NewPCG(1, 2))
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i] = float32(r.Float64() - 0.5)
		b[i] = float32(r.Float64() - 0.5)
	}
	level := simd.CurrentLevel()
	res := GemmResult{N: n, Threads: threads, Kernel: level.String(), Tile: simd.KernelName(), Runs: runs}
	// The peak is measured before and after the products and the higher
	// kept: a neighbour on a shared host or a clock change during one
	// measurement would otherwise understate it.
	measurePeak := func() {
		if peak, err := simd.PeakGFLOPS(level, threads, 400*time.Millisecond); err == nil {
			res.PeakGFLOPS = max(res.PeakGFLOPS, peak)
		}
	}
	measurePeak()
	flops := 2 * float64(n) * float64(n) * float64(n)
	simd.Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n) // warm-up
	times := make([]float64, runs)
	for i := range times {
		start := time.Now()
		simd.Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
		times[i] = time.Since(start).Seconds()
	}
	measurePeak()
	med := median(times) // sorts times
	res.MedianMS = med * 1e3
	res.GFLOPS = flops / med / 1e9
	res.BestGFLOPS = flops / times[0] / 1e9
	if res.PeakGFLOPS > 0 {
		res.Efficiency = res.GFLOPS / res.PeakGFLOPS
	}
	return res, nil
}
