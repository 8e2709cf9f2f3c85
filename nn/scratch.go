package nn

import (
	"sync"
	"sync/atomic"
)

// scratchPool recycles the float32 buffers layers unfold their inputs into,
// so that a steady stream of Forward calls allocates no scratch.
var scratchPool sync.Pool

// getScratch returns a buffer of n floats with undefined contents.
func getScratch(n int) *[]float32 {
	if v := scratchPool.Get(); v != nil {
		b := v.(*[]float32)
		if cap(*b) >= n {
			*b = (*b)[:n]
			return b
		}
	}
	b := make([]float32, n)
	return &b
}

func putScratch(b *[]float32) { scratchPool.Put(b) }

// parallelFor calls f(i) for every i in [0, n) on up to workers goroutines
// (the caller's included). Work is handed out one index at a time, so the
// indices should be coarse: an image, a group, a channel plane.
func parallelFor(n, workers int, f func(i int)) {
	workers = min(workers, n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var next atomic.Int64
	run := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			f(i)
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run()
		}()
	}
	run()
	wg.Wait()
}
