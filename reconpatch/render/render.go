// Package render turns anomaly maps into images: a colour heatmap, the
// heatmap blended over the inspected image, a binary mask at a threshold
// and the raw map as a 16-bit grey PNG whose scale is stored in the file, so
// that scores can be recovered from it. WritePNG writes any of them
// atomically.
//
// An anomaly map is a row-major []float32 of w·h values, as
// reconpatch.Prediction.Map; the functions panic if its length is not w·h,
// as a slice index out of range would.
package render

import (
	"fmt"
	"image"
	"math"

	"github.com/reconpatch/rp/reconpatch/imageio"
)

//go:generate go run colormap_gen.go

func checkMap(fn string, m []float32, w, h int) {
	if w < 0 || h < 0 || len(m) != w*h {
		panic(fmt.Sprintf("render.%s: map of %d values for %d×%d", fn, len(m), w, h))
	}
}

// Heatmap colours the map with a perceptual, inferno-like colour map of 256
// entries whose luminance rises with the value: lo (and below, and NaN) is
// near black, hi (and above) pale yellow. If hi ≤ lo, values ≥ hi get the
// top colour and the rest the bottom one.
func Heatmap(m []float32, w, h int, lo, hi float32) imageio.RGB {
	checkMap("Heatmap", m, w, h)
	out := imageio.NewRGB(w, h)
	span := hi - lo
	for i, v := range m {
		var k int
		switch {
		case v >= hi: // +Inf included
			k = 255
		case !(v > lo): // NaN included
			k = 0
		default:
			k = min(int((v-lo)/span*255+0.5), 255)
		}
		c := inferno[k]
		copy(out.Pix[3*i:3*i+3], c[:])
	}
	return out
}

// Overlay blends heat over img: out = (1−alpha)·img + alpha·heat per
// channel, rounded to nearest; alpha is clamped to [0, 1]. It panics if the
// two images differ in size.
func Overlay(img, heat imageio.RGB, alpha float32) imageio.RGB {
	if img.W != heat.W || img.H != heat.H || len(img.Pix) != len(heat.Pix) {
		panic(fmt.Sprintf("render.Overlay: image %d×%d, heatmap %d×%d", img.W, img.H, heat.W, heat.H))
	}
	if !(alpha > 0) {
		alpha = 0
	}
	alpha = min(alpha, 1)
	out := imageio.NewRGB(img.W, img.H)
	for i, a := range img.Pix {
		v := (1-alpha)*float32(a) + alpha*float32(heat.Pix[i])
		out.Pix[i] = uint8(min(v+0.5, 255))
	}
	return out
}

// Mask is the map binarised at threshold: 255 where a value exceeds it
// (v > threshold, the rule the model's thresholds use), 0 elsewhere and for
// NaN.
func Mask(m []float32, w, h int, threshold float32) *image.Gray {
	checkMap("Mask", m, w, h)
	out := image.NewGray(image.Rect(0, 0, w, h))
	for i, v := range m {
		if v > threshold {
			out.Pix[i] = 255
		}
	}
	return out
}

// MapScaleKey is the PNG tEXt keyword under which WriteMap16 stores the
// scale of a 16-bit map: score = pixel / scale.
const MapScaleKey = "rp-map-scale"

// Map16 encodes the raw map as a 16-bit grey image with pixel =
// round(v·scale), scale = 65535 / max(map), so that the largest value is
// 65535 and v = pixel/scale to within 0.5/scale. Values ≤ 0 and NaN become
// 0. If the map has no positive finite value the scale is 1. Store the
// scale with the image (WriteMap16 does) to recover scores.
func Map16(m []float32, w, h int) (img *image.Gray16, scale float32) {
	checkMap("Map16", m, w, h)
	var hi float32
	for _, v := range m {
		if v > hi && !math.IsInf(float64(v), 1) {
			hi = v
		}
	}
	scale = 1
	if hi > 0 {
		scale = 65535 / hi
		if math.IsInf(float64(scale), 0) { // subnormal maximum
			scale = math.MaxFloat32
		}
	}
	return Map16Scale(m, w, h, scale), scale
}

// Map16Scale is Map16 with a fixed scale, for maps that must be comparable
// across images: pixel = round(v·scale), clamped to [0, 65535] (+Inf gives
// 65535, NaN 0).
func Map16Scale(m []float32, w, h int, scale float32) *image.Gray16 {
	checkMap("Map16Scale", m, w, h)
	out := image.NewGray16(image.Rect(0, 0, w, h))
	for i, v := range m {
		p := float64(v)*float64(scale) + 0.5
		var u uint16
		switch {
		case p >= 65535:
			u = 65535
		case p >= 1: // false for NaN
			u = uint16(p)
		}
		out.Pix[2*i] = uint8(u >> 8)
		out.Pix[2*i+1] = uint8(u)
	}
	return out
}
