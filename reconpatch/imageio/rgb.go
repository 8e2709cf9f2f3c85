package imageio

import (
	"fmt"
	"image"
	"image/color"
)

// RGB is an 8-bit RGB image. Pix holds W·H·3 bytes, row by row, three bytes
// (R, G, B) per pixel, with no padding between rows. It implements
// image.Image, so it can be handed to image/png and friends.
type RGB struct {
	W, H int
	Pix  []uint8
}

// NewRGB returns a black w×h image. It panics if w or h is negative.
func NewRGB(w, h int) RGB {
	if w < 0 || h < 0 {
		panic(fmt.Sprintf("imageio: NewRGB(%d, %d)", w, h))
	}
	return RGB{W: w, H: h, Pix: make([]uint8, w*h*3)}
}

// RGBAt returns the pixel at (x, y).
func (m RGB) RGBAt(x, y int) (r, g, b uint8) {
	i := (y*m.W + x) * 3
	return m.Pix[i], m.Pix[i+1], m.Pix[i+2]
}

// ColorModel implements image.Image.
func (m RGB) ColorModel() color.Model { return color.RGBAModel }

// Bounds implements image.Image: the rectangle (0, 0)–(W, H).
func (m RGB) Bounds() image.Rectangle { return image.Rect(0, 0, m.W, m.H) }

// At implements image.Image.
func (m RGB) At(x, y int) color.Color {
	if x < 0 || y < 0 || x >= m.W || y >= m.H {
		return color.RGBA{}
	}
	r, g, b := m.RGBAt(x, y)
	return color.RGBA{r, g, b, 0xff}
}

// isGray reports whether every pixel has R = G = B, so that a
// per-channel operation can run on one channel and be replicated.
func (m RGB) isGray() bool {
	p := m.Pix
	for i := 0; i+2 < len(p); i += 3 {
		if p[i] != p[i+1] || p[i] != p[i+2] {
			return false
		}
	}
	return true
}

// Mask is a binary image: Pix holds W·H values, 1 for a positive (anomalous)
// pixel and 0 otherwise, row by row.
type Mask struct {
	W, H int
	Pix  []uint8
}

// Positives counts the pixels set to 1.
func (m Mask) Positives() int {
	n := 0
	for _, v := range m.Pix {
		if v != 0 {
			n++
		}
	}
	return n
}
