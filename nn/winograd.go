package nn

import (
	"sync/atomic"

	"github.com/reconpatch/rp/simd"
)

// Winograd's minimal filtering F(m×m, 3×3) (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016) computes an m×m block
// of a 3×3 convolution's output from a t×t block of its input, t = m+2,
// with t² multiplications instead of 9m²:
//
//	Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A
//
// for a 3×3 kernel g and a t×t input tile d. Two sizes are used. F(2×2, 3×3)
// (16 products per 4 outputs) has
//
//	     ⎡1  0 −1  0⎤        ⎡1    0    0  ⎤        ⎡1  1  1  0⎤
//	Bᵀ = ⎢0  1  1  0⎥    G = ⎢1/2  1/2  1/2⎥   Aᵀ = ⎣0  1 −1 −1⎦
//	     ⎢0 −1  1  0⎥        ⎢1/2 −1/2  1/2⎥
//	     ⎣0  1  0 −1⎦        ⎣0    0    1  ⎦
//
// whose transforms only add and subtract, and F(4×4, 3×3) (36 products per
// 16 outputs, 0.56 of F(2×2)'s arithmetic per output), on the points 0, ±1,
// ±2 and ∞:
//
//	     ⎡4  0 −5  0  1  0⎤       ⎡ 1/4    0     0  ⎤
//	     ⎢0 −4 −4  1  1  0⎥       ⎢−1/6  −1/6  −1/6 ⎥        ⎡1  1  1  1  1  0⎤
//	Bᵀ = ⎢0  4 −4 −1  1  0⎥   G = ⎢−1/6   1/6  −1/6 ⎥   Aᵀ = ⎢0  1 −1  2 −2  0⎥
//	     ⎢0 −2 −1  2  1  0⎥       ⎢1/24  1/12   1/6 ⎥        ⎢0  1  1  4  4  0⎥
//	     ⎢0  2 −1 −2  1  0⎥       ⎢1/24 −1/12   1/6 ⎥        ⎣0  1 −1  8 −8  1⎦
//	     ⎣0  4  0 −5  0  1⎦       ⎣ 0     0     1   ⎦
//
// whose transforms scale by 2, 4, 5 and 8, so its results lie a few more
// float32 roundings from the direct convolution's (relative L2 error about
// 10⁻⁶ against 10⁻⁷), still far inside the backbones' parity bound.
//
// Summed over input channels, each of the t² elements ξ of the transformed
// tiles is one GEMM, U_ξ (O × I) · V_ξ (I × tiles). G is applied to the
// weights once, at packing time, in float64.
//
// Tiles are laid out on a grid of TH rows of Wg = TW+1 columns (TH×TW tiles
// cover the output, the extra column is junk, dropped on output), so that
// every transform is a whole-grid vector operation: the input is first split
// into its m² phase planes P[a][b][r][s] = padded[m·r+a][m·s+b], on which
// tap (k, l) of tile (r, s) sits at the constant offset (k/m)·Wg + l/m from
// grid position r·Wg + s (t ≤ 2m, so the offsets are 0 or 1). Each
// transform is then one simd.Sandwich pass per plane: both stages for a
// block of 16 grid positions at once, its intermediate sums in registers
// and on the stack.

// winoVariant is one of the F(m×m, 3×3) algorithms.
type winoVariant struct {
	m      int           // output tile side; input tiles are t = m+2 on a side
	g      [6][3]float64 // G, t×3
	bt, at []float32     // Bᵀ (t×t) and Aᵀ (m×t), row-major
}

var (
	winoF2 = &winoVariant{
		m: 2,
		g: [6][3]float64{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}},
		bt: []float32{
			1, 0, -1, 0,
			0, 1, 1, 0,
			0, -1, 1, 0,
			0, 1, 0, -1,
		},
		at: []float32{
			1, 1, 1, 0,
			0, 1, -1, -1,
		},
	}
	winoF4 = &winoVariant{
		m: 4,
		g: [6][3]float64{
			{1.0 / 4, 0, 0},
			{-1.0 / 6, -1.0 / 6, -1.0 / 6},
			{-1.0 / 6, 1.0 / 6, -1.0 / 6},
			{1.0 / 24, 1.0 / 12, 1.0 / 6},
			{1.0 / 24, -1.0 / 12, 1.0 / 6},
			{0, 0, 1},
		},
		bt: []float32{
			4, 0, -5, 0, 1, 0,
			0, -4, -4, 1, 1, 0,
			0, 4, -4, -1, 1, 0,
			0, -2, -1, 2, 1, 0,
			0, 2, -1, -2, 1, 0,
			0, 4, 0, -5, 0, 1,
		},
		at: []float32{
			1, 1, 1, 1, 1, 0,
			0, 1, -1, 2, -2, 0,
			0, 1, 1, 4, 4, 0,
			0, 1, -1, 8, -8, 1,
		},
	}
)

// useWinograd selects the Winograd path for the convolutions it suits;
// SetWinograd changes it, tests compare both paths.
var useWinograd atomic.Bool

func init() { useWinograd.Store(true) }

// SetWinograd turns the Winograd path (F(4×4, 3×3) or F(2×2, 3×3)) of 3×3
// stride-1 convolutions on or off (it is on by default) and returns the
// previous setting. Off, they run as im2col-free GEMMs on the direct arithmetic;
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
// the Winograd path, t²·(I+O) floats per tile: 64 MiB, about 8 times what
// the direct path copies. Larger images (layer1 of a ResNet beyond about
// 500×500 pixels) take the direct path rather than a scratch of gigabytes.
var winoMaxFloats = 1 << 24

// winoF4MinWork (a variable for tests; negative: always F(4×4)) is the
// fewest F(4×4) tiles times the smaller channel count for which
// F(4×4, 3×3) is used. Below it (64 channels at 20×20) F(4×4)'s heavier
// transforms outweigh its smaller products.
var winoF4MinWork = 3000

// winoPanel is the column panel of the widest GEMM micro-kernel (AVX-512's
// 32): each product's columns are computed in whole panels.
const winoPanel = 32

// winograd returns the Winograd algorithm a convolution with an OH×OW output
// runs by, or nil for none. F(4×4, 3×3) is chosen when its products' columns,
// rounded up to whole panels, are at most 0.7 of F(2×2)'s and its work
// reaches winoF4MinWork. On small outputs F(4×4)'s few grid positions fill
// the panels badly: at 14×14, 36 products of 20 columns (a panel each)
// against 16 of 56 (two). Measured at batch 1 and 8, F(4×4)'s time over
// F(2×2)'s (BenchmarkConv3x3, docs/BENCHMARKS.md): 1.2–1.5 at 14×14, about
// level at 16×16 and 24×24 (column ratios 0.75, 0.9), 0.7–0.9 at 20×20 with
// 128+ channels and from 28×28 up (ratios 0.56–0.64).
func (c *Conv2d) winograd(oh, ow int) *winoVariant {
	if !useWinograd.Load() || c.groups != 1 || c.kh != 3 || c.kw != 3 ||
		c.stride != [2]int{1, 1} || c.dil != [2]int{1, 1} ||
		c.inC < winoMinChannels || c.outC < winoMinChannels || oh < 2 || ow < 2 {
		return nil
	}
	v := winoF2
	th, tw, _, q4 := winoGrid(oh, ow, 4)
	_, _, _, q2 := winoGrid(oh, ow, 2)
	cols4, cols2 := 36*ceilDiv(q4, winoPanel), 16*ceilDiv(q2, winoPanel) // in panels
	if winoF4MinWork < 0 || 10*cols4 <= 7*cols2 && th*tw*min(c.inC, c.outC) >= winoF4MinWork {
		v = winoF4
	}
	t := v.m + 2
	if _, _, _, q := winoGrid(oh, ow, v.m); t*t*(c.inC+c.outC)*q > winoMaxFloats {
		return nil
	}
	return v
}

// winoWeights is a Conv2d's weight transformed by G·g·Gᵀ for one variant:
// for each of the t² elements ξ = t·i + j, the O × I matrix U_ξ packed at
// one dispatch level.
type winoWeights struct {
	level simd.Level
	u     []*simd.PackedA
}

// winoCache holds a Conv2d's transformed weights, one slot per variant
// (F(2×2), F(4×4)).
type winoCache [2]atomic.Pointer[winoWeights]

// winoPacked returns the weights transformed for v and packed for the
// current dispatch level, building them on first use (or after a level
// change).
func (c *Conv2d) winoPacked(v *winoVariant) []*simd.PackedA {
	l := simd.CurrentLevel()
	slot := &c.wino[v.m/2-1]
	if p := slot.Load(); p != nil && p.level == l {
		return p.u
	}
	o, in, t := c.outC, c.inC, v.m+2
	u := make([]float32, t*t*o*in) // u[ξ][o][i]
	for oc := range o {
		for ic := range in {
			g := c.weight[(oc*in+ic)*9:][:9]
			var gg [6][3]float64 // G·g
			for i := range t {
				for j := range 3 {
					for k := range 3 {
						gg[i][j] += v.g[i][k] * float64(g[3*k+j])
					}
				}
			}
			for i := range t { // (G·g)·Gᵀ
				for j := range t {
					var sum float64
					for k := range 3 {
						sum += gg[i][k] * v.g[j][k]
					}
					u[((t*i+j)*o+oc)*in+ic] = float32(sum)
				}
			}
		}
	}
	p := &winoWeights{level: l, u: make([]*simd.PackedA, t*t)}
	for xi := range p.u {
		p.u[xi] = simd.PackA(false, o, in, u[xi*o*in:][:o*in], in)
	}
	slot.Store(p)
	return p.u
}

// winoBudget (a variable for tests) is the most floats of transformed input
// and products that runWinograd holds at once: images are transformed and
// multiplied in groups of that size (at least one image), so that one GEMM
// per element ξ spans the group's tiles (the weights are read once per
// group, not per image) while the buffers stay near the cache. 4 MiB
// measured faster than 16 (BenchmarkConv3x3 at batch 8).
var winoBudget = 1 << 20

// runWinograd computes y (N×O×OH×OW) from x (N×I×H×W) and the residual r
// (like y, or nil) by the variant v.
func (c *Conv2d) runWinograd(v *winoVariant, x, y, r []float32, n, h, w, oh, ow int) {
	u := c.winoPacked(v)
	in, o := c.inC, c.outC
	m, t := v.m, v.m+2
	nt := t * t
	th, tw, wg, q := winoGrid(oh, ow, m)
	pl := (th+1)*wg + 1 // a phase plane: the grid and a row, read one position past it
	threads := simd.Threads()
	group := max(1, min(n, winoBudget/(nt*(in+o)*q)))

	buf := getScratch(nt * (in + o) * group * q)
	defer putScratch(buf)
	for img0 := 0; img0 < n; img0 += group {
		nb := min(group, n-img0)
		ld := nb * q                      // columns of the products: the group's grids side by side
		vt := (*buf)[:nt*in*ld]           // V[ξ][i][img·q + grid position]
		mt := (*buf)[nt*in*ld:][:nt*o*ld] // M[ξ][o][img·q + grid position]

		// Input transform, a plane at a time: V_ξ = Bᵀ d B, one
		// simd.Sandwich pass over the grid's phase planes, on which tap
		// (k, l) of tile (r, s) is plane (k%m, l%m) at offset
		// (k/m)·Wg + l/m from grid position r·Wg + s.
		taps := make([]int, nt)
		for k := range t {
			for l := range t {
				taps[t*k+l] = (k%m*m+l%m)*pl + k/m*wg + l/m
			}
		}
		forChunks(nb*in, workersFor(threads, nb*in*h*w), m*m*pl+m*wg, func(unit int, s *[]float32) {
			img, ci := unit/in, unit%in
			planes := (*s)[:m*m*pl]
			var p [4][4][]float32
			for a := range m {
				for b := range m {
					p[a][b] = planes[(a*m+b)*pl:][:pl]
				}
			}
			c.phasePlanes(&p, m, x[((img0+img)*in+ci)*h*w:][:h*w], h, w, wg, (*s)[m*m*pl:])
			simd.Sandwich(vt[ci*ld+img*q:], in*ld, v.bt, planes, taps, t, t, q)
		})

		// The t² products M_ξ (O × grids) = U_ξ (O × I) · V_ξ (I × grids).
		vs, ms := make([][]float32, nt), make([][]float32, nt)
		for xi := range nt {
			vs[xi], ms[xi] = vt[xi*in*ld:][:in*ld], mt[xi*o*ld:][:o*ld]
		}
		simd.SgemmPackedBatch(u, ld, vs, ld, ms, ld)

		// Output transform, a plane at a time: Y = Aᵀ M A, then the bias,
		// residual and activation, each m×m block into place.
		products := make([]int, nt)
		for xi := range nt {
			products[xi] = xi * o * ld
		}
		forChunks(nb*o, workersFor(threads, nb*o*oh*ow), m*m*q, func(unit int, s *[]float32) {
			img, oc := unit/o, unit%o
			c.winoOutput(v, mt[oc*ld+img*q:], products, *s, y, r, (img0+img)*o+oc, q, wg, tw, oh, ow)
		})
	}
}

// winoGrid returns the tile grid of an OH×OW output for m×m tiles: TH×TW
// tiles on rows of Wg = TW+1 positions (one junk column), q = TH·Wg
// positions.
func winoGrid(oh, ow, m int) (th, tw, wg, q int) {
	th, tw = (oh+m-1)/m, (ow+m-1)/m
	wg = tw + 1
	return th, tw, wg, th * wg
}

// winoOutput finishes output plane pi (image·O + channel) of y from its
// products by the variant v, M_ξ at mt[products[ξ]:][:q], with m²·q floats
// of scratch s: Y = Aᵀ M A, then the bias, residual (r, or nil) and
// activation, each m×m block into place.
func (c *Conv2d) winoOutput(v *winoVariant, mt []float32, products []int, s, y, r []float32, pi, q, wg, tw, oh, ow int) {
	m, t := v.m, v.m+2
	simd.Sandwich(s, q, v.at, mt, products, t, m, q)
	var yb [4][4][]float32 // Aᵀ·M·A: output phase (a, b) of every tile
	for a := range m {
		for b := range m {
			yb[a][b] = s[(a*m+b)*q:][:q]
		}
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
	relu := c.act == ActivationReLU
	var src [4][]float32
	for oy := range oh {
		ph, base := &yb[oy&(m-1)], oy/m*wg // m is 2 or 4
		for b := range m {
			src[b] = ph[b][base:][:tw]
		}
		var res []float32
		if ro != nil {
			res = ro[oy*ow:][:ow]
		}
		simd.Interleave(yo[oy*ow:][:ow], src[:m], bias, res, relu)
	}
}

// phasePlanes fills p[a][b] for a, b < m (each (TH+1)·Wg + 1 long) with
// the zero-padded H×W plane x split by row and column phase modulo m:
// p[a][b][r·Wg + s] = padded[m·r+a][m·s+b]. row is scratch of m·Wg floats:
// each padded row is built there, then split into its m column phases.
func (c *Conv2d) phasePlanes(p *[4][4][]float32, m int, x []float32, h, w, wg int, row []float32) {
	rows := (len(p[0][0]) - 1) / wg
	row = row[:m*wg]
	// Input columns [0, w) land at row[pw:], clipped to the row.
	pw := c.pad[1]
	n := max(0, min(w, m*wg-pw))
	clear(row)
	var dst [4][]float32
	for a := range m {
		for r := range rows {
			iy := m*r + a - c.pad[0]
			for b := range m {
				dst[b] = p[a][b][r*wg:][:wg]
			}
			if iy < 0 || iy >= h {
				for b := range m {
					clear(dst[b])
				}
				continue
			}
			copy(row[pw:pw+n], x[iy*w:][:n])
			simd.Deinterleave(dst[:m], row)
		}
		for b := range m {
			clear(p[a][b][rows*wg:]) // read one position past the grid
		}
	}
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
