package metrics

import (
	"math"
	"slices"
)

// key32 maps a float32 to a uint32 whose unsigned order is the numeric order
// of the floats: negative values have all bits flipped, non-negative ones
// the sign bit set. −0 is folded onto +0 so that the two compare equal, as
// they do as floats. The caller rejects NaN.
func key32(f float32) uint32 {
	b := math.Float32bits(f)
	if b == 1<<31 { // −0
		b = 0
	}
	if b&(1<<31) != 0 {
		return ^b
	}
	return b | 1<<31
}

// unkey32 inverts key32.
func unkey32(k uint32) float32 {
	if k&(1<<31) != 0 {
		return math.Float32frombits(k &^ (1 << 31))
	}
	return math.Float32frombits(^k)
}

// radixKey is the key type of radixSort.
type radixKey interface{ ~uint32 | ~uint64 }

// radixSort sorts a in place, ascending, by the bits of each key from bit
// shift+7 down to bit low (shift and low multiples of 8; bits below low are
// ignored, so keys equal above low keep an unspecified order). It is an
// in-place most-significant-digit radix sort ("American flag sort", McIlroy,
// Bostic & McIlroy 1993): one counting pass and one permutation pass per
// byte, no buffer beyond two 256-entry tables per level, recursion depth at
// most 8. Buckets of at most radixCutoff keys are finished by
// slices.Sort (which also orders the bits below low: harmless).
func radixSort[K radixKey](a []K, shift, low uint) {
	for len(a) > radixCutoff {
		var count [256]int
		for _, k := range a {
			count[byte(k>>shift)]++
		}
		// All keys share this byte: go straight to the next one.
		if count[byte(a[0]>>shift)] == len(a) {
			if shift == low {
				return
			}
			shift -= 8
			continue
		}
		var head, tail [256]int
		pos := 0
		for b := range 256 {
			head[b] = pos
			pos += count[b]
			tail[b] = pos
		}
		for b := range 256 {
			for head[b] < tail[b] {
				v := a[head[b]]
				d := byte(v >> shift)
				// Follow the cycle until a key for bucket b turns up.
				for int(d) != b {
					j := head[d]
					head[d]++
					a[j], v = v, a[j]
					d = byte(v >> shift)
				}
				a[head[b]] = v
				head[b]++
			}
		}
		if shift == low {
			return
		}
		start := 0
		for b := range 256 {
			end := start + count[b]
			if count[b] > 1 {
				radixSort(a[start:end], shift-8, low)
			}
			start = end
		}
		return
	}
	slices.Sort(a)
}

const radixCutoff = 64
