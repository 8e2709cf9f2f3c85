package tensor_test

import (
	"math"
	"testing"

	"github.com/reconpatch/rp/tensor"
)

func TestRandomSeeded(t *testing.T) {
	a := tensor.RandNormal(newRand(40), 1, 2, 3, 4)
	b := tensor.RandNormal(newRand(40), 1, 2, 3, 4)
	c := tensor.RandNormal(newRand(41), 1, 2, 3, 4)
	if !tensor.Equal(a, b) {
		t.Error("RandNormal: same seed, different tensors")
	}
	if tensor.Equal(a, c) {
		t.Error("RandNormal: different seeds, same tensor")
	}
	u := tensor.RandUniform(newRand(42), -1, 3, 5)
	v := tensor.RandUniform(newRand(42), -1, 3, 5)
	if !tensor.Equal(u, v) {
		t.Error("RandUniform: same seed, different tensors")
	}
	if !sameShape(a.Shape(), []int{3, 4}) || !a.IsContiguous() {
		t.Errorf("RandNormal shape %v", a.Shape())
	}
}

func TestRandomDistribution(t *testing.T) {
	const n = 200000
	for _, tc := range []struct {
		name      string
		x         *tensor.Tensor
		lo, hi    float64
		mean, std float64
	}{
		{"RandUniform", tensor.RandUniform(newRand(43), -1, 3, n), -1, 3, 1, 4 / math.Sqrt(12)},
		{"RandNormal", tensor.RandNormal(newRand(44), 5, 0.5, n), math.Inf(-1), math.Inf(1), 5, 0.5},
	} {
		var s, s2 float64
		for _, v := range tc.x.Data() {
			f := float64(v)
			if !(f >= tc.lo && f < tc.hi) {
				t.Fatalf("%s: %v outside [%v, %v)", tc.name, f, tc.lo, tc.hi)
			}
			s += f
			s2 += f * f
		}
		mean := s / n
		std := math.Sqrt(s2/n - mean*mean)
		// Five standard errors.
		if math.Abs(mean-tc.mean) > 5*tc.std/math.Sqrt(n) || math.Abs(std-tc.std) > 0.01*tc.std {
			t.Errorf("%s: mean %v std %v; want %v, %v", tc.name, mean, std, tc.mean, tc.std)
		}
	}
	// A range only one float32 wide.
	lo := float32(1)
	hi := math.Nextafter32(lo, 2)
	for _, v := range tensor.RandUniform(newRand(45), lo, hi, 100).Data() {
		if v != lo {
			t.Fatalf("RandUniform(%v, %v) gave %v", lo, hi, v)
		}
	}
	mustPanic(t, func() { tensor.RandUniform(newRand(1), 1, 1, 3) }, "RandUniform", "1")
}
