package synth

// Procedural surfaces. Every scene works in design units: 256 units span the
// image whatever its size, so a 512×512 image shows the same surface as a
// 256×256 one, at twice the resolution. A scene paints the surface's albedo;
// expose adds lighting and sensor noise afterwards.

// scene is one image's surface, its parameters drawn from the scene stream.
type scene interface {
	// paint renders the albedo into c. erase, nil or one weight in [0, 1]
	// per pixel, removes that fraction of the printed ink (printed
	// surfaces only; others ignore it).
	paint(c *canvas, erase []float32)
}

// frame is a scene's placement: design coordinates of a pixel are the pixel
// centre scaled to 256 units, rotated by the scene's angle about the centre.
type frame struct {
	k      float32 // design units per pixel
	cs, sn float32 // cosine and sine of the rotation
}

func newFrame(size int, angle float32) frame {
	return frame{k: 256 / float32(size), cs: cos32(angle), sn: sin32(angle)}
}

// uv returns the rotated design coordinates of pixel (x, y): u along the
// surface's main direction, v across it.
func (f frame) uv(x, y int) (u, v float32) {
	X := (float32(x)+0.5)*f.k - 128
	Y := (float32(y)+0.5)*f.k - 128
	return X*f.cs + Y*f.sn + 128, -X*f.sn + Y*f.cs + 128
}

// jitterColour scales a colour by a random brightness and tint change.
func jitterColour(r *rng, c [3]float32, bright, tint float32) [3]float32 {
	b := 1 + r.rangef(-bright, bright)
	for i := range c {
		c[i] *= b * (1 + r.rangef(-tint, tint))
	}
	return c
}

// ---- brushed_metal -------------------------------------------------------

type metalScene struct {
	frame
	base                        float32
	streak                      float32
	ox, oy, ox2, oy2            float32
	sheenU, sheenW, sheenAmp    float32
	sheen2U, sheen2W, sheen2Amp float32
}

func newMetal(r *rng, size int) scene {
	m := &metalScene{frame: newFrame(size, r.rangef(-0.05, 0.05))}
	m.base = r.rangef(0.50, 0.58)
	m.streak = r.rangef(0.08, 0.11)
	m.ox, m.oy = r.rangef(0, 256), r.rangef(0, 256)
	m.ox2, m.oy2 = r.rangef(0, 256), r.rangef(0, 256)
	m.sheenU, m.sheenW, m.sheenAmp = r.rangef(40, 216), r.rangef(40, 90), r.rangef(0.06, 0.13)
	m.sheen2U, m.sheen2W, m.sheen2Amp = r.rangef(0, 256), r.rangef(15, 35), r.rangef(-0.04, 0.05)
	return m
}

func (m *metalScene) paint(c *canvas, _ []float32) {
	for y := 0; y < c.h; y++ {
		for x := 0; x < c.w; x++ {
			u, v := m.uv(x, y)
			s := m.streak*(0.6*fbm(u*0.008+m.ox, v*0.55+m.oy, 3)+0.4*vnoise(u*0.0025+m.ox2, v*0.12+m.oy2)) +
				0.02*vnoise(u*0.15+m.oy, v*2.3+m.ox)
			du, du2 := (u-m.sheenU)/m.sheenW, (u-m.sheen2U)/m.sheen2W
			val := m.base + s + m.sheenAmp*exp32(-du*du) + m.sheen2Amp*exp32(-du2*du2)
			c.pix[y*c.w+x] = val
		}
	}
}

// ---- woven_fabric --------------------------------------------------------

type fabricScene struct {
	frame
	period     float32
	phu, phv   float32
	warp, weft [3]float32
	jit        uint64
	wox, woy   float32
	fox, foy   float32
	wave       float32
}

func newFabric(r *rng, size int) scene {
	f := &fabricScene{frame: newFrame(size, r.rangef(-0.025, 0.025))}
	f.period = 8 * r.rangef(0.98, 1.02)
	f.phu, f.phv = r.rangef(0, 2*f.period), r.rangef(0, 2*f.period)
	f.warp = jitterColour(r, [3]float32{0.62, 0.52, 0.38}, 0.04, 0.02)
	f.weft = jitterColour(r, [3]float32{0.56, 0.47, 0.35}, 0.04, 0.02)
	f.jit = r.next()
	f.wox, f.woy = r.rangef(0, 256), r.rangef(0, 256)
	f.fox, f.foy = r.rangef(0, 256), r.rangef(0, 256)
	f.wave = r.rangef(0.5, 1.1)
	return f
}

// thread returns the relative width and brightness of thread i of a set
// (0: warp, 1: weft): small random jitter, fixed per image.
func (f *fabricScene) thread(set uint64, i int) (width, bright float32) {
	h := mix(f.jit^set, uint64(int64(i)))
	a := float32(h&0xffff)/65535 - 0.5
	b := float32(h>>16&0xffff)/65535 - 0.5
	return 0.80 + 0.12*a, 1 + 0.12*b
}

// cyl is the shading across a round thread: a in [-1, 1] from edge to edge.
func cyl(a float32) float32 { return sqrt32(1 - a*a) }

func (f *fabricScene) paint(c *canvas, _ []float32) {
	for y := 0; y < c.h; y++ {
		for x := 0; x < c.w; x++ {
			u, v := f.uv(x, y)
			u += f.wave * vnoise(u*0.03+f.wox, v*0.03+f.woy)
			v += f.wave * vnoise(u*0.03+f.woy, v*0.03+f.wox)
			fu, fv := u/f.period, v/f.period
			i, j := floorInt(fu), floorInt(fv)
			tu, tv := fu-float32(i), fv-float32(j)
			wW, bW := f.thread(0, i)
			wF, bF := f.thread(1, j)
			aw := (tu - 0.5) * 2 / wW // across the warp thread (runs along v)
			af := (tv - 0.5) * 2 / wF // across the weft thread (runs along u)
			warpTop := (i+j)&1 == 0
			inW, inF := aw > -1 && aw < 1, af > -1 && af < 1
			var col [3]float32
			var shade float32
			switch {
			case inW && (warpTop || !inF):
				shade = bW * (0.5 + 0.5*cyl(aw))
				if warpTop {
					shade *= 0.78 + 0.22*sin32(pi*tv)
				} else {
					shade *= 0.7
				}
				shade *= 1 + 0.09*vnoise(u*1.1+f.fox, v*0.18+f.foy)
				col = f.warp
			case inF:
				shade = bF * (0.5 + 0.5*cyl(af))
				if !warpTop {
					shade *= 0.78 + 0.22*sin32(pi*tu)
				} else {
					shade *= 0.7
				}
				shade *= 1 + 0.09*vnoise(u*0.18+f.foy, v*1.1+f.fox)
				col = f.weft
			default: // the gap between threads
				shade = 0.3
				col = f.weft
			}
			c.set(y*c.w+x, col[0]*shade, col[1]*shade, col[2]*shade)
		}
	}
}

// ---- printed_grid --------------------------------------------------------

// printRect is one rectangle of a printed element, centre and half sizes in
// design units relative to the cell's centre.
type printRect struct{ cx, cy, hw, hh float32 }

// printElem is what is printed in one grid cell.
type printElem struct {
	kind   int // elemEmpty...
	colour bool
	rects  []printRect
}

const (
	elemEmpty = iota
	elemSquare
	elemBarcode
	elemRing
	elemText
	elemCross
	elemDisc
)

const (
	printCell  = 32  // grid period, design units
	printLine  = 0.9 // half width of the grid lines
	printCells = 8   // the layout repeats every printCells cells
)

// printLayout is the fixed print design, the same in every image.
var printLayout = func() [printCells * printCells]printElem {
	var l [printCells * printCells]printElem
	r := &rng{s: 0x9a1d5eed}
	kinds := []int{elemSquare, elemBarcode, elemRing, elemText, elemCross, elemDisc, elemBarcode, elemText, elemEmpty}
	for i := range l {
		e := printElem{kind: kinds[r.intn(len(kinds))]}
		switch e.kind {
		case elemSquare:
			e.colour = true
			h := r.rangef(5.5, 8)
			e.rects = []printRect{{0, 0, h, h}}
		case elemCross:
			e.colour = true
			e.rects = []printRect{{0, 0, 8, 1.6}, {0, 0, 1.6, 8}}
		case elemDisc:
			e.colour = true
		case elemBarcode:
			for x := float32(-10); ; {
				w := []float32{1, 1.5, 2.5}[r.intn(3)]
				if x+w > 10 {
					break
				}
				e.rects = append(e.rects, printRect{x + w/2, 0, w / 2, 7})
				x += w + []float32{1, 1.5, 2}[r.intn(3)]
			}
		case elemText:
			for _, row := range []float32{-6, -1, 4} {
				for x := float32(-10); ; {
					n := []float32{2, 3, 4, 5}[r.intn(4)]
					if x+n > 10 {
						break
					}
					e.rects = append(e.rects, printRect{x + n/2, row, n / 2, 1.3})
					x += n + 1.4
				}
			}
		}
		l[i] = e
	}
	return l
}()

// sd returns the signed distance (design units, negative inside) from a
// point relative to the cell's centre to the element's ink.
func (e *printElem) sd(lx, ly float32) float32 {
	d := float32(1e9)
	for _, r := range e.rects {
		ax, ay := lx-r.cx, ly-r.cy
		if ax < 0 {
			ax = -ax
		}
		if ay < 0 {
			ay = -ay
		}
		s := ax - r.hw
		if t := ay - r.hh; t > s {
			s = t
		}
		d = min(d, s)
	}
	switch e.kind {
	case elemRing:
		rr := sqrt32(lx*lx + ly*ly)
		ring := rr - 7.5
		if ring < 0 {
			ring = -ring
		}
		d = min(d, ring-1.2, rr-2.2)
	case elemDisc:
		d = min(d, sqrt32(lx*lx+ly*ly)-6)
	}
	return d
}

// cellAt returns the element under design point (dx, dy) and the point
// relative to its cell's centre.
func cellAt(dx, dy float32) (e *printElem, lx, ly float32) {
	cx, cy := floorInt(dx/printCell), floorInt(dy/printCell)
	e = &printLayout[(cy&(printCells-1))*printCells+(cx&(printCells-1))]
	return e, dx - (float32(cx)+0.5)*printCell, dy - (float32(cy)+0.5)*printCell
}

type printScene struct {
	k                float32
	cs, sn, scale    float32
	sx, sy           float32 // print position
	mx, my           float32 // misregistration of the colour ink
	paper, ink, spot [3]float32
	density          float32
	ox, oy           float32
}

func newPrint(r *rng, size int) scene {
	a := r.rangef(-0.012, 0.012)
	p := &printScene{k: 256 / float32(size), cs: cos32(a), sn: sin32(a), scale: r.rangef(0.99, 1.01)}
	p.sx, p.sy = r.rangef(-4, 4), r.rangef(-4, 4)
	p.mx, p.my = r.rangef(-1.2, 1.2), r.rangef(-1.2, 1.2)
	p.paper = jitterColour(r, [3]float32{0.88, 0.87, 0.82}, 0.03, 0.01)
	p.ink = jitterColour(r, [3]float32{0.10, 0.10, 0.13}, 0.15, 0.05)
	p.spot = jitterColour(r, [3]float32{0.82, 0.20, 0.17}, 0.04, 0.03)
	p.density = r.rangef(0.88, 0.98)
	p.ox, p.oy = r.rangef(0, 256), r.rangef(0, 256)
	return p
}

// design maps pixel coordinates (continuous, pixel centres at +0.5) to
// design coordinates of the print.
func (p *printScene) design(x, y float32) (dx, dy float32) {
	X, Y := x*p.k-128, y*p.k-128
	return (X*p.cs+Y*p.sn)/p.scale + 128 + p.sx, (-X*p.sn+Y*p.cs)/p.scale + 128 + p.sy
}

// pixel is the inverse of design.
func (p *printScene) pixel(dx, dy float32) (x, y float32) {
	X, Y := (dx-128-p.sx)*p.scale, (dy-128-p.sy)*p.scale
	return (X*p.cs - Y*p.sn + 128) / p.k, (X*p.sn + Y*p.cs + 128) / p.k
}

// coverage returns the black and colour ink coverage at design point
// (dx, dy); aa is the width of a pixel in design units.
func (p *printScene) coverage(dx, dy, aa float32) (black, colour float32) {
	gx := dx - printCell*float32(floorInt(dx/printCell+0.5))
	gy := dy - printCell*float32(floorInt(dy/printCell+0.5))
	if gx < 0 {
		gx = -gx
	}
	if gy < 0 {
		gy = -gy
	}
	black = clamp01(0.5 - (min(gx, gy)-printLine)/aa)
	if e, lx, ly := cellAt(dx, dy); e.kind != elemEmpty && !e.colour {
		black = max(black, clamp01(0.5-e.sd(lx, ly)/aa))
	}
	if e, lx, ly := cellAt(dx-p.mx, dy-p.my); e.colour {
		colour = clamp01(0.5 - e.sd(lx, ly)/aa)
	}
	return black, colour
}

func (p *printScene) paint(c *canvas, erase []float32) {
	aa := p.k / p.scale
	for y := 0; y < c.h; y++ {
		for x := 0; x < c.w; x++ {
			i := y*c.w + x
			dx, dy := p.design(float32(x)+0.5, float32(y)+0.5)
			black, colour := p.coverage(dx, dy, aa)
			dens := p.density * (1 - 0.1*(0.5+0.5*vnoise(dx*0.35+p.ox, dy*0.35+p.oy)))
			if erase != nil {
				dens *= 1 - erase[i]
			}
			black *= dens
			colour *= dens
			paper := 1 + 0.025*fbm(dx*0.12+p.oy, dy*0.12+p.ox, 3) + 0.012*vnoise(dx*0.9+p.ox, dy*0.9+p.oy)
			var rgb [3]float32
			for k := range rgb {
				rgb[k] = p.paper[k] * paper * (1 - black*(1-p.ink[k])) * (1 - colour*(1-p.spot[k]))
			}
			c.set(i, rgb[0], rgb[1], rgb[2])
		}
	}
}

// ---- wood ------------------------------------------------------------------

type woodScene struct {
	frame
	period, phase    float32
	warpAmp          float32
	ox, oy, ox2, oy2 float32
	light, dark      [3]float32
}

func newWood(r *rng, size int) scene {
	w := &woodScene{frame: newFrame(size, r.rangef(-0.04, 0.04))}
	w.period = r.rangef(16, 21)
	w.phase = r.rangef(0, 1)
	w.warpAmp = r.rangef(10, 18)
	w.ox, w.oy = r.rangef(0, 256), r.rangef(0, 256)
	w.ox2, w.oy2 = r.rangef(0, 256), r.rangef(0, 256)
	w.light = jitterColour(r, [3]float32{0.80, 0.60, 0.40}, 0.05, 0.03)
	w.dark = jitterColour(r, [3]float32{0.55, 0.35, 0.20}, 0.06, 0.03)
	return w
}

func (w *woodScene) paint(c *canvas, _ []float32) {
	for y := 0; y < c.h; y++ {
		for x := 0; x < c.w; x++ {
			u, v := w.uv(x, y)
			ph := (v+w.warpAmp*fbm(u*0.005+w.ox, v*0.012+w.oy, 3))/w.period + w.phase
			f := ph - float32(floorInt(ph))
			ring := smoothstep(0.45, 0.85, f) * (1 - smoothstep(0.88, 1, f))
			fibre := 0.5*vnoise(u*0.035+w.ox2, v*0.8+w.oy2) + 0.5*vnoise(u*0.09+w.oy2, v*1.9+w.ox2)
			t := 0.12 + 0.62*ring + 0.12*fibre + 0.1*fbm(u*0.01+w.oy, v*0.04+w.ox, 2)
			if pore := vnoise(u*0.1+w.ox*3, v*1.4+w.oy*3); pore > 0.75 {
				t += (pore - 0.75) * 1.6
			}
			t = clamp01(t)
			c.set(y*c.w+x, lerp(w.light[0], w.dark[0], t), lerp(w.light[1], w.dark[1], t), lerp(w.light[2], w.dark[2], t))
		}
	}
}
