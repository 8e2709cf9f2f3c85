package simd

import (
	"fmt"
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

// TestPackRows32 checks packRows32 at every level against plain copies,
// with row strides of exactly 32 and more, and that nothing past the panel
// is written.
func TestPackRows32(t *testing.T) {
	r := rand.New(rand.NewPCG(91, 92))
	const pad = 17
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, rows := range []int{1, 2, 7, 64} {
			for _, ld := range []int{32, 33, 100} {
				src := randSlice(r, (rows-1)*ld+32) // the last row ends the slice
				buf := padded(r, 32*rows, pad)
				dst := buf[pad : pad+32*rows]
				packRows32(dst, src, ld, rows)
				checkGuards(tb, fmt.Sprintf("%s packRows32 rows=%d ld=%d", l, rows, ld), buf, pad, pad)
				for i := range rows {
					for j := range 32 {
						if dst[32*i+j] != src[i*ld+j] {
							tb.Fatalf("%s rows=%d ld=%d: dst[%d][%d] = %v, want %v", l, rows, ld, i, j, dst[32*i+j], src[i*ld+j])
						}
					}
				}
			}
		}
	})
}
