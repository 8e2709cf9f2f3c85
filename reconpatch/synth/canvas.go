package synth

import (
	"image"
	"math"
)

const pi = math.Pi

func sin32(x float32) float32      { return float32(math.Sin(float64(x))) }
func cos32(x float32) float32      { return float32(math.Cos(float64(x))) }
func sqrt32(x float32) float32     { return float32(math.Sqrt(float64(x))) }
func exp32(x float32) float32      { return float32(math.Exp(float64(x))) }
func atan232(y, x float32) float32 { return float32(math.Atan2(float64(y), float64(x))) }

func clamp01(x float32) float32 {
	if x < 0 {
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}

func lerp(a, b, t float32) float32 { return a + (b-a)*t }

func smoothstep(e0, e1, x float32) float32 {
	t := clamp01((x - e0) / (e1 - e0))
	return t * t * (3 - 2*t)
}

// canvas is a float image, interleaved channels (1: grey, 3: RGB), values
// nominally in [0, 1]: the surface's albedo before lighting, then the
// sensor's image.
type canvas struct {
	w, h, ch int
	pix      []float32
}

func newCanvas(w, h, ch int) *canvas {
	return &canvas{w: w, h: h, ch: ch, pix: make([]float32, w*h*ch)}
}

// set stores a colour; a grey canvas keeps the luminance.
func (c *canvas) set(i int, r, g, b float32) {
	if c.ch == 1 {
		c.pix[i] = 0.299*r + 0.587*g + 0.114*b
		return
	}
	p := c.pix[3*i : 3*i+3 : 3*i+3]
	p[0], p[1], p[2] = r, g, b
}

// look holds a category's ranges for lighting and sensor noise.
type look struct {
	gain     [2]float32 // overall exposure
	gradient float32    // largest linear lighting change across the image
	vignette float32    // largest darkening in the corners
	blotch   float32    // low-frequency lighting unevenness
	sigma    [2]float32 // sensor noise, standard deviation in [0, 1] units
}

// expose applies the lighting and the sensor noise of one image, drawn from
// its light and noise streams, to the albedo in c.
func expose(c *canvas, lk *look, light, noise *rng) {
	gain := light.rangef(lk.gain[0], lk.gain[1])
	ang := light.rangef(0, 2*pi)
	g := light.rangef(0.3, 1) * lk.gradient
	gx, gy := g*cos32(ang), g*sin32(ang)
	vig := light.rangef(0.3, 1) * lk.vignette
	cx, cy := light.rangef(-0.15, 0.15), light.rangef(-0.15, 0.15)
	blotch := light.rangef(0.3, 1) * lk.blotch
	ox, oy := light.rangef(0, 256), light.rangef(0, 256)
	sigma := light.rangef(lk.sigma[0], lk.sigma[1])

	inv := 1 / float32(c.w)
	for y := 0; y < c.h; y++ {
		ny := (float32(y)+0.5)*inv - 0.5
		for x := 0; x < c.w; x++ {
			nx := (float32(x)+0.5)*inv - 0.5
			dx, dy := nx-cx, ny-cy
			l := gain * (1 + gx*nx + gy*ny + blotch*fbm(nx*2.5+ox, ny*2.5+oy, 2)) * (1 - vig*2*(dx*dx+dy*dy))
			p := c.pix[(y*c.w+x)*c.ch : (y*c.w+x+1)*c.ch]
			for k := range p {
				p[k] = p[k]*l + sigma*noise.gauss()
			}
		}
	}
}

func quant(v float32) uint8 {
	v = v*255 + 0.5
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v)
}

// toImage quantises c to 8 bits: *image.Gray or an opaque *image.RGBA.
func (c *canvas) toImage() image.Image {
	r := image.Rect(0, 0, c.w, c.h)
	if c.ch == 1 {
		img := image.NewGray(r)
		for i, v := range c.pix {
			img.Pix[i] = quant(v)
		}
		return img
	}
	img := image.NewRGBA(r)
	for i := 0; i < c.w*c.h; i++ {
		img.Pix[4*i] = quant(c.pix[3*i])
		img.Pix[4*i+1] = quant(c.pix[3*i+1])
		img.Pix[4*i+2] = quant(c.pix[3*i+2])
		img.Pix[4*i+3] = 255
	}
	return img
}
