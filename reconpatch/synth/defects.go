package synth

// Defects. A defect generator draws a shape from the defect stream and
// returns a stroke: the per-pixel weight whose thresholded value is the
// ground-truth mask, and the change it makes to the surface's albedo. The
// change is confined to the pixels the weight covers, so the mask is
// exactly the damaged region (up to anti-aliased edges).

const (
	maskThreshold = 0.25  // stroke weight at and above which a pixel is in the mask
	minDefectArea = 0.002 // smallest defect, as a fraction of the image
	maxDefectArea = 0.03  // largest defect
)

// env is what a defect generator may look at.
type env struct {
	size int
	cat  *category
	sc   scene
}

// stroke is one drawn defect.
type stroke struct {
	ok    bool      // false: no usable shape was found this try
	alpha []float32 // mask weight per pixel in [0, 1]
	paint func(c *canvas)
}

// area is the fraction of the image in the stroke's mask.
func (s *stroke) area() float32 {
	n := 0
	for _, a := range s.alpha {
		if a >= maskThreshold {
			n++
		}
	}
	return float32(n) / float32(len(s.alpha))
}

// scale is the defect size unit: pixels per design unit.
func (e *env) scale() float32 { return float32(e.size) / 256 }

// centre draws a defect position away from the image borders.
func (e *env) centre(r *rng) (x, y float32) {
	s := float32(e.size)
	return r.rangef(0.18, 0.82) * s, r.rangef(0.18, 0.82) * s
}

// polyline is a stroke's centre line with a width (pixels) and a strength
// in [0, 1] at each point.
type polyline struct {
	x, y, w, s []float32
}

func (p *polyline) add(x, y, w, s float32) {
	p.x, p.y, p.w, p.s = append(p.x, x), append(p.y, y), append(p.w, w), append(p.s, s)
}

// raster draws the anti-aliased line, weighted by its strength, into alpha
// (max-blended) and returns alpha.
func (p *polyline) raster(alpha []float32, size int) []float32 {
	n := len(p.x)
	for i := 0; i+1 < n; i++ {
		ax, ay, bx, by := p.x[i], p.y[i], p.x[i+1], p.y[i+1]
		ex, ey := bx-ax, by-ay
		l2 := ex*ex + ey*ey
		r := max(p.w[i], p.w[i+1])/2 + 1.5
		x0, x1 := max(0, floorInt(min(ax, bx)-r)), min(size-1, floorInt(max(ax, bx)+r))
		y0, y1 := max(0, floorInt(min(ay, by)-r)), min(size-1, floorInt(max(ay, by)+r))
		for y := y0; y <= y1; y++ {
			py := float32(y) + 0.5
			for x := x0; x <= x1; x++ {
				px := float32(x) + 0.5
				var t float32
				if l2 > 0 {
					t = clamp01(((px-ax)*ex + (py-ay)*ey) / l2)
				}
				dx, dy := px-(ax+t*ex), py-(ay+t*ey)
				d := sqrt32(dx*dx + dy*dy)
				w := lerp(p.w[i], p.w[i+1], t)
				a := clamp01(w/2+0.5-d) * lerp(p.s[i], p.s[i+1], t)
				if j := y*size + x; a > alpha[j] {
					alpha[j] = a
				}
			}
		}
	}
	return alpha
}

// blob is a ragged disc: radius r·(1 + n(θ)) about (cx, cy).
type blob struct {
	cx, cy, r float32
	n         noise1
}

// rel returns the distance of pixel (x, y) from the centre relative to the
// outline's radius in that direction (1 on the outline), the outline's
// radius, and the angle.
func (b *blob) rel(x, y int) (rel, radius, theta float32) {
	dx, dy := float32(x)+0.5-b.cx, float32(y)+0.5-b.cy
	theta = atan232(dy, dx)
	radius = b.r * (1 + b.n.at(theta))
	return sqrt32(dx*dx+dy*dy) / radius, radius, theta
}

// box returns the pixel bounds of everything within f times the blob's
// largest radius.
func (b *blob) box(f float32, size int) (x0, y0, x1, y1 int) {
	var amp float32
	for _, a := range b.n.amp {
		amp += a
	}
	r := b.r*(1+amp)*f + 2
	return max(0, floorInt(b.cx-r)), max(0, floorInt(b.cy-r)), min(size-1, floorInt(b.cx+r)), min(size-1, floorInt(b.cy+r))
}

// grey returns the luminance of a colour, for grey canvases.
func grey(c [3]float32) float32 { return 0.299*c[0] + 0.587*c[1] + 0.114*c[2] }

// tintPixel multiplies pixel i by the colour f (per channel) with weight a.
func tintPixel(c *canvas, i int, f [3]float32, a float32) {
	if c.ch == 1 {
		c.pix[i] *= lerp(1, grey(f), a)
		return
	}
	for k := 0; k < 3; k++ {
		c.pix[3*i+k] *= lerp(1, f[k], a)
	}
}

// scratch: a thin curved bright or dark line, tapering at its ends.
func scratch(e *env, r *rng) stroke {
	s := e.scale()
	x0, y0 := e.centre(r)
	ang := r.rangef(0, 2*pi)
	l := r.rangef(0.22, 0.5) * float32(e.size)
	x2, y2 := x0+l*cos32(ang), y0+l*sin32(ang)
	bend := r.rangef(-0.25, 0.25) * l
	x1, y1 := (x0+x2)/2-bend*sin32(ang), (y0+y2)/2+bend*cos32(ang)
	w := r.rangef(1.6, 3) * s
	var p polyline
	n := max(8, int(l/2))
	nox := r.rangef(0, 256)
	for i := 0; i <= n; i++ {
		t := float32(i) / float32(n)
		a, b, c := (1-t)*(1-t), 2*t*(1-t), t*t
		str := smoothstep(0, 0.12, t) * smoothstep(1, 0.88, t) * (0.8 + 0.2*vnoise(t*8+nox, nox))
		p.add(a*x0+b*x1+c*x2, a*y0+b*y1+c*y2, w*(0.8+0.4*str), str)
	}
	alpha := p.raster(make([]float32, e.size*e.size), e.size)
	bright := r.float() < e.cat.scratchBright
	k := r.rangef(0.5, 0.8)
	return stroke{ok: true, alpha: alpha, paint: func(c *canvas) {
		for i, a := range alpha {
			if a == 0 {
				continue
			}
			px := c.pix[i*c.ch : (i+1)*c.ch]
			for j := range px {
				if bright { // scraped: lighter, keeping the hue
					px[j] = lerp(px[j], min(1.05, px[j]*1.6+0.1), k*a)
				} else {
					px[j] *= 1 - 0.75*k*a
				}
			}
		}
	}}
}

// hole: a dark, ragged pit with a lit and shadowed rim.
func hole(e *env, r *rng) stroke {
	x, y := e.centre(r)
	b := blob{cx: x, cy: y, r: r.rangef(0.022, 0.045) * float32(e.size), n: newNoise1(r, 0.12)}
	rimW := r.rangef(0.25, 0.45)
	lightAng := r.rangef(0, 2*pi)
	rimAmp := r.rangef(0.35, 0.6)
	inside := jitterColour(r, e.cat.holeColour, 0.2, 0.05)
	nox := r.rangef(0, 256)
	n := e.size * e.size
	alpha := make([]float32, n)
	core := make([]float32, n)
	rim := make([]float32, n)
	depth := make([]float32, n)
	x0, y0, x1, y1 := b.box(1+rimW, e.size)
	for py := y0; py <= y1; py++ {
		for px := x0; px <= x1; px++ {
			rel, rad, th := b.rel(px, py)
			d := rel * rad
			i := py*e.size + px
			core[i] = clamp01(rad - d + 0.5)
			alpha[i] = clamp01(rad*(1+rimW) - d + 0.5)
			if d > rad-1 {
				t := clamp01((d - rad) / (rad * rimW))
				rim[i] = (1 - t) * (1 - t) * (cos32(th-lightAng) + 0.25 + 0.3*vnoise(float32(px)*0.7+nox, float32(py)*0.7)) * alpha[i]
			}
			wall := max(0, -cos32(th-lightAng)) * smoothstep(0.4, 1, rel)
			depth[i] = (0.5 + 0.5*rel*rel + 1.6*wall) * (1 + 0.15*vnoise(float32(px)*0.5+nox, float32(py)*0.5+nox))
		}
	}
	return stroke{ok: true, alpha: alpha, paint: func(c *canvas) {
		for i, a := range alpha {
			if a == 0 {
				continue
			}
			if c.ch == 1 {
				c.pix[i] = lerp(c.pix[i]*(1+rimAmp*rim[i]), grey(inside)*depth[i], core[i])
				continue
			}
			for k := 0; k < 3; k++ {
				c.pix[3*i+k] = lerp(c.pix[3*i+k]*(1+rimAmp*rim[i]), inside[k]*depth[i], core[i])
			}
		}
	}}
}

// stain: a soft-edged, discoloured blotch with a slightly darker tide line.
func stain(e *env, r *rng) stroke {
	x, y := e.centre(r)
	b := blob{cx: x, cy: y, r: r.rangef(0.045, 0.085) * float32(e.size), n: newNoise1(r, 0.22)}
	tint := e.cat.stainTints[r.intn(len(e.cat.stainTints))]
	strength := r.rangef(0.45, 0.8)
	soft := r.rangef(0.25, 0.5)
	ring := r.rangef(0.1, 0.35)
	nox, noy := r.rangef(0, 256), r.rangef(0, 256)
	n := e.size * e.size
	alpha := make([]float32, n)
	weight := make([]float32, n)
	x0, y0, x1, y1 := b.box(1, e.size)
	s := e.scale()
	for py := y0; py <= y1; py++ {
		for px := x0; px <= x1; px++ {
			rel, rad, _ := b.rel(px, py)
			i := py*e.size + px
			alpha[i] = clamp01((1-rel)*rad + 0.5)
			in := 1 - rel
			if in <= 0 {
				continue
			}
			m := 0.75 + 0.25*fbm(float32(px)/s*0.08+nox, float32(py)/s*0.08+noy, 2)
			tide := ring * smoothstep(0, 0.06, in) * (1 - smoothstep(0.06, 0.3, in))
			weight[i] = strength * clamp01(smoothstep(0, soft, in)*m+tide)
		}
	}
	return stroke{ok: true, alpha: alpha, paint: func(c *canvas) {
		for i, w := range weight {
			if w > 0 {
				tintPixel(c, i, tint, w)
			}
		}
	}}
}

// cut: a slit through a fabric: a dark gap with frayed, lighter fibres
// along its lips.
func cut(e *env, r *rng) stroke {
	s := e.scale()
	x0, y0 := e.centre(r)
	ang := r.rangef(0, 2*pi)
	l := r.rangef(0.12, 0.22) * float32(e.size)
	gapW := r.rangef(2, 3.5) * s
	fray := r.rangef(2, 3.5) * s
	bend := r.rangef(-0.1, 0.1) * l
	var gap, lips polyline
	n := max(6, int(l/2))
	for i := 0; i <= n; i++ {
		t := float32(i) / float32(n)
		off := bend * 4 * t * (1 - t)
		px := x0 + (t-0.5)*l*cos32(ang) - off*sin32(ang)
		py := y0 + (t-0.5)*l*sin32(ang) + off*cos32(ang)
		taper := 0.4 + 0.6*sqrt32(sin32(pi*t))
		gap.add(px, py, gapW*taper, 1)
		lips.add(px, py, gapW*taper+2*fray, 1)
	}
	sz := e.size
	aGap := gap.raster(make([]float32, sz*sz), sz)
	aLip := lips.raster(make([]float32, sz*sz), sz)
	inside := jitterColour(r, e.cat.holeColour, 0.2, 0.05)
	ca, sa := cos32(ang), sin32(ang)
	nox := r.rangef(0, 256)
	return stroke{ok: true, alpha: aLip, paint: func(c *canvas) {
		for i, a := range aLip {
			if a == 0 {
				continue
			}
			X, Y := float32(i%sz)/s, float32(i/sz)/s
			along, across := X*ca+Y*sa, -X*sa+Y*ca
			// loose fibres run across the cut
			f := 1 + a*(0.12+0.3*vnoise(along*1.3+nox, across*0.2))
			if c.ch == 1 {
				c.pix[i] = lerp(c.pix[i]*f, grey(inside), aGap[i])
				continue
			}
			for k := 0; k < 3; k++ {
				c.pix[3*i+k] = lerp(c.pix[3*i+k]*f, inside[k], aGap[i])
			}
		}
	}}
}

// crack: a dark, jagged split running roughly along the wood's grain,
// widest in its middle.
func crack(e *env, r *rng) stroke {
	s := e.scale()
	grain := float32(0)
	if w, ok := e.sc.(*woodScene); ok {
		grain = atan232(w.sn, w.cs)
	}
	base := grain + r.rangef(-0.2, 0.2)
	if r.float() < 0.5 {
		base += pi
	}
	x, y := e.centre(r)
	l := r.rangef(0.2, 0.4) * float32(e.size)
	wmax := r.rangef(2, 3.5) * s
	step := 1.5 * s
	n := max(8, int(l/step))
	var p polyline
	ang := base
	for i := 0; i <= n; i++ {
		t := float32(i) / float32(n)
		p.add(x, y, wmax*(0.3+0.7*sqrt32(sin32(pi*t))), 1)
		ang += 0.25*r.gauss() + 0.3*(base-ang)
		x += step * cos32(ang)
		y += step * sin32(ang)
	}
	alpha := p.raster(make([]float32, e.size*e.size), e.size)
	k := r.rangef(0.6, 0.8)
	return stroke{ok: true, alpha: alpha, paint: func(c *canvas) {
		for i, a := range alpha {
			for j := i * c.ch; j < (i+1)*c.ch && a > 0; j++ {
				c.pix[j] *= 1 - k*a
			}
		}
	}}
}

// missingPrint: a ragged patch where the ink did not transfer, across a grid
// line or through a printed element.
func missingPrint(e *env, r *rng) stroke {
	p, ok := e.sc.(*printScene)
	if !ok {
		return stroke{}
	}
	x, y := e.centre(r)
	dx, dy := p.design(x, y)
	if r.float() < 0.4 { // onto a grid line
		if r.float() < 0.5 {
			dx = printCell * float32(floorInt(dx/printCell+0.5))
		} else {
			dy = printCell * float32(floorInt(dy/printCell+0.5))
		}
	} else { // into an element, off its centre
		dx = printCell*(float32(floorInt(dx/printCell))+0.5) + r.rangef(-7, 7)
		dy = printCell*(float32(floorInt(dy/printCell))+0.5) + r.rangef(-7, 7)
	}
	x, y = p.pixel(dx, dy)
	b := blob{cx: x, cy: y, r: r.rangef(0.03, 0.05) * float32(e.size), n: newNoise1(r, 0.2)}
	sz := e.size
	alpha := make([]float32, sz*sz)
	x0, y0, x1, y1 := b.box(1, sz)
	var inked, all float32
	aa := p.k / p.scale
	for py := y0; py <= y1; py++ {
		for px := x0; px <= x1; px++ {
			rel, rad, _ := b.rel(px, py)
			a := clamp01((1-rel)*rad + 0.5)
			alpha[py*sz+px] = a
			ddx, ddy := p.design(float32(px)+0.5, float32(py)+0.5)
			black, colour := p.coverage(ddx, ddy, aa)
			inked += a * max(black, colour)
			all += a
		}
	}
	if inked < 0.15*all {
		return stroke{}
	}
	return stroke{ok: true, alpha: alpha, paint: func(c *canvas) { p.paint(c, alpha) }}
}
