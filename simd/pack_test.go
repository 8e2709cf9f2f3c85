package simd

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkPackA packs a 336×512 block of a row-major A (the AVX-512
// kernel's panels); BenchmarkPackB a 512×2048 block of B.
func BenchmarkPackA(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	lda := 2048
	a := randSlice(r, 336*lda)
	dst := make([]float32, 336*512)
	for range b.N {
		packA(dst, a, lda, false, 0, 336, 0, 512, 14)
	}
	b.ReportMetric(float64(336*512*4*2)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}
func BenchmarkPackB(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	ldb := 2048
	bb := randSlice(r, 512*ldb)
	dst := make([]float32, 2048*512)
	for range b.N {
		packB(dst, bb, ldb, nil, false, 0, 512, 0, 2048, 0, 64, 32)
	}
	b.ReportMetric(float64(2048*512*4*2)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}
