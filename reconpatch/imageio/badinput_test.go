package imageio

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// encodePNG encodes img as PNG.
func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// filled returns a w×h image of the given kind, every pixel set by set.
func filled[I interface {
	image.Image
	Set(x, y int, c color.Color)
}](img I, c color.Color) I {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			img.Set(x, y, c)
		}
	}
	return img
}

// TestLoadOddImages loads, with the default preprocessing, images a data
// set may hold besides 8-bit RGB: each either loads as a 224×224 RGB image
// with the colour PIL's convert("RGB") gives, or is refused with an *Error
// naming the file and saying why.
func TestLoadOddImages(t *testing.T) {
	r := image.Rect(0, 0, 6, 4)
	var grey bytes.Buffer
	if err := jpeg.Encode(&grey, filled(image.NewGray(r), color.Gray{Y: 90}), &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	good := encodePNG(t, filled(image.NewRGBA(r), color.RGBA{10, 20, 30, 255}))
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-20] ^= 0xff // inside the IDAT

	tests := []struct {
		name string
		data []byte
		want error       // nil: loads
		rgb  [3]uint8    // on success, the centre pixel
		msg  string      // on failure, a substring of the error
		pre  *Preprocess // nil: {Resize: 256, Crop: 224}
		size [2]int      // on success, if not 224×224
	}{
		{name: "1x1.png", data: encodePNG(t, filled(image.NewRGBA(image.Rect(0, 0, 1, 1)), color.RGBA{200, 100, 50, 255})), rgb: [3]uint8{200, 100, 50}},
		{name: "1x1-nocrop.png", data: encodePNG(t, filled(image.NewGray(image.Rect(0, 0, 1, 1)), color.Gray{7})), rgb: [3]uint8{7, 7, 7}, pre: &Preprocess{}, size: [2]int{1, 1}},
		{name: "grey.png", data: encodePNG(t, filled(image.NewGray(r), color.Gray{Y: 77})), rgb: [3]uint8{77, 77, 77}},
		{name: "grey.jpg", data: grey.Bytes(), rgb: [3]uint8{90, 90, 90}},
		// Alpha is dropped, not composited: a transparent pixel keeps its colour.
		{name: "rgba.png", data: encodePNG(t, filled(image.NewNRGBA(r), color.NRGBA{40, 80, 120, 0})), rgb: [3]uint8{40, 80, 120}},
		// 16-bit colour keeps the high byte; 16-bit grey is clipped to 255 (as PIL does).
		{name: "rgb16.png", data: encodePNG(t, filled(image.NewRGBA64(r), color.RGBA64{0x1234, 0x5678, 0x9abc, 0xffff})), rgb: [3]uint8{0x12, 0x56, 0x9a}},
		{name: "grey16.png", data: encodePNG(t, filled(image.NewGray16(r), color.Gray16{Y: 100})), rgb: [3]uint8{100, 100, 100}},
		{name: "grey16-bright.png", data: encodePNG(t, filled(image.NewGray16(r), color.Gray16{Y: 40000})), rgb: [3]uint8{255, 255, 255}},
		{name: "cmyk.jpg", data: readFixture(t, "cmyk.jpg")},
		{name: "huge.png", data: pngHeader(20000, 20000), want: ErrTooLarge, msg: "20000×20000 = 400000000 pixels, over the limit of 100000000"},
		{name: "strip.png", data: encodePNG(t, image.NewGray(image.Rect(0, 0, 1, 200000))), want: ErrTooLarge, msg: "turns the 1×200000 image into 256×51200000"},
		{name: "zero.png", data: pngHeader(0, 10), want: ErrZeroSize},
		{name: "notes.png", data: []byte("these are not pixels\n"), want: ErrNotImage, msg: "unknown format"},
		{name: "empty.png", data: nil, want: ErrNotImage, msg: "empty file"},
		{name: "corrupt.png", data: corrupt, want: ErrCorrupt},
		{name: "truncated.png", data: good[:len(good)/2], want: ErrTruncated},
		{name: "truncated.jpg", data: grey.Bytes()[:grey.Len()/2], want: ErrTruncated},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			pre := Preprocess{Resize: 256, Crop: 224}
			if tt.pre != nil {
				pre = *tt.pre
			}
			img, err := Load(path, pre)
			if tt.want != nil {
				var e *Error
				if !errors.Is(err, tt.want) || !errors.As(err, &e) || e.Name != path ||
					!strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.msg) {
					t.Fatalf("Load = %v, want an *Error naming %s, wrapping %v and saying %q", err, path, tt.want, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			w, h := 224, 224
			if tt.size != [2]int{} {
				w, h = tt.size[0], tt.size[1]
			}
			if img.W != w || img.H != h || len(img.Pix) != 3*w*h {
				t.Fatalf("loaded %d×%d (%d bytes), want %d×%d", img.W, img.H, len(img.Pix), w, h)
			}
			if tt.rgb != [3]uint8{} {
				i := 3 * (h/2*w + w/2)
				if got := [3]uint8(img.Pix[i : i+3]); got != tt.rgb {
					t.Errorf("centre pixel %v, want %v", got, tt.rgb)
				}
			}
			// The mask path reads every image the same way.
			m, err := LoadMask(path, pre)
			if err != nil || m.W != w || m.H != h {
				t.Errorf("LoadMask: %d×%d, %v", m.W, m.H, err)
			}
		})
	}
}

// TestLoadMaskFor: a mask must have its image's size; any other size is
// refused with an error naming the mask, the image and both sizes.
func TestLoadMaskFor(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mask := func(w, h int) []byte {
		m := image.NewGray(image.Rect(0, 0, w, h))
		for x := range w / 2 {
			for y := range h {
				m.SetGray(x, y, color.Gray{255})
			}
		}
		return encodePNG(t, m)
	}
	img := write("000.png", encodePNG(t, image.NewRGBA(image.Rect(0, 0, 40, 30))))
	tests := []struct {
		name  string
		mask  []byte
		image string
		want  error
		msg   string
	}{
		{"same size", mask(40, 30), img, nil, ""},
		{"transposed", mask(30, 40), img, ErrMaskSize, "the mask is 30×40, its image " + img + " 40×30"},
		{"half size", mask(20, 15), img, ErrMaskSize, "20×15"},
		{"1x1", mask(1, 1), img, ErrMaskSize, "1×1"},
		{"not an image", []byte("mask"), img, ErrNotImage, ""},
		{"image not an image", mask(40, 30), write("bad.png", []byte("x")), ErrNotImage, "bad.png"},
		{"image missing", mask(40, 30), filepath.Join(dir, "missing.png"), os.ErrNotExist, "missing.png"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp := write(strings.ReplaceAll(tt.name, " ", "_")+"_mask.png", tt.mask)
			pre := Preprocess{Resize: 32, Crop: 24}
			m, err := LoadMaskFor(mp, tt.image, pre)
			if tt.want == nil {
				if err != nil || m.W != 24 || m.H != 24 || m.Positives() == 0 {
					t.Fatalf("LoadMaskFor = %d×%d, %v", m.W, m.H, err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("LoadMaskFor = %v, want %v saying %q", err, tt.want, tt.msg)
			}
			if i < 5 && !strings.Contains(err.Error(), mp) {
				t.Errorf("error %q does not name the mask", err)
			}
		})
	}
}

// TestCheckSize covers the preprocessing size rule on its own.
func TestCheckSize(t *testing.T) {
	tests := []struct {
		p    Preprocess
		w, h int
		want error
	}{
		{Preprocess{Resize: 256, Crop: 224}, 1, 1, nil},
		{Preprocess{Resize: 256, Crop: 224}, 100, 39000, nil},         // 256×99840
		{Preprocess{Resize: 256, Crop: 224}, 10, 100000, ErrTooLarge}, // 256×2560000
		{Preprocess{Resize: 256, Crop: 224, MaxPixels: 50000}, 256, 256, ErrTooLarge},
		{Preprocess{Resize: 256, Stretch: true}, 10, 100000, nil},
		{Preprocess{Crop: 20000}, 10, 10, ErrTooLarge}, // padding to 20000×20000
		{Preprocess{}, 10000, 10000, nil},
		{Preprocess{}, 0, 10, ErrZeroSize},
	}
	for _, tt := range tests {
		if err := tt.p.CheckSize("x.png", tt.w, tt.h); !errors.Is(err, tt.want) || (err != nil && !strings.Contains(err.Error(), "x.png")) {
			t.Errorf("%+v.CheckSize(%d×%d) = %v, want %v", tt.p, tt.w, tt.h, err, tt.want)
		}
	}
}
