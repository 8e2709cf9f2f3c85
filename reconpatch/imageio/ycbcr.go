package imageio

import "image"

// YCbCr → RGB as libjpeg(-turbo) does it inside PIL, so that colour JPEGs
// decoded by Go's image/jpeg agree with PIL except for the IDCT's rounding:
//
//   - chroma is upsampled with libjpeg's "fancy" triangle filter (the
//     default, do_fancy_upsampling) for 2:1 horizontal (4:2:2), 2:1 both ways
//     (4:2:0) and 2:1 vertical (4:4:0); other ratios replicate samples, as
//     libjpeg's int_upsample. Rows above the first and below the last are
//     copies of them, as libjpeg's context rows are;
//   - the colour conversion uses libjpeg's 16-bit fixed-point tables
//     (jdcolor.c): R = Y + round(1.402·Cr'), G = Y + ((−0.34414·Cb' −
//     0.71414·Cr' + ½) >> 16 in fixed point), B = Y + round(1.772·Cb'),
//     Cb' = Cb − 128, Cr' = Cr − 128, clamped to 0..255.
//
// Go's own color.YCbCrToRGB rounds differently and replicates chroma, which
// costs up to a few levels at colour edges.

const (
	yccScaleBits = 16
	yccOneHalf   = 1 << (yccScaleBits - 1)
)

func yccFix(x float64) int32 { return int32(x*(1<<yccScaleBits) + 0.5) }

var yccCrR, yccCbB, yccCrG, yccCbG [256]int32

func init() {
	for i := 0; i < 256; i++ {
		x := int32(i - 128)
		yccCrR[i] = (yccFix(1.40200)*x + yccOneHalf) >> yccScaleBits
		yccCbB[i] = (yccFix(1.77200)*x + yccOneHalf) >> yccScaleBits
		yccCrG[i] = -yccFix(0.71414) * x
		yccCbG[i] = -yccFix(0.34414)*x + yccOneHalf
	}
}

func clamp255(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// subsamplings are the chroma layouts an image.YCbCr holds, with the
// factors by which chroma is subsampled across and down.
var subsamplings = []struct {
	ratio  image.YCbCrSubsampleRatio
	hf, vf int
}{
	{image.YCbCrSubsampleRatio444, 1, 1},
	{image.YCbCrSubsampleRatio422, 2, 1},
	{image.YCbCrSubsampleRatio420, 2, 2},
	{image.YCbCrSubsampleRatio440, 1, 2},
	{image.YCbCrSubsampleRatio411, 4, 1},
	{image.YCbCrSubsampleRatio410, 4, 2},
}

// ycbcrToRGB converts m (whose bounds start at the origin) into out.
func ycbcrToRGB(m *image.YCbCr, out RGB) {
	w, h := out.W, out.H
	cb := make([]uint8, w)
	cr := make([]uint8, w)
	hf, vf := 0, 0 // horizontal and vertical chroma subsampling factors
	for _, s := range subsamplings {
		if s.ratio == m.SubsampleRatio {
			hf, vf = s.hf, s.vf
		}
	}
	if hf == 0 {
		genericToRGB(m, out)
		return
	}
	cw, ch := (w+hf-1)/hf, (h+vf-1)/vf
	for y := 0; y < h; y++ {
		upsampleRow(cb, m.Cb, m.CStride, cw, ch, hf, vf, y)
		upsampleRow(cr, m.Cr, m.CStride, cw, ch, hf, vf, y)
		yrow := m.Y[y*m.YStride:][:w]
		o := out.Pix[y*w*3:][:w*3]
		for x, yv := range yrow {
			Y := int32(yv)
			o[3*x] = clamp255(Y + yccCrR[cr[x]])
			o[3*x+1] = clamp255(Y + (yccCbG[cb[x]]+yccCrG[cr[x]])>>yccScaleBits)
			o[3*x+2] = clamp255(Y + yccCbB[cb[x]])
		}
	}
}

// upsampleRow writes output row y (len(dst) samples) of a chroma plane of
// cw×ch samples subsampled by hf×vf, the way libjpeg-turbo's jdsample.c does.
func upsampleRow(dst, plane []uint8, stride, cw, ch, hf, vf, y int) {
	w := len(dst)
	iy := y / vf
	near := plane[iy*stride:][:cw]
	switch {
	case hf == 1 && vf == 1:
		copy(dst, near)
	case hf == 2 && vf == 2 && cw > 2: // h2v2_fancy_upsample
		fy := iy - 1
		if y%2 == 1 {
			fy = iy + 1
		}
		fy = max(0, min(ch-1, fy))
		far := plane[fy*stride:][:cw]
		colsum := func(i int) int { return 3*int(near[i]) + int(far[i]) }
		last := colsum(0)
		this := last
		for i := 0; i < cw; i++ {
			next := this
			if i+1 < cw {
				next = colsum(i + 1)
			}
			var a, b int
			if i == 0 {
				a = (this*4 + 8) >> 4
			} else {
				a = (this*3 + last + 8) >> 4
			}
			if i == cw-1 {
				b = (this*4 + 7) >> 4
			} else {
				b = (this*3 + next + 7) >> 4
			}
			put2(dst, 2*i, uint8(a), uint8(b), w)
			last, this = this, next
		}
	case hf == 2 && vf == 1 && cw > 2: // h2v1_fancy_upsample
		for i := 0; i < cw; i++ {
			v := int(near[i]) * 3
			var a, b int
			if i == 0 {
				a = int(near[0])
			} else {
				a = (v + int(near[i-1]) + 1) >> 2
			}
			if i == cw-1 {
				b = int(near[i])
			} else {
				b = (v + int(near[i+1]) + 2) >> 2
			}
			put2(dst, 2*i, uint8(a), uint8(b), w)
		}
	case hf == 1 && vf == 2: // h1v2_fancy_upsample
		fy, bias := iy-1, 1
		if y%2 == 1 {
			fy, bias = iy+1, 2
		}
		fy = max(0, min(ch-1, fy))
		far := plane[fy*stride:][:cw]
		for i := 0; i < w; i++ {
			dst[i] = uint8((3*int(near[i]) + int(far[i]) + bias) >> 2)
		}
	default: // replication (h2v1_upsample, h2v2_upsample, int_upsample)
		for i := 0; i < w; i++ {
			dst[i] = near[i/hf]
		}
	}
}

// put2 stores a and b at dst[i] and dst[i+1], dropping what falls past n.
func put2(dst []uint8, i int, a, b uint8, n int) {
	dst[i] = a
	if i+1 < n {
		dst[i+1] = b
	}
}
