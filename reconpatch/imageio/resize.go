package imageio

import (
	"fmt"
	"math"
	"sync"
)

// PIL's resampling (libImaging/Resample.c), bilinear filter, 8 bits per
// channel, reproduced operation for operation:
//
//   - scale = in/out; the filter is stretched by max(scale, 1) (so
//     downscaling is antialiased) and its support is 1·max(scale, 1);
//   - output sample i is centred at (i + ½)·scale; it reads input samples
//     xmin = int(centre − support + ½) … int(centre + support + ½) − 1
//     (clamped to the image), with weights tri((j − centre + ½)/max(scale, 1)),
//     tri(x) = max(0, 1 − |x|), divided by their sum (all in float64);
//   - the normalised weights become int32 fixed point with 22 fractional
//     bits, rounded half away from zero;
//   - a pass sums sample·weight into an int32 that starts at 2²¹ (the
//     rounding half), shifts right by 22 and clamps to 0..255;
//   - the horizontal pass runs first and its 8-bit result feeds the vertical
//     pass; a pass whose size does not change is skipped.

const precisionBits = 32 - 8 - 2

// coeffs is the filter table of one (in, out) size pair. Every output
// sample reads exactly kw consecutive inputs starting at lo: PIL's own taps,
// less zero weights at either end, zero-padded (and lo moved left where the
// image ends) to one width, so the kernels need no per-sample lengths. Zero
// weights add nothing, so the sums are PIL's.
type coeffs struct {
	kw int
	lo []int   // first input sample of each output sample
	k  []int32 // fixed-point weights, kw per output sample
}

func bilinearFilter(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return 1 - x
	}
	return 0
}

// computeCoeffs builds the table for resampling inSize samples to outSize.
func computeCoeffs(inSize, outSize int) *coeffs {
	// In PIL box edges are float32 and in1 − in0 is computed in float.
	scale := float64(float32(inSize)) / float64(outSize)
	filterscale := scale
	if filterscale < 1 {
		filterscale = 1
	}
	support := 1.0 * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	q := make([]int32, outSize*ksize) // PIL's table: ksize per output
	xmins := make([]int, outSize)
	ns := make([]int, outSize)
	w := make([]float64, ksize)
	kw := 1
	for xx := 0; xx < outSize; xx++ {
		// The explicit conversions keep the compiler from fusing a
		// multiply and an add (allowed on arm64): PIL rounds each step.
		center := float64((float64(xx) + 0.5) * scale)
		ss := 1.0 / filterscale
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		ww := 0.0
		for x := 0; x < xmax; x++ {
			v := bilinearFilter(float64((float64(x+xmin) - center + 0.5) * ss))
			w[x] = v
			ww += v
		}
		kk := q[xx*ksize:][:xmax]
		for x := range kk {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				kk[x] = int32(-0.5 + v*(1<<precisionBits))
			} else {
				kk[x] = int32(0.5 + v*(1<<precisionBits))
			}
		}
		// Drop zero weights at the ends.
		a, b := 0, len(kk)
		for a < b && kk[a] == 0 {
			a++
		}
		for b > a && kk[b-1] == 0 {
			b--
		}
		if a == b { // all zero (cannot happen for bilinear): keep one tap
			b = min(a+1, len(kk))
		}
		copy(kk, kk[a:b])
		xmins[xx], ns[xx] = xmin+a, b-a
		kw = max(kw, b-a)
	}
	kw = min(kw, inSize)
	c := &coeffs{kw: kw, lo: make([]int, outSize), k: make([]int32, outSize*kw)}
	for xx := range c.lo {
		lo := min(xmins[xx], inSize-kw)
		copy(c.k[xx*kw+xmins[xx]-lo:], q[xx*ksize:][:ns[xx]])
		c.lo[xx] = lo
	}
	return c
}

// coeffCache holds the tables of the size pairs seen so far; a data set's
// images come in a limited number of sizes. It is emptied when it grows
// past coeffCacheMax entries.
var (
	coeffMu       sync.Mutex
	coeffCache    = map[[2]int]*coeffs{}
	coeffCacheMax = 1024
)

func getCoeffs(inSize, outSize int) *coeffs {
	key := [2]int{inSize, outSize}
	coeffMu.Lock()
	c := coeffCache[key]
	coeffMu.Unlock()
	if c != nil {
		return c
	}
	c = computeCoeffs(inSize, outSize)
	coeffMu.Lock()
	if len(coeffCache) >= coeffCacheMax {
		clear(coeffCache)
	}
	coeffCache[key] = c
	coeffMu.Unlock()
	return c
}

const half = 1 << (precisionBits - 1)

func clip8(v int32) uint8 {
	v >>= precisionBits
	if uint32(v) > 255 {
		if v < 0 {
			return 0
		}
		return 255
	}
	return uint8(v)
}

// Resize resamples img to w×h exactly as PIL's Image.resize((w, h),
// Image.BILINEAR) does for an RGB image (see the package documentation). An
// image whose three channels are equal is resampled once and replicated,
// which gives the same result. It panics if w or h is not positive, or if
// img is empty.
func Resize(img RGB, w, h int) RGB {
	checkResize("Resize", img.W, img.H, w, h)
	out := NewRGB(w, h)
	if img.W == w && img.H == h {
		copy(out.Pix, img.Pix)
		return out
	}
	nc := 3
	if img.isGray() {
		nc = 1
	}
	// Horizontal pass (into a pooled buffer), then vertical pass into out;
	// a pass whose size does not change is skipped, as PIL does.
	src, sw, ps := img.Pix, img.W, 3 // ps: source bytes per pixel
	var tmp *[]uint8
	if w != img.W {
		tmp = getBuf(w * img.H * nc)
		resampleH(*tmp, img.Pix, img.W, img.H, nc, w)
		src, sw, ps = *tmp, w, nc
	}
	if h != img.H {
		resampleV(out.Pix, src, sw, img.H, ps, h)
	} else {
		expandRows(out.Pix, src, sw*h, nc, ps)
	}
	if tmp != nil {
		bufPool.Put(tmp)
	}
	return out
}

var bufPool sync.Pool

func getBuf(n int) *[]uint8 {
	if b, ok := bufPool.Get().(*[]uint8); ok && cap(*b) >= n {
		*b = (*b)[:n]
		return b
	}
	b := make([]uint8, n)
	return &b
}

// expandRows copies n pixels of nc channels stored ps bytes apart into RGB
// dst, replicating a single channel.
func expandRows(dst, src []uint8, n, nc, ps int) {
	if nc == 3 && ps == 3 {
		copy(dst, src[:3*n])
		return
	}
	for i := 0; i < n; i++ {
		v := src[i*ps]
		dst[3*i], dst[3*i+1], dst[3*i+2] = v, v, v
	}
}

func checkResize(op string, iw, ih, w, h int) {
	if w <= 0 || h <= 0 || iw <= 0 || ih <= 0 {
		panic(fmt.Sprintf("imageio: %s of a %d×%d image to %d×%d", op, iw, ih, w, h))
	}
}

// resampleH resamples every row of an iw×ih RGB image to ow samples into
// dst, which holds nc channels per pixel: nc = 1 reads the R channel only
// (a grey image), nc = 3 all three.
func resampleH(dst, src []uint8, iw, ih, nc, ow int) {
	c := getCoeffs(iw, ow)
	kw := c.kw
	for y := 0; y < ih; y++ {
		row := src[y*iw*3:][:iw*3]
		out := dst[y*ow*nc:][:ow*nc]
		if nc == 1 {
			hrowGray(out, row, c)
			continue
		}
		switch kw {
		case 2:
			for xx := 0; xx < ow; xx++ {
				k := c.k[xx*2 : xx*2+2 : xx*2+2]
				in := row[c.lo[xx]*3:][:6]
				o := out[3*xx : 3*xx+3 : 3*xx+3]
				o[0] = clip8(half + int32(in[0])*k[0] + int32(in[3])*k[1])
				o[1] = clip8(half + int32(in[1])*k[0] + int32(in[4])*k[1])
				o[2] = clip8(half + int32(in[2])*k[0] + int32(in[5])*k[1])
			}
			continue
		case 3:
			for xx := 0; xx < ow; xx++ {
				k := c.k[xx*3 : xx*3+3 : xx*3+3]
				in := row[c.lo[xx]*3:][:9]
				o := out[3*xx : 3*xx+3 : 3*xx+3]
				o[0] = clip8(half + int32(in[0])*k[0] + int32(in[3])*k[1] + int32(in[6])*k[2])
				o[1] = clip8(half + int32(in[1])*k[0] + int32(in[4])*k[1] + int32(in[7])*k[2])
				o[2] = clip8(half + int32(in[2])*k[0] + int32(in[5])*k[1] + int32(in[8])*k[2])
			}
			continue
		case 4:
			for xx := 0; xx < ow; xx++ {
				k := c.k[xx*4 : xx*4+4 : xx*4+4]
				in := row[c.lo[xx]*3:][:12]
				o := out[3*xx : 3*xx+3 : 3*xx+3]
				o[0] = clip8(half + int32(in[0])*k[0] + int32(in[3])*k[1] + int32(in[6])*k[2] + int32(in[9])*k[3])
				o[1] = clip8(half + int32(in[1])*k[0] + int32(in[4])*k[1] + int32(in[7])*k[2] + int32(in[10])*k[3])
				o[2] = clip8(half + int32(in[2])*k[0] + int32(in[5])*k[1] + int32(in[8])*k[2] + int32(in[11])*k[3])
			}
			continue
		}
		for xx := 0; xx < ow; xx++ {
			k := c.k[xx*kw:][:kw]
			in := row[c.lo[xx]*3:][:3*kw]
			s0, s1, s2 := int32(half), int32(half), int32(half)
			for j, kj := range k {
				p := in[3*j : 3*j+3 : 3*j+3]
				s0 += int32(p[0]) * kj
				s1 += int32(p[1]) * kj
				s2 += int32(p[2]) * kj
			}
			o := out[3*xx : 3*xx+3 : 3*xx+3]
			o[0], o[1], o[2] = clip8(s0), clip8(s1), clip8(s2)
		}
	}
}

// hrowGray resamples the R channel of one RGB row into out.
func hrowGray(out, row []uint8, c *coeffs) {
	kw := c.kw
	switch kw {
	case 2:
		for xx := range out {
			k := c.k[xx*2 : xx*2+2 : xx*2+2]
			in := row[c.lo[xx]*3:][:6]
			out[xx] = clip8(half + int32(in[0])*k[0] + int32(in[3])*k[1])
		}
	case 3:
		for xx := range out {
			k := c.k[xx*3 : xx*3+3 : xx*3+3]
			in := row[c.lo[xx]*3:][:9]
			out[xx] = clip8(half + int32(in[0])*k[0] + int32(in[3])*k[1] + int32(in[6])*k[2])
		}
	case 4:
		for xx := range out {
			k := c.k[xx*4 : xx*4+4 : xx*4+4]
			in := row[c.lo[xx]*3:][:12]
			out[xx] = clip8(half + int32(in[0])*k[0] + int32(in[3])*k[1] + int32(in[6])*k[2] + int32(in[9])*k[3])
		}
	case 5:
		for xx := range out {
			k := c.k[xx*5 : xx*5+5 : xx*5+5]
			in := row[c.lo[xx]*3:][:15]
			out[xx] = clip8(half + int32(in[0])*k[0] + int32(in[3])*k[1] + int32(in[6])*k[2] +
				int32(in[9])*k[3] + int32(in[12])*k[4])
		}
	default:
		for xx := range out {
			k := c.k[xx*kw:][:kw]
			in := row[c.lo[xx]*3:][:3*kw]
			s := int32(half)
			for j, kj := range k {
				s += int32(in[3*j]) * kj
			}
			out[xx] = clip8(s)
		}
	}
}

// resampleV resamples every column of an iw×ih image with ps bytes per
// pixel (3, or 1 for a grey plane) to oh rows, writing RGB rows into dst (a
// grey plane is replicated). Each output row sums whole input rows, so memory
// is read in order; up to five taps are summed in registers.
func resampleV(dst, src []uint8, iw, ih, ps, oh int) {
	c := getCoeffs(ih, oh)
	kw := c.kw
	n := iw * ps // bytes per source row
	var line []uint8
	if ps == 1 {
		line = make([]uint8, iw) // one grey row, replicated into dst
	}
	var acc []int32
	for yy := 0; yy < oh; yy++ {
		k := c.k[yy*kw:][:kw]
		lo := c.lo[yy]
		out := dst[yy*iw*3:][:iw*3]
		o := out
		if line != nil {
			o = line
		}
		// A grey image whose horizontal pass was skipped is still RGB
		// (ps = 3): its three equal channels are all summed, directly into
		// dst.
		switch kw {
		case 1:
			r0, k0 := src[lo*n:][:n], k[0]
			o := o[:n]
			for i := range o {
				o[i] = clip8(half + int32(r0[i])*k0)
			}
		case 2:
			r0, r1 := src[lo*n:][:n], src[(lo+1)*n:][:n]
			k0, k1 := k[0], k[1]
			o := o[:n]
			for i := range o {
				o[i] = clip8(half + int32(r0[i])*k0 + int32(r1[i])*k1)
			}
		case 3:
			r0, r1, r2 := src[lo*n:][:n], src[(lo+1)*n:][:n], src[(lo+2)*n:][:n]
			k0, k1, k2 := k[0], k[1], k[2]
			o := o[:n]
			for i := range o {
				o[i] = clip8(half + int32(r0[i])*k0 + int32(r1[i])*k1 + int32(r2[i])*k2)
			}
		case 4:
			r0, r1, r2, r3 := src[lo*n:][:n], src[(lo+1)*n:][:n], src[(lo+2)*n:][:n], src[(lo+3)*n:][:n]
			k0, k1, k2, k3 := k[0], k[1], k[2], k[3]
			o := o[:n]
			for i := range o {
				o[i] = clip8(half + int32(r0[i])*k0 + int32(r1[i])*k1 + int32(r2[i])*k2 + int32(r3[i])*k3)
			}
		case 5:
			r0, r1, r2, r3, r4 := src[lo*n:][:n], src[(lo+1)*n:][:n], src[(lo+2)*n:][:n], src[(lo+3)*n:][:n], src[(lo+4)*n:][:n]
			k0, k1, k2, k3, k4 := k[0], k[1], k[2], k[3], k[4]
			o := o[:n]
			for i := range o {
				o[i] = clip8(half + int32(r0[i])*k0 + int32(r1[i])*k1 + int32(r2[i])*k2 + int32(r3[i])*k3 + int32(r4[i])*k4)
			}
		default:
			if acc == nil {
				acc = make([]int32, n)
			}
			for i := range acc {
				acc[i] = half
			}
			for j, kj := range k {
				r := src[(lo+j)*n:][:n]
				a := acc[:len(r)]
				for i, v := range r {
					a[i] += int32(v) * kj
				}
			}
			o := o[:n]
			for i, s := range acc[:len(o)] {
				o[i] = clip8(s)
			}
		}
		if line != nil {
			expandRows(out, line, iw, 1, 1)
		}
	}
}

// nearestIndex is PIL's NEAREST sampling table (ImagingScaleAffine): output
// sample i reads input floor(scale·½ + i·scale), the position accumulated in
// float64 step by step as PIL does; -1 marks a position outside the input
// (it never happens for a plain resize, but PIL would leave such pixels 0).
func nearestIndex(inSize, outSize int) []int {
	a := float64(float32(inSize)) / float64(outSize)
	idx := make([]int, outSize)
	pos := a * 0.5
	for i := range idx {
		v := -1
		if pos >= 0 {
			v = int(pos)
		}
		if v >= inSize {
			v = -1
		}
		idx[i] = v
		pos += a
	}
	return idx
}

// resizeNearest resamples an interleaved image of nc channels with PIL's
// NEAREST rule.
func resizeNearest(src []uint8, iw, ih, nc, ow, oh int) []uint8 {
	xi, yi := nearestIndex(iw, ow), nearestIndex(ih, oh)
	dst := make([]uint8, ow*oh*nc)
	for y, sy := range yi {
		if sy < 0 {
			continue
		}
		row := src[sy*iw*nc:][:iw*nc]
		out := dst[y*ow*nc:][:ow*nc]
		for x, sx := range xi {
			if sx >= 0 {
				copy(out[x*nc:x*nc+nc], row[sx*nc:sx*nc+nc])
			}
		}
	}
	return dst
}

// ResizeNearest resamples img to w×h exactly as PIL's Image.resize((w, h),
// Image.NEAREST) does. It panics if a size is not positive.
func ResizeNearest(img RGB, w, h int) RGB {
	checkResize("ResizeNearest", img.W, img.H, w, h)
	return RGB{W: w, H: h, Pix: resizeNearest(img.Pix, img.W, img.H, 3, w, h)}
}

// ResizeNearest resamples a mask to w×h with PIL's NEAREST rule. It panics if
// a size is not positive.
func (m Mask) ResizeNearest(w, h int) Mask {
	checkResize("Mask.ResizeNearest", m.W, m.H, w, h)
	return Mask{W: w, H: h, Pix: resizeNearest(m.Pix, m.W, m.H, 1, w, h)}
}
