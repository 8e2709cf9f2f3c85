package nn

import (
	"sync/atomic"

	"github.com/reconpatch/rp/simd"
)

// Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016) computes a 2×2 block
// of a 3×3 convolution's output from a 4×4 block of its input with 16
// multiplications instead of 36:
//
//	Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A
//
// for a 3×3 kernel g and a 4×4 input tile d, with
//
//	     ⎡1  0 −1  0⎤        ⎡1    0    0  ⎤        ⎡1  1  1  0⎤
//	Bᵀ = ⎢0  1  1  0⎥    G = ⎢1/2  1/2  1/2⎥   Aᵀ = ⎣0  1 −1 −1⎦
//	     ⎢0 −1  1  0⎥        ⎢1/2 −1/2  1/2⎥
//	     ⎣0  1  0 −1⎦        ⎣0    0    1  ⎦
//
// Summed over input channels, each of the 16 elements ξ of the transformed
// tiles is one GEMM, U_ξ (O × I) · V_ξ (I × tiles), so a 3×3 stride-1
// convolution costs 16/36 of its direct arithmetic plus the transforms. The
// transforms only add and subtract (the halves of G are applied once, to
// the weights at packing time), so the results stay within a few float32
// roundings of the direct convolution's: well inside the backbones' parity
// bound.
//
// Tiles are laid out on a grid of TH rows of Wg = TW+1 columns (TH×TW tiles
// cover the output, the extra column is junk, dropped on output), so that
// every transform is a whole-grid vector operation: the input is first split
// into its four phase planes P[a][b][r][s] = padded[2r+a][2s+b], on which
// tap (k, l) of tile (r, s) sits at the constant offset (k/2)·Wg + l/2 from
// grid position r·Wg + s.

// useWinograd selects the Winograd path for the convolutions it suits;
// SetWinograd changes it, tests compare both paths.
var useWinograd atomic.Bool

func init() { useWinograd.Store(true) }

// SetWinograd turns the Winograd F(2×2, 3×3) path of 3×3 stride-1
// convolutions on or off (it is on by default) and returns the previous
// setting. Off, they run as im2col-free GEMMs on the direct arithmetic;
// benchmarks compare the two.
func SetWinograd(on bool) (previous bool) { return useWinograd.Swap(on) }

// Winograd reports whether the Winograd path is on (see SetWinograd).
func Winograd() bool { return useWinograd.Load() }

// winoMinChannels (a variable for tests) is the fewest input and output
// channels for which the Winograd path pays for its transforms: measured
// (BenchmarkConv3x3, 2 threads), 128 channels gain 15–40 %, 64 channels
// 15 % at batch 1 and nothing at batch 8 (since the transforms lost their
// per-sample branches; before, nothing at either).
var winoMinChannels = 64

// winoMaxFloats (a variable for tests) bounds the scratch of one image on
// the Winograd path, 16·(I+O) floats per tile: 64 MiB, about 8 times what
// the direct path copies. Larger images (layer1 of a ResNet beyond about
// 500×500 pixels) take the direct path rather than a scratch of gigabytes.
var winoMaxFloats = 1 << 24

// winograd reports whether the convolution takes the Winograd path for an
// OH×OW output.
func (c *Conv2d) winograd(oh, ow int) bool {
	_, _, _, q := winoGrid(oh, ow)
	return useWinograd.Load() && c.groups == 1 && c.kh == 3 && c.kw == 3 &&
		c.stride == [2]int{1, 1} && c.dil == [2]int{1, 1} &&
		c.inC >= winoMinChannels && c.outC >= winoMinChannels && oh >= 2 && ow >= 2 &&
		16*(c.inC+c.outC)*q <= winoMaxFloats
}

// winoWeights is a Conv2d's weight transformed by G·g·Gᵀ: for each of the
// 16 elements ξ = 4i + j, the O × I matrix U_ξ packed at one dispatch
// level.
type winoWeights struct {
	level simd.Level
	u     [16]*simd.PackedA
}

// winoPacked returns the transformed weights packed for the current
// dispatch level, building them on first use (or after a level change).
func (c *Conv2d) winoPacked() *[16]*simd.PackedA {
	l := simd.CurrentLevel()
	if p := c.wino.Load(); p != nil && p.level == l {
		return &p.u
	}
	o, in := c.outC, c.inC
	u := make([]float32, 16*o*in) // u[ξ][o][i]
	for oc := range o {
		for ic := range in {
			g := c.weight[(oc*in+ic)*9:][:9]
			var t [4][3]float64 // G·g
			for j := range 3 {
				g0, g1, g2 := float64(g[j]), float64(g[3+j]), float64(g[6+j])
				t[0][j], t[1][j], t[2][j], t[3][j] = g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2
			}
			for i := range 4 { // (G·g)·Gᵀ, row i
				t0, t1, t2 := t[i][0], t[i][1], t[i][2]
				row := [4]float64{t0, (t0 + t1 + t2) / 2, (t0 - t1 + t2) / 2, t2}
				for j, v := range row {
					u[((4*i+j)*o+oc)*in+ic] = float32(v)
				}
			}
		}
	}
	p := &winoWeights{level: l}
	for xi := range p.u {
		p.u[xi] = simd.PackA(false, o, in, u[xi*o*in:][:o*in], in)
	}
	c.wino.Store(p)
	return &p.u
}

// winoBudget (a variable for tests) is the most floats of transformed input
// and products that runWinograd holds at once: images are transformed and
// multiplied in groups of that size (at least one image), so that one GEMM
// per element ξ spans the group's tiles (the weights are read once per
// group, not per image) while the buffers stay near the cache. 4 MiB
// measured faster than 16 (BenchmarkConv3x3 at batch 8).
var winoBudget = 1 << 20

// runWinograd computes y (N×O×OH×OW) from x (N×I×H×W) and the residual r
// (like y, or nil) by F(2×2, 3×3).
func (c *Conv2d) runWinograd(u *[16]*simd.PackedA, x, y, r []float32, n, h, w, oh, ow int) {
	in, o := c.inC, c.outC
	th, tw, wg, q := winoGrid(oh, ow)
	le := (th + 1) * wg // grid positions of the row-transformed planes
	pl := le + 1        // a phase plane, read one position past the grid
	threads := simd.Threads()
	group := max(1, min(n, winoBudget/(16*(in+o)*q)))

	buf := getScratch(16 * (in + o) * group * q)
	defer putScratch(buf)
	for img0 := 0; img0 < n; img0 += group {
		nb := min(group, n-img0)
		ld := nb * q                     // columns of the products: the group's grids side by side
		v := (*buf)[:16*in*ld]           // V[ξ][i][img·q + grid position]
		m := (*buf)[16*in*ld:][:16*o*ld] // M[ξ][o][img·q + grid position]

		// Input transform, a plane at a time: V_ξ = Bᵀ d B.
		forChunks(nb*in, workersFor(threads, nb*in*h*w), 4*pl+8*le, func(unit int, s *[]float32) {
			img, ci := unit/in, unit%in
			var p [2][2][]float32 // phase planes
			for i := range 4 {
				p[i/2][i%2] = (*s)[i*pl:][:pl]
			}
			c.phasePlanes(&p, x[((img0+img)*in+ci)*h*w:][:h*w], h, w, wg)
			var e [2][4][]float32 // d·B along each tile row, for even and odd rows
			for i := range 8 {
				e[i/4][i%4] = (*s)[4*pl+i*le:][:le]
			}
			for a := range 2 {
				// Tap column l of tile column s is phase plane l%2 at offset l/2.
				p0, p1 := p[a][0], p[a][1]
				combine(e[a][0], p0[:le], p0[1:], -1) // d0 − d2
				combine(e[a][1], p1[:le], p0[1:], 1)  // d1 + d2
				combine(e[a][2], p0[1:le+1], p1, -1)  // d2 − d1
				combine(e[a][3], p1[:le], p1[1:], -1) // d1 − d3
			}
			for j := range 4 {
				// Tap row k of tile row r is row phase k%2 at offset (k/2)·Wg.
				e0, e1 := e[0][j], e[1][j]
				at := func(i int) []float32 { return v[((4*i+j)*in+ci)*ld+img*q:][:q] }
				combine(at(0), e0[:q], e0[wg:], -1) // e0 − e2
				combine(at(1), e1[:q], e0[wg:], 1)  // e1 + e2
				combine(at(2), e0[wg:wg+q], e1, -1) // e2 − e1
				combine(at(3), e1[:q], e1[wg:], -1) // e1 − e3
			}
		})

		// The 16 products M_ξ (O × grids) = U_ξ (O × I) · V_ξ (I × grids).
		var vs, ms [16][]float32
		for xi := range 16 {
			vs[xi], ms[xi] = v[xi*in*ld:][:in*ld], m[xi*o*ld:][:o*ld]
		}
		simd.SgemmPackedBatch(u[:], ld, vs[:], ld, ms[:], ld)

		// Output transform, a plane at a time: Y = Aᵀ M A, then the bias,
		// residual and activation, each 2×2 block into place.
		forChunks(nb*o, workersFor(threads, nb*o*oh*ow), 12*q, func(unit int, s *[]float32) {
			img, oc := unit/o, unit%o
			c.winoOutput(m[oc*ld+img*q:], o*ld, (*s)[:12*q], y, r, (img0+img)*o+oc, q, wg, tw, oh, ow)
		})
	}
}

// winoGrid returns the tile grid of an OH×OW output: TH×TW tiles of 2×2
// on rows of Wg = TW+1 positions (one junk column), q = TH·Wg positions.
func winoGrid(oh, ow int) (th, tw, wg, q int) {
	th, tw = (oh+1)/2, (ow+1)/2
	wg = tw + 1
	return th, tw, wg, th * wg
}

// winoOutput finishes output plane pi (image·O + channel) of y from its
// products, M_ξ at m[ξ·ldm:][:q], with 12·q floats of scratch: Y = Aᵀ M A,
// then the bias, residual (r, or nil) and activation, each 2×2 block into
// place.
func (c *Conv2d) winoOutput(m []float32, ldm int, s, y, r []float32, pi, q, wg, tw, oh, ow int) {
	at := func(xi int) []float32 { return m[xi*ldm:][:q] }
	var t [4][2][]float32 // M·A along each tile row
	for i := range 4 {
		t0, t1 := s[(2*i)*q:][:q], s[(2*i+1)*q:][:q]
		combine(t0, at(4*i), at(4*i+1), 1)    // m0 + m1
		simd.Axpy(1, at(4*i+2), t0)           //    + m2
		combine(t1, at(4*i+1), at(4*i+2), -1) // m1 − m2
		simd.Axpy(-1, at(4*i+3), t1)          //    − m3
		t[i] = [2][]float32{t0, t1}
	}
	var yb [2][2][]float32 // Aᵀ·(M·A): output phase (a, b) of every tile
	for b := range 2 {
		y0, y1 := s[(8+b)*q:][:q], s[(10+b)*q:][:q]
		combine(y0, t[0][b], t[1][b], 1)  // t0 + t1
		simd.Axpy(1, t[2][b], y0)         //    + t2
		combine(y1, t[1][b], t[2][b], -1) // t1 − t2
		simd.Axpy(-1, t[3][b], y1)        //    − t3
		yb[0][b], yb[1][b] = y0, y1
	}
	var bias float32
	if c.bias != nil {
		bias = c.bias[pi%c.outC]
	}
	yo := y[pi*oh*ow:][:oh*ow]
	var ro []float32
	if r != nil {
		ro = r[pi*oh*ow:][:oh*ow]
	}
	for oy := range oh {
		row := yo[oy*ow:][:ow]
		even, odd := yb[oy%2][0][oy/2*wg:][:tw], yb[oy%2][1][oy/2*wg:][:tw]
		for t := range ow / 2 {
			row[2*t], row[2*t+1] = even[t]+bias, odd[t]+bias
		}
		if ow%2 == 1 {
			row[ow-1] = even[ow/2] + bias
		}
		if ro != nil {
			simd.Axpy(1, ro[oy*ow:][:ow], row) // exact product: one rounding, as a plain sum
		}
		if c.act == ActivationReLU {
			simd.AffineReLU(row, row, 1, 0)
		}
	}
}

// phasePlanes fills p[a][b] (each at least (TH+1)·Wg + 1 long) with the
// zero-padded H×W plane x split by row and column parity:
// p[a][b][r·Wg + s] = padded[2r+a][2s+b].
func (c *Conv2d) phasePlanes(p *[2][2][]float32, x []float32, h, w, wg int) {
	for a := range 2 {
		for b := range 2 {
			dst := p[a][b]
			clear(dst)
			rows := (len(dst) - 1) / wg
			for r := range rows {
				iy := 2*r + a - c.pad[0]
				if iy < 0 || iy >= h {
					continue
				}
				src := x[iy*w:][:w]
				row := dst[r*wg:][:wg]
				// Column s reads input column 2s + b − pw, inside the
				// image for s0 ≤ s < s1 (zero, as cleared, outside).
				off := b - c.pad[1]
				s0 := max(0, (1-off)/2) // the first s with 2s + off ≥ 0
				s1 := min(wg, (w-off+1)/2)
				for s := s0; s < s1; s++ {
					row[s] = src[2*s+off]
				}
			}
		}
	}
}

// combine sets dst = a + sign·b over len(dst) elements (sign ±1: exact
// products, so one rounding, as a plain sum).
func combine(dst, a, b []float32, sign float32) {
	simd.AxpyTo(dst, sign, b[:len(dst)], a[:len(dst)])
}

// forChunks calls f(i, scratch) for every i in [0, n), the indices split
// into one contiguous run per worker, each worker with a scratch buffer of
// size floats of its own.
func forChunks(n, workers, size int, f func(i int, scratch *[]float32)) {
	workers = max(1, min(workers, n))
	parallelFor(workers, workers, func(wk int) {
		s := getScratch(size)
		defer putScratch(s)
		for i := wk * n / workers; i < (wk+1)*n/workers; i++ {
			f(i, s)
		}
	})
}

// workersFor returns how many workers a transform over n values gets.
func workersFor(threads, n int) int {
	if n < 1<<14 {
		return 1
	}
	return threads
}
