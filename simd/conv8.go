package simd

import (
	"fmt"
	"unsafe"
)

// Conv8Block is the number of output positions Conv8 computes per kernel
// call at any level: its output rows and input must have room for q rounded
// up to a multiple of it.
const Conv8Block = 48

// conv8Kernel computes one block of Conv8 (blk positions) for 8 output
// channels; see conv8Go. The assembly ones are set by kernels_amd64.go.
type conv8Kernel struct {
	blk int
	fn  func(taps int, offs *int, w, x, out *float32, ldo int, bias *float32, relu int)
}

var conv8Kernels = [...]conv8Kernel{
	Generic: {blk: 8, fn: conv8Go},
	AVX2:    {},
	AVX512:  {},
}

// Conv8 is the kernel of a direct convolution with 8 output channels (one
// group of a grouped convolution, or 8 rows of one): for o < 8 and q < n,
//
//	out[o*ldo+q] = act(bias[o] + Σ_t w[t*8+o]·x[offs[t]+q]),  t < len(offs)
//
// where act is max(·, 0) if relu is set (NaN stays NaN), and bias may be
// nil (zero). x is the zero-padded input laid
// out so that every tap t is a constant offset offs[t] from the output
// position: with rows of the padded input as wide as the rows of the output
// grid, offs[t] = (channel·Hp + i)·Wp + j for kernel position (i, j). w
// holds the weights tap-major, 8 per tap.
//
// Each output row is written up to q = roundUp(n, Conv8Block), and x is
// read up to max(offs)+q: the caller pads both (the extra outputs hold
// garbage). It panics if the slices are too short or ldo < q.
func Conv8(out []float32, ldo int, x []float32, offs []int, w, bias []float32, relu bool, n int) {
	if n <= 0 {
		return
	}
	q := roundUp(n, Conv8Block)
	maxOff := 0
	for _, o := range offs {
		if o < 0 {
			panic(fmt.Sprintf("simd: Conv8: negative offset %d", o))
		}
		maxOff = max(maxOff, o)
	}
	if ldo < q || len(out) < 7*ldo+q || len(x) < maxOff+q || len(w) < 8*len(offs) || (bias != nil && len(bias) < 8) {
		panic(fmt.Sprintf("simd: Conv8: n=%d (rounded %d), ldo=%d, len(out)=%d, len(x)=%d (max offset %d), %d taps, len(w)=%d, len(bias)=%d",
			n, q, ldo, len(out), len(x), maxOff, len(offs), len(w), len(bias)))
	}
	var zero [8]float32
	if bias == nil {
		bias = zero[:]
	}
	k := conv8For(CurrentLevel())
	r := 0
	if relu {
		r = 1
	}
	var op *int
	if len(offs) > 0 {
		op = &offs[0]
	}
	var wp *float32
	if len(w) > 0 {
		wp = &w[0]
	}
	for b := 0; b < q; b += k.blk {
		k.fn(len(offs), op, wp, &x[b], &out[b], ldo, &bias[0], r)
	}
}

// conv8For returns the kernel of level l, or of the next lower level that
// has one.
func conv8For(l Level) *conv8Kernel {
	for ; l > Generic; l-- {
		if conv8Kernels[l].fn != nil {
			return &conv8Kernels[l]
		}
	}
	return &conv8Kernels[Generic]
}

// conv8Go is the reference kernel and the generic level's: one block of 8
// positions, accumulated tap by tap in float32 in the order the assembly
// kernels use (bias added last).
func conv8Go(taps int, offs *int, w, x, out *float32, ldo int, bias *float32, relu int) {
	const blk = 8
	o := unsafe.Slice(offs, taps)
	ws := unsafe.Slice(w, 8*taps)
	var acc [8][blk]float32
	for t, off := range o {
		src := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(x), 4*off)), blk)
		wt := ws[8*t : 8*t+8 : 8*t+8]
		for r := range 8 {
			a, wv := &acc[r], wt[r]
			for q, v := range src {
				a[q] += wv * v
			}
		}
	}
	bs := unsafe.Slice(bias, 8)
	dst := unsafe.Slice(out, 7*ldo+blk)
	for r := range 8 {
		row := dst[r*ldo : r*ldo+blk]
		for q := range row {
			v := acc[r][q] + bs[r]
			if relu != 0 {
				v = max(v, 0)
			}
			row[q] = v
		}
	}
}
