package simd

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestConv8 checks Conv8 at every level against a float64 reference, for
// taps laid out as a 3×3 kernel over a few channels and n not a multiple
// of the block, with sentinels past the written part of the output.
func TestConv8(t *testing.T) {
	forEachLevel(t, func(t testing.TB, l Level) {
		rng := rand.New(rand.NewPCG(3, uint64(l)))
		for _, tc := range []struct{ ch, n int }{{1, 1}, {8, 45}, {16, 100}, {3, 48}, {0, 5}} {
			const wp, hp = 12, 9
			var offs []int
			for c := range tc.ch {
				for i := range 3 {
					for j := range 3 {
						offs = append(offs, (c*hp+i)*wp+j)
					}
				}
			}
			q := roundUp(tc.n, Conv8Block)
			x := make([]float32, tc.ch*hp*wp+q+3*wp)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			w := make([]float32, 8*len(offs))
			for i := range w {
				w[i] = float32(rng.NormFloat64())
			}
			bias := make([]float32, 8)
			for i := range bias {
				bias[i] = float32(rng.NormFloat64())
			}
			for _, relu := range []bool{false, true} {
				ldo := q + 5
				out := make([]float32, 8*ldo)
				const sentinel = -12345
				for i := range out {
					out[i] = sentinel
				}
				Conv8(out, ldo, x, offs, w, bias, relu, tc.n)
				for o := range 8 {
					for p := range ldo {
						got := out[o*ldo+p]
						if p >= q {
							if got != sentinel {
								t.Fatalf("%s ch=%d n=%d: out[%d][%d] = %v written past the block", l, tc.ch, tc.n, o, p, got)
							}
							continue
						}
						if p >= tc.n {
							continue
						}
						want, mag := float64(bias[o]), math.Abs(float64(bias[o]))
						for tp, off := range offs {
							v := float64(w[8*tp+o]) * float64(x[off+p])
							want += v
							mag += math.Abs(v)
						}
						if relu {
							want = math.Max(want, 0)
						}
						if math.Abs(float64(got)-want) > 1e-5*mag+1e-6 {
							t.Fatalf("%s ch=%d n=%d relu=%v: out[%d][%d] = %v, want %v", l, tc.ch, tc.n, relu, o, p, got, want)
						}
					}
				}
			}
		}
	})
}
