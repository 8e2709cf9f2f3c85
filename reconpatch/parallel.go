package reconpatch

import (
	"sync"

	"github.com/reconpatch/rp/simd"
)

// minParallelWork is the least work (in element operations) worth a second
// goroutine.
const minParallelWork = 1 << 16

// parallelFor runs fn over [0, n) split into contiguous ranges on up to
// simd.Threads() goroutines (the caller's included) and waits for them.
// cost is the work per item in element operations; small jobs run inline.
// The ranges depend only on n and the worker count, and every item is
// processed by exactly one call.
func parallelFor(n, cost int, fn func(lo, hi int)) {
	workers := 1
	if n*max(cost, 1) >= minParallelWork {
		workers = min(simd.Threads(), n)
	}
	if workers <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		lo, hi := w*n/workers, (w+1)*n/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	fn(0, n/workers)
	wg.Wait()
}
