package imageio

import "fmt"

// Preprocess is the geometry applied to every input image (spec section 2):
// torchvision's Resize(Resize) then CenterCrop(Crop). The project default
// is {Resize: 256, Crop: 224}; the 320 setting is {366, 320} and the 480
// setting {549, 480}.
type Preprocess struct {
	// Resize makes the shorter side Resize pixels with PIL's antialiased
	// bilinear filter, the longer int(Resize·long/short); 0 keeps the size.
	Resize int
	// Stretch resizes both sides to Resize instead, ignoring the aspect
	// ratio: the "no crop" setting for elongated images, where a centre
	// crop would cut defects off (anomalib resizes this way).
	Stretch bool
	// Crop cuts the central Crop×Crop square (zero-padded if the image is
	// smaller); 0 keeps the whole image.
	Crop int
	// MaxPixels refuses larger images from their header; 0 means
	// DefaultMaxPixels.
	MaxPixels int
	// MaskThreshold is the level at which LoadMask marks a pixel positive:
	// any channel >= MaskThreshold. 0 means 128.
	MaskThreshold uint8
}

// Apply resizes and crops img as p says.
func (p Preprocess) Apply(img RGB) RGB {
	switch {
	case p.Resize > 0 && p.Stretch:
		if img.W != p.Resize || img.H != p.Resize {
			img = Resize(img, p.Resize, p.Resize)
		}
	case p.Resize > 0:
		img = ResizeShorter(img, p.Resize)
	}
	if p.Crop > 0 {
		img = CenterCrop(img, p.Crop, p.Crop)
	}
	return img
}

// ApplyMask resizes (nearest neighbour, same output size as Apply gives an
// image) and crops a mask as p says.
func (p Preprocess) ApplyMask(m Mask) Mask {
	if p.Resize > 0 {
		w, h := ResizedSize(m.W, m.H, p.Resize)
		if p.Stretch {
			w, h = p.Resize, p.Resize
		}
		if w != m.W || h != m.H {
			m = m.ResizeNearest(w, h)
		}
	}
	if p.Crop > 0 {
		m = m.CenterCrop(p.Crop, p.Crop)
	}
	return m
}

// CheckSize returns an *Error naming name and wrapping ErrTooLarge if
// applying p to a w×h image would make an image of more than p.MaxPixels
// (default DefaultMaxPixels) pixels on the way: Resize scales the shorter
// side, so a long thin strip (say 10×100000) would grow to 256×2560000
// before the crop. Load and LoadMask check it; a caller of Decode and Apply
// should too. A w or h below 1 wraps ErrZeroSize.
func (p Preprocess) CheckSize(name string, w, h int) error {
	if w < 1 || h < 1 {
		return &Error{Name: name, Err: fmt.Errorf("%w: %d×%d", ErrZeroSize, w, h)}
	}
	limit := int64(p.MaxPixels)
	if limit <= 0 {
		limit = DefaultMaxPixels
	}
	rw, rh := w, h
	switch {
	case p.Resize > 0 && p.Stretch:
		rw, rh = p.Resize, p.Resize
	case p.Resize > 0:
		rw, rh = ResizedSize(w, h, p.Resize)
	}
	cw, ch := rw, rh
	if p.Crop > 0 {
		cw, ch = p.Crop, p.Crop
	}
	if n := max(int64(rw)*int64(rh), int64(cw)*int64(ch)); n > limit {
		return &Error{Name: name, Err: fmt.Errorf("%w: preprocessing (resize %d, crop %d) turns the %d×%d image into %d×%d, then %d×%d: over the limit of %d pixels",
			ErrTooLarge, p.Resize, p.Crop, w, h, rw, rh, cw, ch, limit)}
	}
	return nil
}

// Load decodes the image file at path (see Decode), converts it to RGB as
// PIL does and applies p. It refuses images that p would make too large
// (see CheckSize).
func Load(path string, p Preprocess) (RGB, error) {
	img, err := DecodeFile(path, p.MaxPixels)
	if err != nil {
		return RGB{}, err
	}
	if err := p.CheckSize(path, img.W, img.H); err != nil {
		return RGB{}, err
	}
	return p.Apply(img), nil
}

// LoadMask decodes a ground-truth mask in any format and mode, binarises it
// (a pixel is positive when any of its R, G, B after PIL's convert("RGB") is
// at least p.MaskThreshold, default 128) and applies p with nearest-neighbour
// resizing, so that it lines up pixel for pixel with Load(image, p).
//
// Thresholding at 128 rather than > 0 matters: the magnetic-tile masks are
// antialiased, with faint halos of small grey levels around each defect.
// Binarising before or after a nearest-neighbour resize gives the same mask.
func LoadMask(path string, p Preprocess) (Mask, error) {
	img, err := DecodeFile(path, p.MaxPixels)
	if err != nil {
		return Mask{}, err
	}
	if err := p.CheckSize(path, img.W, img.H); err != nil {
		return Mask{}, err
	}
	return p.ApplyMask(Binarize(img, p.MaskThreshold)), nil
}

// LoadMaskFor is LoadMask for the mask of the image file imagePath. A mask
// whose size differs from the image's (read from the image's header only)
// is refused with an *Error naming the mask and wrapping ErrMaskSize: it
// would be resized by its own aspect ratio and no longer line up with the
// image pixel for pixel.
func LoadMaskFor(maskPath, imagePath string, p Preprocess) (Mask, error) {
	w, h, err := DecodeConfigFile(imagePath)
	if err != nil {
		return Mask{}, err
	}
	img, err := DecodeFile(maskPath, p.MaxPixels)
	if err != nil {
		return Mask{}, err
	}
	if img.W != w || img.H != h {
		return Mask{}, &Error{Name: maskPath, Err: fmt.Errorf("%w: the mask is %d×%d, its image %s %d×%d", ErrMaskSize, img.W, img.H, imagePath, w, h)}
	}
	if err := p.CheckSize(maskPath, img.W, img.H); err != nil {
		return Mask{}, err
	}
	return p.ApplyMask(Binarize(img, p.MaskThreshold)), nil
}

// Binarize marks the pixels of img whose largest channel is at least
// threshold; 0 means 128.
func Binarize(img RGB, threshold uint8) Mask {
	if threshold == 0 {
		threshold = 128
	}
	m := Mask{W: img.W, H: img.H, Pix: make([]uint8, img.W*img.H)}
	for i := range m.Pix {
		p := img.Pix[3*i : 3*i+3 : 3*i+3]
		if p[0] >= threshold || p[1] >= threshold || p[2] >= threshold {
			m.Pix[i] = 1
		}
	}
	return m
}
