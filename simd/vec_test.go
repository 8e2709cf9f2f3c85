package simd

import (
	"flag"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
)

// vecSizes covers every tail length of both vector widths (0 … 2·16+1), the
// unrolled loops' boundaries, and large n.
func vecSizes() []int {
	var s []int
	for n := 0; n <= 33; n++ {
		s = append(s, n)
	}
	return append(s, 47, 63, 64, 65, 95, 127, 128, 129, 1000, 4097, 65537)
}

const eps32 = 0x1p-24

// intSlice returns n small integers in [-k, k] as float32, so that sums of
// their products are exact in float32 whatever the order.
func intSlice(r *rand.Rand, n, k int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.IntN(2*k+1) - k)
	}
	return s
}

// dotLanes is the number of independent partial sums of Dot at level l.
func dotLanes(l Level) int {
	if vecFor(l) == nil {
		return 4
	}
	if l == AVX512 {
		return 64
	}
	return 32
}

func TestDot(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, n := range vecSizes() {
			for _, off := range []int{0, 1, 3} { // unaligned starts
				// Small integers: the sum is exact in any order, so any
				// element dropped or counted twice shows.
				xi, yi := intSlice(r, n+off, 8)[off:], intSlice(r, n+off, 8)[off:]
				var exact int64
				for i := range xi {
					exact += int64(xi[i]) * int64(yi[i])
				}
				if got := Dot(xi, yi); got != float32(exact) {
					tb.Fatalf("%s n=%d off=%d: Dot of integers = %v, want %d", l, n, off, got, exact)
				}
				// Random values against float64, within the documented bound.
				x, y := randSlice(r, n+off)[off:], randSlice(r, n+off)[off:]
				var want, mag float64
				for i := range x {
					p := float64(x[i]) * float64(y[i])
					want += p
					mag += math.Abs(p)
				}
				lanes := dotLanes(l)
				bound := float64((n+lanes-1)/lanes+int(math.Log2(float64(lanes)))+2) * eps32 * mag
				if got := Dot(x, y); math.Abs(float64(got)-want) > bound {
					tb.Fatalf("%s n=%d off=%d: Dot = %v, want %v (error %.3g > %.3g)", l, n, off, got, want, math.Abs(float64(got)-want), bound)
				}
			}
		}
	})
}

func TestDotSpecial(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, n := range []int{1, 7, 16, 17, 100} {
			x, y := make([]float32, n), make([]float32, n)
			for i := range x {
				x[i], y[i] = 1, 1
			}
			x[n-1] = inf
			if got := Dot(x, y); !math.IsInf(float64(got), 1) {
				tb.Errorf("%s n=%d: Dot with +Inf = %v", l, n, got)
			}
			x[n-1] = nan
			if got := Dot(x, y); !math.IsNaN(float64(got)) {
				tb.Errorf("%s n=%d: Dot with NaN = %v", l, n, got)
			}
		}
	})
}

func TestAxpy(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	const pad = 17
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, n := range vecSizes() {
			for _, off := range []int{0, 2} {
				alpha := float32(r.Float64()*4 - 2)
				x := randSlice(r, n+off)[off:]
				ys := padded(r, n+off, pad)
				y := ys[pad+off : pad+off+n]
				orig := append([]float32(nil), y...)
				Axpy(alpha, x, y)
				checkGuards(tb, fmt.Sprintf("%s Axpy n=%d", l, n), ys, pad, pad)
				for i := range y {
					ax := float64(alpha) * float64(x[i])
					want := float64(orig[i]) + ax
					// One rounding of the sum (FMA) or two (generic).
					bound := eps32*(math.Abs(want)+math.Abs(ax)) + 0x1p-149
					if d := math.Abs(float64(y[i]) - want); d > bound {
						tb.Fatalf("%s n=%d: y[%d] = %v, want %v (error %.3g > %.3g)", l, n, i, y[i], want, d, bound)
					}
				}
				// Integers are exact; x and y may be the same slice.
				yi := intSlice(r, n, 100)
				want := make([]float32, n)
				for i := range yi {
					want[i] = 4 * yi[i]
				}
				Axpy(3, yi, yi)
				for i := range yi {
					if yi[i] != want[i] {
						tb.Fatalf("%s n=%d: Axpy(3, y, y)[%d] = %v, want %v", l, n, i, yi[i], want[i])
					}
				}
			}
		}
	})
}

// TestAxpyTo checks AxpyTo against Axpy on a copy of y, bit for bit at
// each level, with dst apart from, or equal to, x or y.
func TestAxpyTo(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	const pad = 17
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, n := range vecSizes() {
			for _, alpha := range []float32{1, -1, float32(r.Float64()*4 - 2)} {
				x, y := randSlice(r, n), randSlice(r, n)
				want := append([]float32(nil), y...)
				Axpy(alpha, x, want)
				ds := padded(r, n, pad)
				dst := ds[pad : pad+n]
				AxpyTo(dst, alpha, x, y)
				checkGuards(tb, fmt.Sprintf("%s AxpyTo n=%d", l, n), ds, pad, pad)
				inY := append([]float32(nil), y...)
				AxpyTo(inY, alpha, x, inY)
				inX := append([]float32(nil), x...)
				AxpyTo(inX, alpha, inX, y)
				for i := range want {
					for _, got := range [][]float32{dst, inY, inX} {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							tb.Fatalf("%s n=%d alpha=%v: [%d] = %v, want %v (Axpy)", l, n, alpha, i, got[i], want[i])
						}
					}
				}
			}
		}
	})
}

// TestMix6 checks Mix6 at every level and destination count: with small
// integer coefficients and inputs (exact sums, as with Winograd's matrices)
// against the exact result, with random ones against a float64 sum within
// the bound of six fused roundings; and that nothing past n is written.
func TestMix6(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	const pad = 17
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, n := range vecSizes() {
			for nd := 1; nd <= 6; nd++ {
				for _, exact := range []bool{true, false} {
					var c [36]float32
					var src [6][]float32
					for i := range c {
						c[i] = float32(r.IntN(11) - 5)
						if !exact {
							c[i] = float32(r.NormFloat64())
						}
					}
					for j := range src {
						src[j] = randSlice(r, n+j) // longer than n is allowed
						if exact {
							src[j] = intSlice(r, n+j, 100)
						}
					}
					bufs := make([][]float32, nd)
					dst := make([][]float32, nd)
					for i := range dst {
						bufs[i] = padded(r, n, pad)
						dst[i] = bufs[i][pad : pad+n]
					}
					Mix6(dst, &c, &src)
					for i := range dst {
						checkGuards(tb, fmt.Sprintf("%s Mix6 n=%d dst %d of %d", l, n, i, nd), bufs[i], pad, pad)
						for x := range n {
							var want, mag float64
							for j := range 6 {
								p := float64(c[6*i+j]) * float64(src[j][x])
								want += p
								mag += math.Abs(p)
							}
							got := float64(dst[i][x])
							if exact && got != want || !exact && math.Abs(got-want) > 8*eps32*mag {
								tb.Fatalf("%s n=%d exact=%v: dst[%d][%d] = %v, want %v", l, n, exact, i, x, got, want)
							}
						}
					}
				}
			}
		}
	})
}

// TestMax checks Max at every level bit for bit against its rule, on
// values with NaNs, infinities and signed zeros in both operands, and that
// nothing past n is written.
func TestMax(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), 1, -1}
	pick := func() float32 {
		if r.IntN(4) == 0 {
			return special[r.IntN(len(special))]
		}
		return float32(r.IntN(7) - 3) // ties are common
	}
	const pad = 17
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, n := range vecSizes() {
			x := make([]float32, n)
			buf := padded(r, n, pad)
			dst := buf[pad : pad+n]
			for i := range x {
				x[i], dst[i] = pick(), pick()
			}
			orig := append([]float32(nil), dst...)
			Max(dst, x)
			checkGuards(tb, fmt.Sprintf("%s Max n=%d", l, n), buf, pad, pad)
			for i := range x {
				want := orig[i]
				if x[i] > orig[i] || x[i] != x[i] {
					want = x[i]
				}
				if math.Float32bits(dst[i]) != math.Float32bits(want) {
					tb.Fatalf("%s n=%d: Max(%v, %v) = %v, want %v", l, n, orig[i], x[i], dst[i], want)
				}
			}
			same := append([]float32(nil), orig...)
			Max(same, same) // in place: unchanged
			for i := range same {
				if math.Float32bits(same[i]) != math.Float32bits(orig[i]) {
					tb.Fatalf("%s n=%d: Max(x, x)[%d] = %v, want %v", l, n, i, same[i], orig[i])
				}
			}
		}
	})
}

// TestStride2 checks Stride2 at every level against its rule, with the
// source exactly 2n−1 values long (the last block must not read past it)
// and longer, and that nothing past n is written.
func TestStride2(t *testing.T) {
	r := rand.New(rand.NewPCG(81, 82))
	const pad = 17
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, n := range vecSizes() {
			for _, extra := range []int{-1, 0, 5} {
				if n == 0 && extra < 0 {
					continue
				}
				src := randSlice(r, 2*n+extra)
				buf := padded(r, n, pad)
				dst := buf[pad : pad+n]
				Stride2(dst, src)
				checkGuards(tb, fmt.Sprintf("%s Stride2 n=%d", l, n), buf, pad, pad)
				for i := range dst {
					if math.Float32bits(dst[i]) != math.Float32bits(src[2*i]) {
						tb.Fatalf("%s n=%d len(src)=%d: dst[%d] = %v, want %v", l, n, len(src), i, dst[i], src[2*i])
					}
				}
			}
		}
	})
}

// TestInterleave checks Interleave at every level against its rule, bit for
// bit (NaN as NaN), for m = 2 and 4, with and without a residual (also the
// destination itself) and the rectifier, on values with NaNs, infinities
// and signed zeros, and that nothing outside dst is written.
func TestInterleave(t *testing.T) {
	r := rand.New(rand.NewPCG(91, 92))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1))}
	pick := func() float32 {
		if r.IntN(5) == 0 {
			return special[r.IntN(len(special))]
		}
		return float32(r.NormFloat64())
	}
	const pad = 17
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, m := range []int{2, 4} {
			for _, n := range vecSizes()[:40] {
				for _, mode := range []string{"plain", "res", "res=dst"} {
					for _, relu := range []bool{false, true} {
						src := make([][]float32, m)
						for k := range src {
							src[k] = make([]float32, n+r.IntN(3)) // sources may be longer
							for i := range src[k] {
								src[k][i] = pick()
							}
						}
						bias := pick()
						if r.IntN(3) == 0 {
							bias = 0
						}
						size := m * n // the last group cut short by 0 to m−1 values
						if n > 0 {
							size -= r.IntN(m)
						}
						buf := padded(r, size, pad)
						dst := buf[pad : pad+size]
						var res []float32
						switch mode {
						case "res":
							res = make([]float32, size)
						case "res=dst":
							res = dst
						}
						for i := range res {
							res[i] = pick()
						}
						resCopy := append([]float32(nil), res...)
						Interleave(dst, src, bias, res, relu)
						what := fmt.Sprintf("%s Interleave m=%d len=%d %s relu=%v", l, m, size, mode, relu)
						checkGuards(tb, what, buf, pad, pad)
						for t := range n {
							for k := range m {
								if m*t+k >= size {
									break
								}
								want := src[k][t] + bias
								if res != nil {
									want += resCopy[m*t+k]
								}
								if relu && (want < 0 || want == 0) {
									want = 0
								}
								got := dst[m*t+k]
								if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
									tb.Fatalf("%s: dst[%d] = %v, want %v", what, m*t+k, got, want)
								}
							}
						}
					}
				}
			}
		}
	})
}

// TestDeinterleave checks Deinterleave at every level against its rule, for
// m = 2 and 4, with sources exactly m·n long or longer, and that nothing
// past any destination is written.
func TestDeinterleave(t *testing.T) {
	r := rand.New(rand.NewPCG(93, 94))
	const pad = 17
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, m := range []int{2, 4} {
			for _, n := range vecSizes() {
				src := randSlice(r, m*n+r.IntN(2)*3)
				bufs := make([][]float32, m)
				dst := make([][]float32, m)
				for k := range dst {
					bufs[k] = padded(r, n, pad)
					dst[k] = bufs[k][pad : pad+n]
				}
				Deinterleave(dst, src)
				for k := range dst {
					what := fmt.Sprintf("%s Deinterleave m=%d n=%d phase %d", l, m, n, k)
					checkGuards(tb, what, bufs[k], pad, pad)
					for i, v := range dst[k] {
						if math.Float32bits(v) != math.Float32bits(src[m*i+k]) {
							tb.Fatalf("%s: dst[%d] = %v, want %v", what, i, v, src[m*i+k])
						}
					}
				}
			}
		}
	})
}

// TestSandwich checks Sandwich at every level, for t = 6 and 4 and r = t
// and t − 2, against the transform in float64; for t = 6 bit for bit
// against Mix6 passes over l and then k (the contract), for t = 4 bit for
// bit against t = 6 with the coefficients padded by zeros (finite data: the
// extra terms add +0); and that nothing between or past the destination
// planes is written.
func TestSandwich(t *testing.T) {
	r := rand.New(rand.NewPCG(95, 96))
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, tt := range []int{6, 4} {
			for _, rr := range []int{tt, tt - 2} {
				c := make([]float32, rr*tt)
				for i := range c {
					c[i] = float32(r.IntN(11) - 5) // Winograd's coefficients are small integers
				}
				for _, n := range append(vecSizes()[:36], 63, 64, 65, 200) {
					src := randSlice(r, n+50)
					offs := make([]int, tt*tt)
					for i := range offs {
						offs[i] = r.IntN(51)
					}
					stride := n + r.IntN(3)
					size := (rr*rr-1)*stride + n
					dst := make([]float32, size+guardPad)
					for i := range dst {
						dst[i] = guard
					}
					Sandwich(dst[:size], stride, c, src, offs, tt, rr, n)
					want := make([]float32, len(dst))
					for i := range want {
						want[i] = guard
					}
					if tt == 6 {
						sandwichByMix6(want, stride, c, src, offs, rr, n)
					} else {
						// r = 2 runs as r = 4 with two zero rows.
						c6 := make([]float32, 6*4)
						offs6 := make([]int, 36)
						for i := range rr {
							copy(c6[6*i:], c[4*i:][:4])
						}
						for k := range 6 {
							for ll := range 6 {
								offs6[6*k+ll] = offs[4*(k%4)+ll%4]
							}
						}
						full := make([]float32, 15*stride+n)
						Sandwich(full, stride, c6, src, offs6, 6, 4, n)
						for i := range rr {
							for j := range rr {
								copy(want[(i*rr+j)*stride:][:n], full[(i*4+j)*stride:][:n])
							}
						}
					}
					what := fmt.Sprintf("%s Sandwich t=%d r=%d n=%d stride=%d", l, tt, rr, n, stride)
					for i := range dst {
						if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
							tb.Fatalf("%s: dst[%d] = %v, want %v", what, i, dst[i], want[i])
						}
					}
					for i := range rr {
						for j := range rr {
							for x := range n {
								var sum, mag float64
								for k := range tt {
									var inner, innerMag float64
									for ll := range tt {
										v := float64(c[tt*j+ll]) * float64(src[offs[tt*k+ll]+x])
										inner += v
										innerMag += math.Abs(v)
									}
									sum += float64(c[tt*i+k]) * inner
									mag += math.Abs(float64(c[tt*i+k])) * innerMag
								}
								got := float64(dst[(i*rr+j)*stride+x])
								if math.Abs(got-sum) > 24*eps32*mag {
									tb.Fatalf("%s: (%d, %d)[%d] = %v, want %v", what, i, j, x, got, sum)
								}
							}
						}
					}
				}
			}
		}
	})
}

// sandwichByMix6 is Sandwich with t = 6 as Mix6 passes: the inner sums
// over l for each row k, then the outer ones over k.
func sandwichByMix6(dst []float32, stride int, c []float32, src []float32, offs []int, r, n int) {
	if n == 0 {
		return
	}
	var c36 [36]float32
	copy(c36[:], c)
	tmp := make([][]float32, 36)
	var in [6][]float32
	out := make([][]float32, r)
	for k := range 6 {
		for l := range 6 {
			in[l] = src[offs[6*k+l]:][:n]
		}
		for j := range out {
			tmp[6*k+j] = make([]float32, n)
			out[j] = tmp[6*k+j]
		}
		Mix6(out, &c36, &in)
	}
	for j := range r {
		for k := range 6 {
			in[k] = tmp[6*k+j]
		}
		for i := range out {
			out[i] = dst[(i*r+j)*stride:][:n]
		}
		Mix6(out, &c36, &in)
	}
}

const guardPad = 17

func TestScale(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	const pad = 17
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, n := range vecSizes() {
			alpha := float32(r.NormFloat64() * 3)
			xs := padded(r, n+1, pad)
			x := xs[pad+1 : pad+1+n]
			orig := append([]float32(nil), x...)
			Scale(alpha, x)
			checkGuards(tb, fmt.Sprintf("%s Scale n=%d", l, n), xs, pad, pad)
			for i := range x {
				// The product of two float32s is exact in float64, so
				// this is the correctly rounded product.
				if want := float32(float64(alpha) * float64(orig[i])); x[i] != want {
					tb.Fatalf("%s n=%d: x[%d] = %v, want %v", l, n, i, x[i], want)
				}
			}
		}
	})
}

func TestVecPanics(t *testing.T) {
	cases := []struct {
		name, want string
		f          func()
	}{
		{"Dot", "len(x) = 3 != len(y) = 4", func() { Dot(make([]float32, 3), make([]float32, 4)) }},
		{"Axpy", "len(x) = 5 != len(y) = 2", func() { Axpy(1, make([]float32, 5), make([]float32, 2)) }},
		{"Exp", "len(dst) = 1 != len(src) = 0", func() { Exp(make([]float32, 1), nil) }},
		{"Stride2", "len(src) = 4 < 5 for 3 values", func() { Stride2(make([]float32, 3), make([]float32, 4)) }},
		{"Interleave three", "3 sources", func() { Interleave(make([]float32, 6), make([][]float32, 3), 0, nil, false) }},
		{"Interleave partial group", "len(src[0]) = 2 < 3", func() {
			Interleave(make([]float32, 5), [][]float32{{1, 2}, {3, 4}}, 0, nil, false)
		}},
		{"Interleave short source", "len(src[1]) = 1 < 2", func() {
			Interleave(make([]float32, 4), [][]float32{{1, 2}, {3}}, 0, nil, false)
		}},
		{"Interleave short residual", "len(res) = 3 < len(dst) = 4", func() {
			Interleave(make([]float32, 4), [][]float32{{1, 2}, {3, 4}}, 0, make([]float32, 3), false)
		}},
		{"Deinterleave one", "1 destinations", func() { Deinterleave(make([][]float32, 1), nil) }},
		{"Deinterleave ragged", "len(dst[1]) = 1 != len(dst[0]) = 2", func() {
			Deinterleave([][]float32{make([]float32, 2), make([]float32, 1)}, make([]float32, 4))
		}},
		{"Deinterleave short", "len(src) = 7 < 8", func() {
			Deinterleave([][]float32{make([]float32, 2), make([]float32, 2), make([]float32, 2), make([]float32, 2)}, make([]float32, 7))
		}},
		{"Sandwich t", "t = 5, r = 5", func() { Sandwich(nil, 0, nil, nil, nil, 5, 5, 0) }},
		{"Sandwich r", "t = 6, r = 5", func() { Sandwich(nil, 0, nil, nil, nil, 6, 5, 0) }},
		{"Sandwich coefficients", "8 coefficients and 16 offsets for t = 4, r = 4", func() {
			Sandwich(nil, 0, make([]float32, 8), nil, make([]int, 16), 4, 4, 0)
		}},
		{"Sandwich offset", "offs[0] = 3: 2 values past it, len(src) = 4", func() {
			offs := make([]int, 16)
			offs[0] = 3
			Sandwich(make([]float32, 100), 2, make([]float32, 16), make([]float32, 4), offs, 4, 4, 2)
		}},
		{"Sandwich dst", "len(dst) = 30 < 32", func() {
			Sandwich(make([]float32, 30), 2, make([]float32, 16), make([]float32, 4), make([]int, 16), 4, 4, 2)
		}},
		{"Max", "len(dst) = 2 != len(x) = 3", func() { Max(make([]float32, 2), make([]float32, 3)) }},
		{"Mix6 none", "0 destinations", func() { Mix6(nil, new([36]float32), new([6][]float32)) }},
		{"Mix6 seven", "7 destinations", func() { Mix6(make([][]float32, 7), new([36]float32), new([6][]float32)) }},
		{"Mix6 ragged", "len(dst[1]) = 2 != len(dst[0]) = 3", func() {
			Mix6([][]float32{make([]float32, 3), make([]float32, 2)}, new([36]float32), new([6][]float32))
		}},
		{"Mix6 short source", "len(src[0]) = 0 < 3", func() {
			Mix6([][]float32{make([]float32, 3)}, new([36]float32), new([6][]float32))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, c.want) {
					t.Fatalf("panic %q, want it to contain %q", msg, c.want)
				}
			}()
			c.f()
		})
	}
}

// checkGuards fails unless the lo values before and hi values after the
// working part of s are still guard.
func checkGuards(tb testing.TB, what string, s []float32, lo, hi int) {
	tb.Helper()
	for i := 0; i < lo; i++ {
		if s[i] != guard {
			tb.Fatalf("%s: wrote %v at %d before the slice", what, s[i], i-lo)
		}
	}
	for i := len(s) - hi; i < len(s); i++ {
		if s[i] != guard {
			tb.Fatalf("%s: wrote %v at %d past the end", what, s[i], i-(len(s)-hi))
		}
	}
}

// expRelBound is the relative error that Exp promises for normal results.
const expRelBound = 1.2e-7

// expErr checks Exp's result got for input x against math.Exp and returns
// its relative error (0 where only an absolute bound applies); ok is false
// when got breaks Exp's contract.
func expErr(x, got float32) (rel float64, ok bool) {
	if math.IsNaN(float64(x)) {
		return 0, math.IsNaN(float64(got))
	}
	want := math.Exp(float64(x))
	g := float64(got)
	const maxF = math.MaxFloat32
	switch {
	case math.IsInf(g, 1):
		// Overflow: the true value must round to +Inf or lie within the
		// error bound of the largest float32.
		return 0, want >= maxF*(1-expRelBound)
	case math.IsNaN(g) || g < 0:
		return 0, false
	case want > maxF*(1+expRelBound):
		return 0, false // should have overflowed
	}
	rel = math.Abs(g-want) / want
	if want < 0x1p-126 {
		// Subnormal range: one rounding to the subnormal grid on top.
		return 0, math.Abs(g-want) <= expRelBound*want+0x1p-149
	}
	return rel, rel <= expRelBound
}

// expSweep returns float32 inputs: the float32s in [lo, hi] with a stride of
// step bit patterns (on each side of zero).
func expSweep(lo, hi float32, step uint32) []float32 {
	var xs []float32
	add := func(a, b float32) { // a and b of the same sign
		ba, bb := math.Float32bits(a), math.Float32bits(b)
		if ba > bb {
			ba, bb = bb, ba
		}
		for u := ba; u <= bb && u >= ba; u += step {
			xs = append(xs, math.Float32frombits(u))
		}
	}
	switch {
	case hi < 0 || lo > 0:
		add(lo, hi)
	default:
		add(lo, float32(math.Copysign(0, -1)))
		add(0, hi)
	}
	return xs
}

func TestExpAccuracy(t *testing.T) {
	// The whole range at a stride of 1021 float32s (about 2.2 million
	// inputs), and every float32 around overflow, the end of the normal
	// range and underflow to 0.
	xs := expSweep(-110, 95, 1021)
	xs = append(xs, expSweep(88.70, 88.74, 1)...)
	xs = append(xs, expSweep(-87.34, -87.32, 1)...)
	xs = append(xs, expSweep(-103.99, -103.95, 1)...)
	r := rand.New(rand.NewPCG(17, 18))
	for range 1 << 16 {
		xs = append(xs, float32(r.Float64()*176-88))
	}
	got := make([]float32, len(xs))
	forEachLevel(t, func(tb testing.TB, l Level) {
		clear(got)
		Exp(got, xs)
		worst, at := 0.0, float32(0)
		for i, x := range xs {
			rel, ok := expErr(x, got[i])
			if !ok {
				tb.Fatalf("%s: Exp(%v) = %v, math.Exp = %v", l, x, got[i], math.Exp(float64(x)))
			}
			if rel > worst {
				worst, at = rel, x
			}
		}
		tb.Logf("%s: max relative error %.3g at x = %v over %d inputs", l, worst, at, len(xs))
	})
}

var expExhaustive = flag.Bool("exp-exhaustive", false, "TestExpExhaustive: check Exp on every float32 (slow)")

// TestExpExhaustive checks every float32 input at every level; it runs only
// with -exp-exhaustive and takes a few minutes per level.
func TestExpExhaustive(t *testing.T) {
	if !*expExhaustive {
		t.Skip("run with -exp-exhaustive")
	}
	const chunk = 1 << 16
	xs, got := make([]float32, chunk), make([]float32, chunk)
	forEachLevel(t, func(tb testing.TB, l Level) {
		worst, at := 0.0, float32(0)
		for base := uint64(0); base < 1<<32; base += chunk {
			for i := range xs {
				xs[i] = math.Float32frombits(uint32(base) + uint32(i))
			}
			Exp(got, xs)
			for i, x := range xs {
				rel, ok := expErr(x, got[i])
				if !ok {
					tb.Fatalf("%s: Exp(%v) = %v, math.Exp = %v", l, x, got[i], math.Exp(float64(x)))
				}
				if rel > worst {
					worst, at = rel, x
				}
			}
		}
		tb.Logf("%s: max relative error %.4g at x = %v over all float32", l, worst, at)
	})
}

func TestExpSpecial(t *testing.T) {
	inf := math.Inf(1)
	maxF := float32(math.MaxFloat32)
	cases := []struct {
		x, want float32
	}{
		{0, 1},
		{float32(math.Copysign(0, -1)), 1},
		{1e-30, 1},
		{-1e-30, 1},
		{float32(math.SmallestNonzeroFloat32), 1},
		{1, float32(math.E)},
		{float32(math.Ln2), 2},
		{89, float32(inf)},
		{100, float32(inf)},
		{1e30, float32(inf)},
		{maxF, float32(inf)},
		{float32(inf), float32(inf)},
		{-104, 0},
		{-103.98, 0},
		{-1000, 0},
		{-maxF, 0},
		{float32(-inf), 0},
		{-103.9, math.SmallestNonzeroFloat32}, // e^-103.9 = 7.3e-46 > 2^-150
	}
	forEachLevel(t, func(tb testing.TB, l Level) {
		xs := make([]float32, len(cases))
		for i, c := range cases {
			xs[i] = c.x
		}
		got := make([]float32, len(xs))
		Exp(got, xs)
		for i, c := range cases {
			if got[i] != c.want {
				tb.Errorf("%s: Exp(%v) = %v, want %v", l, c.x, got[i], c.want)
			}
		}
		nan := []float32{float32(math.NaN()), 1, math.Float32frombits(0xffc00001)}
		Exp(nan, nan)
		if !math.IsNaN(float64(nan[0])) || nan[1] != float32(math.E) || !math.IsNaN(float64(nan[2])) {
			tb.Errorf("%s: Exp(NaN, 1, -NaN) = %v", l, nan)
		}
		// The largest input with a finite result (e^x = (1−7.4e-6)·MaxFloat32),
		// and its successor (e^x = (1+2.4e-7)·MaxFloat32).
		big := math.Float32frombits(0x42b17217)
		want := math.Exp(float64(big))
		if Exp(got[:1], []float32{big}); math.Abs(float64(got[0])-want) > expRelBound*want {
			tb.Errorf("%s: Exp(%v) = %v, want %v", l, big, got[0], want)
		}
		next := math.Nextafter32(big, 100)
		if Exp(got[:1], []float32{next}); !math.IsInf(float64(got[0]), 1) {
			tb.Errorf("%s: Exp(%v) = %v, want +Inf", l, next, got[0])
		}
	})
}

// TestExpLevels checks every level against the generic twin (within 1 ulp:
// they differ only in fused multiply-adds) and the tails of every length
// against guards, in place and not.
func TestExpLevels(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	const pad = 13
	for _, n := range vecSizes() {
		src := make([]float32, n)
		for i := range src {
			src[i] = float32(r.Float64()*200 - 105)
		}
		want := make([]float32, n)
		expGo(want, src)
		forEachLevel(t, func(tb testing.TB, l Level) {
			ds := padded(r, n, pad)
			dst := ds[pad : pad+n]
			Exp(dst, src)
			checkGuards(tb, fmt.Sprintf("%s Exp n=%d", l, n), ds, pad, pad)
			for i := range dst {
				if ulps := ulpDiff(dst[i], want[i]); ulps > 1 {
					tb.Fatalf("%s n=%d: Exp(%v) = %v, generic %v (%d ulp apart)", l, n, src[i], dst[i], want[i], ulps)
				}
			}
			inPlace := append([]float32(nil), src...)
			Exp(inPlace, inPlace)
			for i := range inPlace {
				if math.Float32bits(inPlace[i]) != math.Float32bits(dst[i]) {
					tb.Fatalf("%s n=%d: in place Exp(%v) = %v, not in place %v", l, n, src[i], inPlace[i], dst[i])
				}
			}
		})
	}
}

// ulpDiff is the distance between two non-negative float32s in units in the
// last place.
func ulpDiff(a, b float32) int64 {
	d := int64(math.Float32bits(a)) - int64(math.Float32bits(b))
	if d < 0 {
		d = -d
	}
	return d
}

// fma32 is a float32 fused multiply-add, a·b+c rounded once (ties to even),
// computed exactly with math/big. Subnormal results are not needed here.
func fma32(a, b, c float32) float32 {
	p := new(big.Float).SetPrec(64).SetFloat64(float64(a))
	p.Mul(p, big.NewFloat(float64(b))) // exact: 48 bits
	z := new(big.Float).SetPrec(24).SetMode(big.ToNearestEven)
	z.Add(p, big.NewFloat(float64(c)))
	f, _ := z.Float32()
	return f
}

// expFMA is exp32 with every multiply-add fused, as the assembly kernels
// compute it: an independent emulation of their arithmetic.
func expFMA(x float32) float32 {
	if x != x {
		return x
	}
	x = min(max(x, -104), 89)
	n := float32(math.RoundToEven(float64(x) * float64(float32(math.Log2E))))
	r := fma32(-n, 0.693359375, x)
	r = fma32(-n, -2.12194440e-4, r)
	p := fma32(1.9875691500e-4, r, 1.3981999507e-3)
	p = fma32(p, r, 8.3334519073e-3)
	p = fma32(p, r, 4.1665795894e-2)
	p = fma32(p, r, 1.6666665459e-1)
	p = fma32(p, r, 5.0000001201e-1)
	y := fma32(p, r*r, r) + 1
	return float32(float64(y) * math.Exp2(float64(n))) // one rounding
}

// TestExpEmulation checks the assembly levels bit for bit against an
// emulation of their fused arithmetic, which pins down their constants and
// the order of their operations.
func TestExpEmulation(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	xs := make([]float32, 20000)
	for i := range xs {
		xs[i] = float32(r.Float64()*196 - 105)
	}
	got := make([]float32, len(xs))
	forEachLevel(t, func(tb testing.TB, l Level) {
		if vecFor(l) == nil {
			return
		}
		Exp(got, xs)
		for i, x := range xs {
			if want := expFMA(x); math.Float32bits(got[i]) != math.Float32bits(want) {
				tb.Fatalf("%s: Exp(%v) = %v, emulated %v", l, x, got[i], want)
			}
		}
	})
}

// benchLevels runs f as a sub-benchmark per level named level/name.
func benchLevels(b *testing.B, name string, f func(b *testing.B)) {
	for _, l := range Levels() {
		b.Run(fmt.Sprintf("%s/%s", l, name), func(b *testing.B) {
			prev, _ := SetLevel(l)
			defer SetLevel(prev)
			f(b)
		})
	}
}

func BenchmarkDot(b *testing.B) {
	for _, n := range []int{256, 4096, 65536, 1 << 20} {
		r := rand.New(rand.NewPCG(1, 1))
		x, y := randSlice(r, n), randSlice(r, n)
		benchLevels(b, fmt.Sprintf("n=%d", n), func(b *testing.B) {
			var s float32
			for b.Loop() {
				s += Dot(x, y)
			}
			b.ReportMetric(8*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

func BenchmarkAxpy(b *testing.B) {
	for _, n := range []int{256, 4096, 65536, 1 << 20} {
		r := rand.New(rand.NewPCG(1, 1))
		x, y := randSlice(r, n), randSlice(r, n)
		benchLevels(b, fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				Axpy(1e-9, x, y)
			}
			b.ReportMetric(12*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

func BenchmarkScale(b *testing.B) {
	for _, n := range []int{256, 4096, 65536, 1 << 20} {
		r := rand.New(rand.NewPCG(1, 1))
		x := randSlice(r, n)
		benchLevels(b, fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				Scale(1, x)
			}
			b.ReportMetric(8*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}

func BenchmarkExp(b *testing.B) {
	for _, n := range []int{256, 4096, 65536} {
		r := rand.New(rand.NewPCG(1, 1))
		x, y := randSlice(r, n), make([]float32, n)
		for i := range x {
			x[i] *= 80
		}
		benchLevels(b, fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				Exp(y, x)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gexp/s")
		})
	}
}

// AffineReLU gives the same bits at every level: the separately rounded
// product and sum, then the rectifier, with NaN kept and −0 made +0.
func TestAffineReLU(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	special := []float32{nan, inf, -inf, 0, float32(math.Copysign(0, -1)), 1e-40, -1e-40, 3e38, -3e38}
	const pad = 17
	forEachLevel(t, func(tb testing.TB, l Level) {
		for _, n := range vecSizes() {
			scale, shift := float32(r.NormFloat64()*2), float32(r.NormFloat64())
			src := make([]float32, n)
			for i := range src {
				src[i] = float32(r.NormFloat64() * 3)
				if r.IntN(8) == 0 {
					src[i] = special[r.IntN(len(special))]
				}
			}
			for _, inPlace := range []bool{false, true} {
				ds := padded(r, n, pad)
				dst := ds[pad : pad+n]
				in := src
				if inPlace {
					copy(dst, src)
					in = dst
				}
				AffineReLU(dst, in, scale, shift)
				checkGuards(tb, fmt.Sprintf("%s AffineReLU n=%d", l, n), ds, pad, pad)
				for i, v := range src {
					want := float32(v*scale) + shift
					if !(want > 0) && want == want {
						want = 0
					}
					if math.Float32bits(dst[i]) != math.Float32bits(want) && !(dst[i] != dst[i] && want != want) {
						tb.Fatalf("%s n=%d in place %v: relu(%v·%v + %v) = %v, want %v", l, n, inPlace, v, scale, shift, dst[i], want)
					}
				}
			}
		}
	})
}
