package imageio

// The islow inverse DCT of libjpeg (jidctint.c), which libjpeg-turbo keeps
// bit for bit in its SIMD versions and uses by default, so inside PIL: the
// Loeffler–Ligtenberg–Moschytz 1-D IDCT with 12 multiplies, constants scaled
// by 2^13, applied to columns (keeping PASS1_BITS = 2 extra bits) and then
// to rows, each output descaled with rounding and range-limited.

const (
	idctConstBits = 13
	idctPass1Bits = 2

	fix0_298631336 = 2446  // round(0.298631336 · 2^13)
	fix0_390180644 = 3196  // round(0.390180644 · 2^13)
	fix0_541196100 = 4433  // round(0.541196100 · 2^13)
	fix0_765366865 = 6270  // round(0.765366865 · 2^13)
	fix0_899976223 = 7373  // round(0.899976223 · 2^13)
	fix1_175875602 = 9633  // round(1.175875602 · 2^13)
	fix1_501321110 = 12299 // round(1.501321110 · 2^13)
	fix1_847759065 = 15137 // round(1.847759065 · 2^13)
	fix1_961570560 = 16069 // round(1.961570560 · 2^13)
	fix2_053119869 = 16819 // round(2.053119869 · 2^13)
	fix2_562915447 = 20995 // round(2.562915447 · 2^13)
	fix3_072711026 = 25172 // round(3.072711026 · 2^13)
)

// descale is libjpeg's DESCALE: x / 2^n rounded half up.
func descale(x int64, n uint) int64 { return (x + 1<<(n-1)) >> n }

// rangeLimit is the post-IDCT sample_range_limit lookup of jdmaster.c:
// the descaled value is taken modulo 1024 as a signed 10-bit number, then
// shifted by 128 and clamped to 0..255.
func rangeLimit(x int64) uint8 {
	v := int32(x&1023^512) - 512 // sign-extend the low 10 bits
	return clamp255(v + 128)
}

// idct1D is the 1-D IDCT shared by both passes: even part from in[0], in[2],
// in[4], in[6], odd part from in[1], in[3], in[5], in[7], returning the
// eight outputs before descaling (scaled by 2^13).
func idct1D(in0, in1, in2, in3, in4, in5, in6, in7 int64) (o [8]int64) {
	// Even part.
	z1 := (in2 + in6) * fix0_541196100
	tmp2 := z1 - in6*fix1_847759065
	tmp3 := z1 + in2*fix0_765366865
	tmp0 := (in0 + in4) << idctConstBits
	tmp1 := (in0 - in4) << idctConstBits
	tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
	tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

	// Odd part.
	t0, t1, t2, t3 := in7, in5, in3, in1
	z1 = t0 + t3
	z2 := t1 + t2
	z3 := t0 + t2
	z4 := t1 + t3
	z5 := (z3 + z4) * fix1_175875602
	t0 *= fix0_298631336
	t1 *= fix2_053119869
	t2 *= fix3_072711026
	t3 *= fix1_501321110
	z1 *= -fix0_899976223
	z2 *= -fix2_562915447
	z3 = z3*-fix1_961570560 + z5
	z4 = z4*-fix0_390180644 + z5
	t0 += z1 + z3
	t1 += z2 + z4
	t2 += z2 + z3
	t3 += z1 + z4

	return [8]int64{tmp10 + t3, tmp11 + t2, tmp12 + t1, tmp13 + t0,
		tmp13 - t0, tmp12 - t1, tmp11 - t2, tmp10 - t3}
}

// idctIslow dequantises coef (natural order) by q and writes the 8×8
// samples to dst, rows stride apart.
func idctIslow(coef, q *[64]int32, dst []uint8, stride int) {
	var ws [64]int32 // columns after pass 1, as jidctint.c's int workspace
	for x := 0; x < 8; x++ {
		c := func(y int) int64 { return int64(coef[8*y+x] * q[8*y+x]) }
		if coef[8+x]|coef[16+x]|coef[24+x]|coef[32+x]|coef[40+x]|coef[48+x]|coef[56+x] == 0 {
			dc := int32(c(0) << idctPass1Bits)
			for y := 0; y < 8; y++ {
				ws[8*y+x] = dc
			}
			continue
		}
		o := idct1D(c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7))
		for y := 0; y < 8; y++ {
			ws[8*y+x] = int32(descale(o[y], idctConstBits-idctPass1Bits))
		}
	}
	for y := 0; y < 8; y++ {
		w := ws[8*y:][:8]
		out := dst[y*stride:][:8]
		if w[1]|w[2]|w[3]|w[4]|w[5]|w[6]|w[7] == 0 {
			v := rangeLimit(descale(int64(w[0]), idctPass1Bits+3))
			for i := range out {
				out[i] = v
			}
			continue
		}
		o := idct1D(int64(w[0]), int64(w[1]), int64(w[2]), int64(w[3]), int64(w[4]), int64(w[5]), int64(w[6]), int64(w[7]))
		for i := range out {
			out[i] = rangeLimit(descale(o[i], idctConstBits+idctPass1Bits+3))
		}
	}
}
