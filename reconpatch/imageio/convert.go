package imageio

import (
	"image"
	"image/color"
)

// toRGB converts a decoded image to RGB following PIL's convert("RGB").
// gray16 marks a 16-bit greyscale PNG that Go returned as NRGBA64 because of
// a tRNS chunk: PIL clips it like any 16-bit grey image.
func toRGB(img image.Image, gray16 bool) RGB {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := NewRGB(w, h)
	p := out.Pix
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			o := p[y*w*3:]
			for x, v := range row {
				o[3*x], o[3*x+1], o[3*x+2] = v, v, v
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:2*w]
			o := p[y*w*3:]
			for x := 0; x < w; x++ {
				v := clip16(row[2*x], row[2*x+1])
				o[3*x], o[3*x+1], o[3*x+2] = v, v, v
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			o := p[y*w*3:]
			for x := 0; x < w; x++ {
				o[3*x], o[3*x+1], o[3*x+2] = row[4*x], row[4*x+1], row[4*x+2]
			}
		}
	case *image.RGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			o := p[y*w*3:]
			for x := 0; x < w; x++ {
				s := row[4*x : 4*x+4]
				o[3*x], o[3*x+1], o[3*x+2] = unpremultiply(s[0], s[3]), unpremultiply(s[1], s[3]), unpremultiply(s[2], s[3])
			}
		}
	case *image.NRGBA64:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:8*w]
			o := p[y*w*3:]
			for x := 0; x < w; x++ {
				s := row[8*x : 8*x+8]
				if gray16 {
					v := clip16(s[0], s[1])
					o[3*x], o[3*x+1], o[3*x+2] = v, v, v
				} else {
					o[3*x], o[3*x+1], o[3*x+2] = s[0], s[2], s[4]
				}
			}
		}
	case *image.RGBA64:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:8*w]
			o := p[y*w*3:]
			for x := 0; x < w; x++ {
				s := row[8*x : 8*x+8]
				if s[6] == 0xff && s[7] == 0xff {
					o[3*x], o[3*x+1], o[3*x+2] = s[0], s[2], s[4]
					continue
				}
				// Premultiplied 16-bit: un-premultiply on the high bytes.
				o[3*x], o[3*x+1], o[3*x+2] = unpremultiply(s[0], s[6]), unpremultiply(s[2], s[6]), unpremultiply(s[4], s[6])
			}
		}
	case *image.Paletted:
		var lut [256][3]uint8 // indices past the palette stay black
		for i, c := range m.Palette {
			if i == 256 {
				break
			}
			lut[i] = paletteRGB(c)
		}
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			o := p[y*w*3:]
			for x, idx := range row {
				c := lut[idx]
				o[3*x], o[3*x+1], o[3*x+2] = c[0], c[1], c[2]
			}
		}
	case *image.CMYK:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
			o := p[y*w*3:]
			for x := 0; x < w; x++ {
				s := row[4*x : 4*x+4]
				nk := 255 - int(s[3])
				o[3*x] = uint8(nk - muldiv255(int(s[0]), nk))
				o[3*x+1] = uint8(nk - muldiv255(int(s[1]), nk))
				o[3*x+2] = uint8(nk - muldiv255(int(s[2]), nk))
			}
		}
	case *image.YCbCr:
		if b.Min == (image.Point{}) {
			ycbcrToRGB(m, out)
			break
		}
		genericToRGB(img, out)
	default:
		genericToRGB(img, out)
	}
	return out
}

// genericToRGB converts any image through color.NRGBAModel, dropping alpha.
func genericToRGB(img image.Image, out RGB) {
	b := img.Bounds()
	for y := 0; y < out.H; y++ {
		for x := 0; x < out.W; x++ {
			c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			i := (y*out.W + x) * 3
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = c.R, c.G, c.B
		}
	}
}

// clip16 is PIL's I;16 → L/RGB rule: a big-endian 16-bit value v becomes
// min(v, 255).
func clip16(hi, lo uint8) uint8 {
	if hi != 0 {
		return 255
	}
	return lo
}

// unpremultiply is PIL's RGBa unpacker: c·255/a (integer division), clipped
// to 255, 0 where a = 0.
func unpremultiply(c, a uint8) uint8 {
	switch a {
	case 255:
		return c
	case 0:
		return 0
	}
	v := int(c) * 255 / int(a)
	if v > 255 {
		v = 255
	}
	return uint8(v)
}

// muldiv255 is PIL's MULDIV255: round(a·b/255) in integers.
func muldiv255(a, b int) int {
	t := a*b + 128
	return ((t >> 8) + t) >> 8
}

// paletteRGB gives a palette entry's stored colour. PNG entries with a tRNS
// alpha are color.NRGBA and keep their colour; GIF's transparent entry is
// color.RGBA{} (Go's decoder blanks it) and comes out black.
func paletteRGB(c color.Color) [3]uint8 {
	switch c := c.(type) {
	case color.NRGBA:
		return [3]uint8{c.R, c.G, c.B}
	case color.RGBA:
		if c.A == 0xff || c.A == 0 {
			return [3]uint8{c.R, c.G, c.B}
		}
	}
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return [3]uint8{n.R, n.G, n.B}
}
