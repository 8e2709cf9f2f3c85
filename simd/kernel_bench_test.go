package simd

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkGemmKernel times each micro-kernel on panels that stay in cache:
// the ceiling for the full SGEMM.
func BenchmarkGemmKernel(b *testing.B) {
	for l := Generic; l <= AVX512; l++ {
		kern := gemmKernels[l]
		if kern.fn == nil || !Supported(l) {
			continue
		}
		for _, k := range []int{64, 256} {
			b.Run(fmt.Sprintf("%s/k=%d", l, k), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 1))
				a, bb := randSlice(r, kern.mr*k), randSlice(r, kern.nr*k)
				c := make([]float32, kern.mr*kern.nr)
				for range b.N {
					kern.fn(k, &a[0], &bb[0], &c[0], kern.nr, 1, 1)
				}
				flops := 2 * float64(kern.mr*kern.nr*k) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
