package imageio

import (
	"fmt"
	"math"
)

// ResizedSize is torchvision's Resize(size) output size for a w×h image
// (_compute_resized_output_size, torchvision 0.14): the shorter side
// becomes size and the longer int(size·long/short), truncated; a square
// image becomes size×size. It panics if a size is not positive.
func ResizedSize(w, h, size int) (nw, nh int) {
	if w <= 0 || h <= 0 || size <= 0 {
		panic(fmt.Sprintf("imageio: ResizedSize(%d, %d, %d)", w, h, size))
	}
	short, long := w, h
	if w > h {
		short, long = h, w
	}
	// size·long is exact in float64 and the division is correctly rounded,
	// as Python's int / int is.
	newLong := int(float64(size*long) / float64(short))
	if w <= h {
		return size, newLong
	}
	return newLong, size
}

// ResizeShorter is torchvision's Resize(size) on a PIL image: Resize to
// ResizedSize(img.W, img.H, size) with PIL's bilinear filter. An image
// already of that size is returned as is (not copied), as torchvision does.
func ResizeShorter(img RGB, size int) RGB {
	w, h := ResizedSize(img.W, img.H, size)
	if w == img.W && h == img.H {
		return img
	}
	return Resize(img, w, h)
}

// CropOffsets gives torchvision's CenterCrop geometry for cropping a w×h
// image to cw×ch: the crop's top-left corner in source coordinates, which
// is negative on a side where the crop is larger than the image (torchvision
// pads that side with zeros, (c−w)//2 on the left or top and the rest on the
// right or bottom). Otherwise left = int(round((w − cw)/2)) with Python's
// round half to even, likewise top.
func CropOffsets(w, h, cw, ch int) (left, top int) {
	return cropOffset(w, cw), cropOffset(h, ch)
}

func cropOffset(n, c int) int {
	if c > n {
		// pad (c−n)//2 before, (c−n+1)//2 after; then the padded size
		// equals c and the crop starts at 0 of the padded image.
		return -((c - n) / 2)
	}
	return int(math.RoundToEven(float64(n-c) / 2))
}

// crop copies the cw×ch window at (left, top) of an interleaved image with
// nc channels; pixels outside the source are 0.
func crop(src []uint8, w, h, nc, left, top, cw, ch int) []uint8 {
	dst := make([]uint8, cw*ch*nc)
	x0, x1 := max(0, -left), min(cw, w-left) // destination columns with a source
	if x1 <= x0 {
		return dst
	}
	for y := 0; y < ch; y++ {
		sy := top + y
		if sy < 0 || sy >= h {
			continue
		}
		copy(dst[(y*cw+x0)*nc:(y*cw+x1)*nc], src[(sy*w+left+x0)*nc:])
	}
	return dst
}

// CenterCrop is torchvision's CenterCrop((ch, cw)) (see CropOffsets),
// zero-padding where the crop is larger than the image. It panics if a size
// is not positive.
func CenterCrop(img RGB, cw, ch int) RGB {
	if cw <= 0 || ch <= 0 {
		panic(fmt.Sprintf("imageio: CenterCrop to %d×%d", cw, ch))
	}
	if cw == img.W && ch == img.H {
		return img
	}
	left, top := CropOffsets(img.W, img.H, cw, ch)
	return RGB{W: cw, H: ch, Pix: crop(img.Pix, img.W, img.H, 3, left, top, cw, ch)}
}

// CenterCrop crops a mask as CenterCrop crops an image.
func (m Mask) CenterCrop(cw, ch int) Mask {
	if cw <= 0 || ch <= 0 {
		panic(fmt.Sprintf("imageio: Mask.CenterCrop to %d×%d", cw, ch))
	}
	if cw == m.W && ch == m.H {
		return m
	}
	left, top := CropOffsets(m.W, m.H, cw, ch)
	return Mask{W: cw, H: ch, Pix: crop(m.Pix, m.W, m.H, 1, left, top, cw, ch)}
}
