package simd

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

// peakLoop is a register-only FMA loop of one level.
type peakLoop struct {
	fn           func(iters int)
	flopsPerIter int
}

var peakLoops [AVX512 + 1]peakLoop

// PeakGFLOPS measures the float32 FMA throughput of level l on the given
// number of threads: each thread runs independent FMAs on registers only, so
// the result is the CPU's arithmetic limit for that instruction set, the
// ceiling every kernel of that level is measured against. It runs for about
// d and returns the best of several rounds. The generic level has no peak
// loop and returns an error.
func PeakGFLOPS(l Level, threads int, d time.Duration) (float64, error) {
	if !Supported(l) {
		return 0, fmt.Errorf("simd: level %s is not supported here", l)
	}
	loop := peakLoops[l]
	if loop.fn == nil {
		return 0, fmt.Errorf("simd: no peak loop for level %s", l)
	}
	threads = max(1, threads)
	const iters = 1 << 14 // ~0.1 ms per call: short enough not to stall the scheduler
	loop.fn(iters)        // warm up
	rounds := 8
	best := 0.0
	for r := 0; r < rounds; r++ {
		per := d / time.Duration(rounds)
		var wg sync.WaitGroup
		calls := make([]int, threads)
		start := time.Now()
		for t := 0; t < threads; t++ {
			wg.Add(1)
			go func(t int) {
				defer wg.Done()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				for time.Since(start) < per {
					for range 8 {
						loop.fn(iters)
					}
					calls[t] += 8
				}
			}(t)
		}
		wg.Wait()
		el := time.Since(start).Seconds()
		total := 0
		for _, c := range calls {
			total += c
		}
		g := float64(total) * iters * float64(loop.flopsPerIter) / el / 1e9
		best = max(best, g)
	}
	return best, nil
}
