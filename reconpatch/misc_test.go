package reconpatch

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/reconpatch/rp/weights"
)

func TestHalfRoundTrip(t *testing.T) {
	for h := range 1 << 16 {
		f := weights.HalfToFloat32(uint16(h))
		back := weights.Float32ToHalf(f)
		if f != f {
			if back&0x7c00 != 0x7c00 || back&0x3ff == 0 {
				t.Fatalf("NaN %#04x came back as %#04x", h, back)
			}
			continue
		}
		if back != uint16(h) {
			t.Fatalf("%#04x → %v → %#04x", h, f, back)
		}
	}
}

// TestHalfRounding checks float32ToHalf against rounding to the nearer of
// the two neighbouring halves (ties to the even one).
func TestHalfRounding(t *testing.T) {
	// All finite non-negative halves in order, as float64.
	var vals []float64
	for h := 0; h < 0x7c00; h++ {
		vals = append(vals, float64(weights.HalfToFloat32(uint16(h))))
	}
	vals = append(vals, 65536) // where 0x7c00 (Inf) would sit: ties at 65520 go to it
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(f float32) {
		got := weights.Float32ToHalf(f)
		a := math.Abs(float64(f))
		var want uint16
		if a > 65536 {
			want = 0x7c00
		} else {
			i, _ := slices.BinarySearch(vals, a) // vals[i-1] < a ≤ vals[i]
			switch {
			case i == 0 || vals[i] == a:
				want = uint16(i)
			case a-vals[i-1] < vals[i]-a:
				want = uint16(i - 1)
			case a-vals[i-1] > vals[i]-a:
				want = uint16(i)
			default:
				want = uint16(i - 1)
				if want&1 == 1 {
					want++
				}
			}
		}
		if math.Signbit(float64(f)) {
			want |= 0x8000
		}
		if got != want {
			t.Fatalf("%v (%#08x): %#04x, want %#04x", f, math.Float32bits(f), got, want)
		}
	}
	for range 200000 {
		check(math.Float32frombits(rng.Uint32() & 0xc7ffffff)) // exponents up to the half range and beyond
		check(float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(40)-28))))
	}
	for _, f := range []float32{0, 65504, 65519.99, 65520, 1e-8, 2.98e-8, 2.99e-8, 5.96e-8, 6.1e-5, -0.0} {
		check(f)
	}
}

func TestMedianAndMAD(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 3, 10, 101, 1000, 4096} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.IntN(50)) // many ties
			if n > 100 {
				x[i] = float32(rng.NormFloat64())
			}
		}
		s := slices.Clone(x)
		slices.Sort(s)
		want := float64(s[n/2])
		if n%2 == 0 {
			want = (float64(s[n/2-1]) + float64(s[n/2])) / 2
		}
		if got := Median(x); got != want {
			t.Errorf("n=%d: median %v, want %v", n, got, want)
		}
		dev := make([]float64, n)
		for i, v := range x {
			dev[i] = math.Abs(float64(v) - want)
		}
		slices.Sort(dev)
		wantMAD := dev[n/2]
		if n%2 == 0 {
			wantMAD = (dev[n/2-1] + dev[n/2]) / 2
		}
		if got := MedianAbsDeviation(x); got != wantMAD {
			t.Errorf("n=%d: MAD %v, want %v", n, got, wantMAD)
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

func TestZScoreAndEnsemble(t *testing.T) {
	z, err := FitZScore([]float32{1, 2, 3}, []float32{4, 100})
	if err != nil || z.Median != 3 || z.MAD != 1 {
		t.Fatalf("FitZScore: %+v %v", z, err)
	}
	if got := z.Normalize(6); math.Abs(float64(got)-3/1.4826) > 1e-6 {
		t.Errorf("Normalize(6) = %v", got)
	}
	dst := make([]float32, 2)
	z.NormalizeSlice(dst, []float32{3, 4.4826})
	if dst[0] != 0 || math.Abs(float64(dst[1])-1) > 1e-6 {
		t.Errorf("NormalizeSlice: %v", dst)
	}
	for _, bad := range [][]float32{nil, {1, 1, 1, 5}, {float32(math.NaN()), 1, 2}} {
		if _, err := FitZScore(bad); err == nil {
			t.Errorf("FitZScore(%v) accepted", bad)
		}
	}

	e := Ensemble{
		Image: []ZScoreNormalizer{{Median: 1, MAD: 1 / MADScale}, {Median: 10, MAD: 2 / MADScale}},
		Pixel: []ZScoreNormalizer{{Median: 0, MAD: 1 / MADScale}, {Median: 0, MAD: 1 / MADScale}},
	}
	got, err := e.CombineImage([][]float32{{1, 3}, {10, 14}})
	if err != nil || math.Abs(float64(got[0])) > 1e-6 || math.Abs(float64(got[1])-2) > 1e-5 {
		t.Errorf("CombineImage: %v %v", got, err)
	}
	if _, err := e.CombineMap([][]float32{{1, 2}}); err == nil || !strings.Contains(err.Error(), "1 score sets for 2 models") {
		t.Errorf("CombineMap with a missing model: %v", err)
	}
	if _, err := e.CombineMap([][]float32{{1, 2}, {1}}); err == nil {
		t.Error("CombineMap with different sizes accepted")
	}
	if m, err := MeanCombine([]float32{1, 2}, []float32{3, 6}); err != nil || m[0] != 2 || m[1] != 4 {
		t.Errorf("MeanCombine: %v %v", m, err)
	}
}

func TestGaussianFilterBasics(t *testing.T) {
	k := GaussianKernel(4, 4)
	var s float64
	for _, v := range k {
		s += v
	}
	if len(k) != 33 || math.Abs(s-1) > 1e-15 {
		t.Errorf("kernel: %d taps, sum %v", len(k), s)
	}
	// A constant image is unchanged, whatever the border and size.
	for _, b := range []Border{BorderReflect, BorderMirror} {
		for _, sz := range [][2]int{{1, 1}, {1, 5}, {3, 2}, {20, 30}} {
			src := make([]float32, sz[0]*sz[1])
			for i := range src {
				src[i] = 2.5
			}
			dst := make([]float32, len(src))
			GaussianFilter(dst, src, sz[0], sz[1], 4, 4, b)
			for _, v := range dst {
				if math.Abs(float64(v)-2.5) > 1e-6 {
					t.Fatalf("%v %v: constant became %v", b, sz, v)
				}
			}
		}
	}
	for i, want := range []int{2, 1, 0, 0, 1, 2, 2, 1, 0, 0} { // n = 3, reflect, i = −3…6
		if got := extendIndex(i-3, 3, BorderReflect); got != want {
			t.Errorf("reflect(%d) = %d, want %d", i-3, got, want)
		}
	}
	for i, want := range []int{1, 2, 1, 0, 1, 2, 1, 0, 1, 2} { // n = 3, mirror, i = −3…6
		if got := extendIndex(i-3, 3, BorderMirror); got != want {
			t.Errorf("mirror(%d) = %d, want %d", i-3, got, want)
		}
	}
	// Sigma 0: the upsampled map, unsmoothed.
	m := AnomalyMap([]float32{1, 2, 3, 4}, Grid{2, 2}, MapConfig{Height: 2, Width: 2})
	if !slices.Equal(m, []float32{1, 2, 3, 4}) {
		t.Errorf("identity map: %v", m)
	}
}
