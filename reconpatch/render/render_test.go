package render

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/reconpatch/rp/reconpatch/imageio"
)

func luminance(c [3]uint8) float64 {
	return 0.2126*float64(c[0]) + 0.7152*float64(c[1]) + 0.0722*float64(c[2])
}

// The colour map gets brighter from one end to the other, so that higher
// scores always read as brighter, and its ends are far apart.
func TestColormapLuminance(t *testing.T) {
	for i := 1; i < len(inferno); i++ {
		// Rounding each channel may cost up to 0.5 level of luminance.
		if luminance(inferno[i]) < luminance(inferno[i-1])-0.5 {
			t.Errorf("luminance falls from entry %d %v to %d %v", i-1, inferno[i-1], i, inferno[i])
		}
	}
	if lo, hi := luminance(inferno[0]), luminance(inferno[255]); hi-lo < 200 {
		t.Errorf("ends %v and %v: luminance %.0f to %.0f", inferno[0], inferno[255], lo, hi)
	}
}

func TestHeatmap(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	tests := []struct {
		name   string
		v      float32
		lo, hi float32
		want   int // colour map entry
	}{
		{"at lo", 1, 1, 3, 0},
		{"below lo", -5, 1, 3, 0},
		{"middle", 2, 1, 3, 128},
		{"at hi", 3, 1, 3, 255},
		{"above hi", 30, 1, 3, 255},
		{"NaN", nan, 1, 3, 0},
		{"+Inf", inf, 1, 3, 255},
		{"empty range, below", 0.5, 1, 1, 0},
		{"empty range, at", 1, 1, 1, 255},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := Heatmap([]float32{tt.v, tt.v}, 2, 1, tt.lo, tt.hi)
			if img.W != 2 || img.H != 1 {
				t.Fatalf("size %d×%d", img.W, img.H)
			}
			r, g, b := img.RGBAt(1, 0)
			if got := [3]uint8{r, g, b}; got != inferno[tt.want] {
				t.Errorf("colour %v, want entry %d %v", got, tt.want, inferno[tt.want])
			}
		})
	}
}

func TestOverlay(t *testing.T) {
	img := imageio.RGB{W: 2, H: 1, Pix: []uint8{0, 100, 255, 10, 20, 30}}
	heat := imageio.RGB{W: 2, H: 1, Pix: []uint8{255, 200, 0, 10, 20, 30}}
	tests := []struct {
		alpha float32
		want  []uint8
	}{
		{0, img.Pix},
		{1, heat.Pix},
		{0.5, []uint8{128, 150, 128, 10, 20, 30}},
		{0.25, []uint8{64, 125, 191, 10, 20, 30}},
		{-1, img.Pix}, // clamped
		{2, heat.Pix},
	}
	for _, tt := range tests {
		got := Overlay(img, heat, tt.alpha)
		if !bytes.Equal(got.Pix, tt.want) {
			t.Errorf("alpha %g: %v, want %v", tt.alpha, got.Pix, tt.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("no panic for images of different sizes")
		}
	}()
	Overlay(img, imageio.NewRGB(1, 2), 0.5)
}

func TestMask(t *testing.T) {
	m := []float32{0, 0.5, 0.50001, 2, float32(math.NaN()), -1}
	tests := []struct {
		threshold float32
		want      []uint8
	}{
		{0.5, []uint8{0, 0, 255, 255, 0, 0}},
		{-2, []uint8{255, 255, 255, 255, 0, 255}},
		{10, []uint8{0, 0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		got := Mask(m, 3, 2, tt.threshold)
		if got.Bounds() != image.Rect(0, 0, 3, 2) || !bytes.Equal(got.Pix, tt.want) {
			t.Errorf("threshold %g: %v %v, want %v", tt.threshold, got.Bounds(), got.Pix, tt.want)
		}
	}
}

func TestMap16RoundTrip(t *testing.T) {
	tests := []struct {
		name string
		m    []float32
	}{
		{"scores", []float32{0, 0.1, 1.2345, 3.3, 7.77, 2.5e-3}},
		{"small", []float32{1e-6, 2e-6, 3e-7, 0, 0, 0}},
		{"large", []float32{1e4, 5e3, 1, 0.5, 1234.5, 9999}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, scale := Map16(tt.m, 3, 2)
			if img.Bounds() != image.Rect(0, 0, 3, 2) {
				t.Fatalf("bounds %v", img.Bounds())
			}
			maxPix := uint16(0)
			for i, v := range tt.m {
				p := img.Gray16At(i%3, i/3).Y
				maxPix = max(maxPix, p)
				if got := float32(p) / scale; math.Abs(float64(got-v)) > 1/float64(scale) {
					t.Errorf("value %g decodes as %g (pixel %d, scale %g)", v, got, p, scale)
				}
			}
			if maxPix != 65535 {
				t.Errorf("largest pixel %d, want 65535", maxPix)
			}
		})
	}
	// Degenerate maps: no positive value; a fixed scale clamps.
	if img, scale := Map16([]float32{0, -1}, 2, 1); scale != 1 || img.Pix[0]|img.Pix[1]|img.Pix[2]|img.Pix[3] != 0 {
		t.Errorf("non-positive map: scale %g, pixels %v", scale, img.Pix)
	}
	img := Map16Scale([]float32{1, 100, float32(math.NaN()), float32(math.Inf(1))}, 4, 1, 1000)
	for x, want := range []uint16{1000, 65535, 0, 65535} {
		if got := img.Gray16At(x, 0).Y; got != want {
			t.Errorf("Map16Scale pixel %d = %d, want %d", x, got, want)
		}
	}
}

func TestWritePNG(t *testing.T) {
	dir := t.TempDir()
	m := []float32{0, 0.25, 0.5, 1, 2, 4}
	heat := Heatmap(m, 3, 2, 0, 4)
	m16, scale := Map16(m, 3, 2)
	mask := Mask(m, 3, 2, 0.5)
	files := []struct {
		name string
		img  image.Image
	}{
		{"heat.png", heat},
		{"mask.png", mask},
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := WritePNG(path, f.img); err != nil {
			t.Fatal(err)
		}
		got := decode(t, path)
		if got.Bounds() != f.img.Bounds() {
			t.Errorf("%s: bounds %v", f.name, got.Bounds())
		}
		for y := range 2 {
			for x := range 3 {
				r0, g0, b0, _ := f.img.At(x, y).RGBA()
				r1, g1, b1, _ := got.At(x, y).RGBA()
				if r0 != r1 || g0 != g1 || b0 != b1 {
					t.Errorf("%s: pixel (%d,%d) differs", f.name, x, y)
				}
			}
		}
	}
	path := filepath.Join(dir, "map.png")
	if err := WriteMap16(path, m16, scale); err != nil {
		t.Fatal(err)
	}
	g, ok := decode(t, path).(*image.Gray16)
	if !ok {
		t.Fatalf("map decodes as %T, want *image.Gray16", decode(t, path))
	}
	s, err := ReadMapScale(path)
	if err != nil || s != scale {
		t.Fatalf("ReadMapScale = %g, %v; want %g", s, err, scale)
	}
	for i, v := range m {
		if got := float32(g.Gray16At(i%3, i/3).Y) / s; math.Abs(float64(got-v)) > 1/float64(s) {
			t.Errorf("value %g reads back as %g", v, got)
		}
	}
	if _, err := ReadMapScale(filepath.Join(dir, "heat.png")); err == nil {
		t.Error("ReadMapScale found a scale in a PNG without one")
	}
	// No temporary files are left behind; a missing folder is an error naming the path.
	if ents, _ := os.ReadDir(dir); len(ents) != 3 {
		t.Errorf("%d files in the folder, want 3", len(ents))
	}
	bad := filepath.Join(dir, "nope", "x.png")
	if err := WritePNG(bad, heat); err == nil || !bytes.Contains([]byte(err.Error()), []byte(bad)) {
		t.Errorf("writing into a missing folder: %v", err)
	}
}

func decode(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}
