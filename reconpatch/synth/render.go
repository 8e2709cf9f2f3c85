package synth

import (
	"fmt"
	"image"
	"strings"
)

// ImageSeed returns the seed of one generated image: image index of split
// ("train/good", "test/good" or "test/<defect>") of category, for the data
// set's seed. Generate writes <category>/<split>/<index>.png as
// Render(category, defect, ImageSeed(seed, category, split, index), size),
// with defect "" for the good splits.
func ImageSeed(seed uint64, category, split string, index int) uint64 {
	h := mix(seed, hashString(category))
	h = mix(h, hashString(split))
	return mix(h, uint64(index))
}

// Render draws one image of category from an image seed (see ImageSeed): a
// good image when defectType is "" or "good", else the same image with that
// defect and its mask (0 or 255). Images are *image.Gray for grey categories
// and opaque *image.RGBA otherwise; the mask is nil for good images.
func Render(category, defectType string, seed uint64, size int) (image.Image, *image.Gray, error) {
	if err := checkSize(size); err != nil {
		return nil, nil, err
	}
	cat := lookup(category)
	if cat == nil {
		return nil, nil, unknownCategory(category)
	}
	var d *defect
	if defectType != "" && defectType != "good" {
		if d = cat.defect(defectType); d == nil {
			return nil, nil, unknownDefect(cat, defectType)
		}
	}
	c, m := render(cat, d, seed, size)
	img := c.toImage()
	if m == nil {
		return img, nil, nil
	}
	mask := image.NewGray(image.Rect(0, 0, size, size))
	copy(mask.Pix, m)
	return img, mask, nil
}

func checkSize(size int) error {
	if size < MinSize || size > MaxSize {
		return fmt.Errorf("synth: image size %d out of range [%d, %d]: %w", size, MinSize, MaxSize, ErrInvalidConfig)
	}
	return nil
}

func unknownCategory(name string) error {
	return fmt.Errorf("synth: unknown category %q (valid: %s): %w", name, strings.Join(categoryNames(), ", "), ErrUnknownCategory)
}

func unknownDefect(cat *category, name string) error {
	names := make([]string, len(cat.defects))
	for i, d := range cat.defects {
		names[i] = d.name
	}
	return fmt.Errorf("synth: category %s has no defect %q (valid: %s): %w", cat.name, name, strings.Join(names, ", "), ErrUnknownDefect)
}

// render draws an image's albedo, its defect (d may be nil) and the
// exposure; it returns the float image and the mask (0/255, nil for none).
func render(cat *category, d *defect, seed uint64, size int) (*canvas, []uint8) {
	sc := cat.newScene(newRNG(seed, streamScene), size)
	c := newCanvas(size, size, cat.ch)
	sc.paint(c, nil)
	var mask []uint8
	if d != nil {
		st := drawDefect(&env{size: size, cat: cat, sc: sc}, d, newRNG(seed, streamDefect))
		st.paint(c)
		mask = make([]uint8, size*size)
		for i, a := range st.alpha {
			if a >= maskThreshold {
				mask[i] = 255
			}
		}
	}
	expose(c, &cat.look, newRNG(seed, streamLight), newRNG(seed, streamNoise))
	return c, mask
}

// drawDefect draws shapes until one's area is in [minDefectArea,
// maxDefectArea], keeping the closest one if none is after a few tries.
func drawDefect(e *env, d *defect, r *rng) stroke {
	var best stroke
	bestMiss := float32(2)
	for try := 0; try < 40; try++ {
		st := d.make(e, r)
		if !st.ok {
			continue
		}
		a := st.area()
		miss := max(minDefectArea-a, a-maxDefectArea, 0)
		if miss < bestMiss {
			best, bestMiss = st, miss
		}
		if miss == 0 {
			break
		}
	}
	if !best.ok { // unreachable for the built-in defects: an empty mask
		return stroke{alpha: make([]float32, e.size*e.size), paint: func(*canvas) {}}
	}
	return best
}
