package tensor

import (
	"fmt"
	"math/rand/v2"
)

// RandUniform returns a contiguous tensor of the given shape whose elements
// are drawn uniformly from [lo, hi), in row-major order, from rng. The same
// generator state gives the same tensor. It panics unless lo < hi.
func RandUniform(rng *rand.Rand, lo, hi float32, shape ...int) *Tensor {
	if !(lo < hi) {
		panic(fmt.Sprintf("tensor: RandUniform: empty range [%v, %v)", lo, hi))
	}
	t := New(shape...)
	width := float64(hi) - float64(lo)
	for i := range t.data {
		// Rounding to float32 can give hi itself; draw again then.
		v := hi
		for v >= hi {
			v = float32(float64(lo) + width*rng.Float64())
		}
		t.data[i] = v
	}
	return t
}

// RandNormal returns a contiguous tensor of the given shape whose elements
// are drawn from the normal distribution with the given mean and standard
// deviation, in row-major order, from rng. The same generator state gives the
// same tensor.
func RandNormal(rng *rand.Rand, mean, std float32, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.data {
		t.data[i] = float32(float64(mean) + float64(std)*rng.NormFloat64())
	}
	return t
}
