package metrics

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// benchMaps builds n pixels of 224×224 maps, a quarter of them good, with
// continuous scores (nearly all distinct, the worst case for the sweep).
func benchMaps(n int) []Map {
	r := rand.New(rand.NewPCG(7, 8))
	const side = 224
	var maps []Map
	for left := n; left > 0; left -= side * side {
		maps = append(maps, randomMaps(r, 1, side, side, 0)[0])
		if len(maps)%4 != 1 { // randomMaps(…, 1, …) makes good images only
			m := &maps[len(maps)-1]
			m.Mask = make([]uint8, side*side)
			cx, cy := r.IntN(side), r.IntN(side)
			for y := max(0, cy-10); y < min(side, cy+10); y++ {
				for x := max(0, cx-15); x < min(side, cx+15); x++ {
					m.Mask[y*side+x] = 1
					m.Scores[y*side+x] += 1
				}
			}
		}
	}
	return maps
}

func BenchmarkPixelAUROC(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000, 10_000_000} {
		b.Run(sizeName(n), func(b *testing.B) {
			maps := benchMaps(n)
			px := 0
			for _, m := range maps {
				px += len(m.Scores)
			}
			b.SetBytes(int64(px) * 4)
			b.ResetTimer()
			for b.Loop() {
				if _, err := EvaluatePixels(maps, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkImageAUROC(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		b.Run(sizeName(n), func(b *testing.B) {
			s, l := randomScores(rand.New(rand.NewPCG(1, 1)), n, 0, 0.3)
			for b.Loop() {
				if _, err := AUROC(s, l); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSort compares the in-place radix sort with slices.Sort on the
// keys of 10M continuous scores.
func BenchmarkSort(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 9))
	keys := make([]uint32, 10_000_000)
	for i := range keys {
		keys[i] = key32(float32(r.NormFloat64()))
	}
	work := make([]uint32, len(keys))
	for _, c := range []struct {
		name string
		sort func([]uint32)
	}{
		{"radix/10M", func(a []uint32) { radixSort(a, 24, 0) }},
		{"slices/10M", func(a []uint32) { slices.Sort(a) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				copy(work, keys)
				c.sort(work)
			}
		})
	}
}

func sizeName(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}
