package imageio

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestPipelineMatchesTorchvision(t *testing.T) {
	for _, c := range casesOf(t, "pipeline") {
		t.Run(fmt.Sprintf("%s/r%d_c%d", c.Src, c.Resize, c.Crop), func(t *testing.T) {
			got, err := Load(testdata(c.Src), Preprocess{Resize: c.Resize, Crop: c.Crop})
			if err != nil {
				t.Fatal(err)
			}
			if d := compare(t, got, mustDecode(t, c.Want)); d.differ != 0 {
				t.Errorf("%d of %d values differ from torchvision (max %d)", d.differ, d.n, d.max)
			}
		})
	}
}

func maskFromRGB(img RGB) Mask {
	m := Mask{W: img.W, H: img.H, Pix: make([]uint8, img.W*img.H)}
	for i := range m.Pix {
		if img.Pix[3*i] != 0 {
			m.Pix[i] = 1
		}
	}
	return m
}

func compareMask(t *testing.T, got, want Mask) {
	t.Helper()
	if got.W != want.W || got.H != want.H {
		t.Fatalf("mask %d×%d, want %d×%d", got.W, got.H, want.W, want.H)
	}
	n := 0
	for i := range want.Pix {
		if got.Pix[i] != want.Pix[i] {
			n++
		}
	}
	if n != 0 {
		t.Errorf("%d of %d mask pixels differ", n, len(want.Pix))
	}
}

func TestMaskMatchesTorchvision(t *testing.T) {
	for _, c := range casesOf(t, "mask") {
		t.Run(fmt.Sprintf("%s/r%d_c%d", c.Src, c.Resize, c.Crop), func(t *testing.T) {
			got, err := LoadMask(testdata(c.Src), Preprocess{Resize: c.Resize, Crop: c.Crop})
			if err != nil {
				t.Fatal(err)
			}
			compareMask(t, got, maskFromRGB(mustDecode(t, c.Want)))
		})
	}
}

func TestBinarizeThreshold(t *testing.T) {
	img := NewRGB(5, 1)
	copy(img.Pix, []uint8{0, 0, 0, 127, 127, 127, 128, 0, 0, 0, 0, 255, 1, 0, 0})
	for _, tt := range []struct {
		thr  uint8
		want string
	}{{0, "[0 0 1 1 0]"}, {128, "[0 0 1 1 0]"}, {1, "[0 1 1 1 1]"}, {255, "[0 0 0 1 0]"}} {
		if got := fmt.Sprint(Binarize(img, tt.thr).Pix); got != tt.want {
			t.Errorf("threshold %d: %s, want %s", tt.thr, got, tt.want)
		}
	}
}

func TestPreprocessIdentity(t *testing.T) {
	src := mustDecode(t, "rgb.png")
	got := Preprocess{}.Apply(src)
	if got.W != src.W || got.H != src.H || &got.Pix[0] != &src.Pix[0] {
		t.Fatal("the zero Preprocess must leave the image alone")
	}
}

// datasetDir is the shared magnetic-tile data set, relative to the package
// directory (the repository's sibling ../shared).
var datasetDir = filepath.Join("..", "..", "..", "shared", "datasets", "magnetic-tile")

// The real data: grey JPEGs of assorted sizes, decoded, resized and
// cropped exactly as PIL and torchvision do.
func TestMagneticTileMatchesPIL(t *testing.T) {
	if _, err := os.Stat(datasetDir); err != nil {
		t.Skipf("magnetic-tile data set not found at %s", datasetDir)
	}
	for _, c := range casesOf(t, "real") {
		t.Run(c.Src, func(t *testing.T) {
			path := filepath.Join(datasetDir, filepath.FromSlash(c.Src))
			if c.Decoded != "" {
				img, err := DecodeFile(path, 0)
				if err != nil {
					t.Fatal(err)
				}
				d := compare(t, img, mustDecode(t, c.Decoded))
				t.Logf("decode %d×%d: exact %.2f%%, max diff %d", img.W, img.H, 100*d.exactRate(), d.max)
				if d.differ != 0 {
					t.Errorf("decode: %d of %d values differ from PIL (max %d)", d.differ, d.n, d.max)
				}
			}
			got, err := Load(path, Preprocess{Resize: c.Resize, Crop: c.Crop})
			if err != nil {
				t.Fatal(err)
			}
			d := compare(t, got, mustDecode(t, c.Want))
			t.Logf("%v → Resize(%d) + CenterCrop(%d): exact %.2f%%, max diff %d", c.Size, c.Resize, c.Crop, 100*d.exactRate(), d.max)
			if d.differ != 0 {
				t.Errorf("pipeline: %d of %d values differ from PIL (max %d)", d.differ, d.n, d.max)
			}
		})
	}
	for _, c := range casesOf(t, "realmask") {
		got, err := LoadMask(filepath.Join(datasetDir, filepath.FromSlash(c.Src)), Preprocess{Resize: c.Resize, Crop: c.Crop})
		if err != nil {
			t.Fatal(err)
		}
		compareMask(t, got, maskFromRGB(mustDecode(t, c.Want)))
		if got.Positives() == 0 {
			t.Error("the blowhole mask has no positive pixel")
		}
	}
}

func TestTensorMatchesTorch(t *testing.T) {
	norms := map[string]Normalization{"imagenet": ImageNet, "keras": KerasCaffe}
	for _, c := range casesOf(t, "tensor") {
		t.Run(c.Name+"/"+c.Norm, func(t *testing.T) {
			norm := norms[c.Norm]
			want := readF32(t, c.Want, prod(c.Shape))
			var got []float32
			switch c.Name {
			case "lut":
				ramp := NewRGB(256, 1)
				for v := 0; v < 256; v++ {
					ramp.Pix[3*v], ramp.Pix[3*v+1], ramp.Pix[3*v+2] = uint8(v), uint8(v), uint8(v)
				}
				tt := ToTensor(ramp, norm)
				if s := fmt.Sprint(tt.Shape()); s != "[3 1 256]" {
					t.Fatalf("shape %s", s)
				}
				got = tt.Data()
			case "batch":
				var imgs []RGB
				for _, s := range c.Srcs {
					img, err := Load(testdata(s), Preprocess{Resize: c.Resize, Crop: c.Crop})
					if err != nil {
						t.Fatal(err)
					}
					imgs = append(imgs, img)
				}
				bt, err := Batch(imgs, norm)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(bt.Shape()) != fmt.Sprint(c.Shape) {
					t.Fatalf("shape %v, want %v", bt.Shape(), c.Shape)
				}
				got = bt.Data()
				one := ToTensor(imgs[1], norm).Data()
				for i, v := range one {
					if got[len(one)+i] != v {
						t.Fatal("Batch and ToTensor disagree")
					}
				}
			}
			bad := 0
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					if bad < 3 {
						t.Errorf("value %d: %v, torch %v", i, got[i], want[i])
					}
					bad++
				}
			}
			if bad != 0 {
				t.Errorf("%d of %d values differ from torch in their bits", bad, len(want))
			}
		})
	}
}

func TestBatchErrors(t *testing.T) {
	if _, err := Batch(nil, ImageNet); err == nil {
		t.Error("Batch of nothing succeeded")
	}
	if _, err := Batch([]RGB{NewRGB(2, 2), NewRGB(2, 3)}, ImageNet); err == nil {
		t.Error("Batch of mixed sizes succeeded")
	}
}

func TestNormalizationZeroValue(t *testing.T) {
	img := NewRGB(1, 1)
	copy(img.Pix, []uint8{7, 8, 9})
	if got := fmt.Sprint(ToTensor(img, Normalization{}).Data()); got != "[7 8 9]" {
		t.Errorf("zero Normalization: %s", got)
	}
	if got := fmt.Sprint(ToTensor(img, Normalization{BGR: true, Divisor: 0.5, Std: [3]float32{1, 2, 1}}).Data()); got != "[18 8 14]" {
		t.Errorf("BGR, divisor 0.5, std 2 on G: %s", got)
	}
}

// TestPreprocessStretch checks the no-crop setting: both sides resized to
// Resize (the same as Resize to that exact size), masks alike with nearest
// neighbour, no crop.
func TestPreprocessStretch(t *testing.T) {
	src := mustDecode(t, "rgb.png")
	p := Preprocess{Resize: 24, Stretch: true}
	got := p.Apply(src)
	want := Resize(src, 24, 24)
	if got.W != 24 || got.H != 24 || string(got.Pix) != string(want.Pix) {
		t.Fatalf("stretched image %d×%d differs from Resize to 24×24", got.W, got.H)
	}
	m := Binarize(src, 100)
	gm := p.ApplyMask(m)
	if wm := m.ResizeNearest(24, 24); gm.W != 24 || gm.H != 24 || string(gm.Pix) != string(wm.Pix) {
		t.Fatalf("stretched mask %d×%d differs from nearest resize to 24×24", gm.W, gm.H)
	}
}
