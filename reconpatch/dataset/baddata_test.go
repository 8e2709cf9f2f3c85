package dataset_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconpatch/rp/reconpatch/dataset"
	"github.com/reconpatch/rp/reconpatch/imageio"
)

func pngOf(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestBadDataSets opens data sets with problems and loads every listed
// image and mask as training and evaluation do (imageio.Load,
// imageio.LoadMaskFor, default preprocessing). Each problem is either
// handled — listed, skipped with a warning naming the file, or loaded — or
// refused with an error naming the file or folder.
func TestBadDataSets(t *testing.T) {
	rgb := func(w, h int) []byte { return pngOf(t, image.NewRGBA(image.Rect(0, 0, w, h))) }
	grey16 := pngOf(t, image.NewGray16(image.Rect(0, 0, 12, 9)))
	rgba := pngOf(t, image.NewNRGBA(image.Rect(0, 0, 12, 9)))
	mask := func(w, h int) []byte {
		m := image.NewGray(image.Rect(0, 0, w, h))
		m.SetGray(w/2, h/2, color.Gray{255})
		return pngOf(t, m)
	}
	cmyk, err := os.ReadFile(filepath.Join("..", "imageio", "testdata", "cmyk.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	// A PNG signature and IHDR declaring 20000×20000 px, and no data.
	ihdr := []byte("IHDR\x00\x00\x4e\x20\x00\x00\x4e\x20\x08\x02\x00\x00\x00")
	huge := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0d"), ihdr...)
	huge = binary.BigEndian.AppendUint32(huge, crc32.ChecksumIEEE(ihdr))
	corrupt := rgb(12, 9)
	corrupt[len(corrupt)-20] ^= 0xff

	base := map[string][]byte{
		"train/good/000.png":              rgb(12, 9),
		"train/good/001.png":              rgb(12, 9),
		"test/good/002.png":               rgb(12, 9),
		"test/crack/003.png":              rgb(12, 9),
		"ground_truth/crack/003_mask.png": mask(12, 9),
	}
	tests := []struct {
		name     string
		files    map[string][]byte // added to base; a nil value removes the file
		openErr  error             // Open fails with it, naming openPath
		openPath string
		loadErr  error // loading one listed file fails with it, naming loadPath
		loadPath string
		warning  string // a warning naming this file
		noPixel  int    // defect samples without pixel truth
	}{
		{name: "clean"},
		{name: "empty train/good", files: map[string][]byte{"train/good/000.png": nil, "train/good/001.png": nil},
			openErr: dataset.ErrNoImages, openPath: "train/good"},
		{name: "only text in train/good", files: map[string][]byte{"train/good/000.png": nil, "train/good/001.png": nil, "train/good/notes.txt": []byte("x")},
			openErr: dataset.ErrNoImages, openPath: "train/good"},
		{name: "text file beside images", files: map[string][]byte{"train/good/notes.txt": []byte("x"), "train/good/Thumbs.db": {0}},
			warning: "train/good/notes.txt"},
		{name: "text file named .png", files: map[string][]byte{"train/good/notes.png": []byte("not pixels")},
			loadErr: imageio.ErrNotImage, loadPath: "train/good/notes.png"},
		{name: "empty .png", files: map[string][]byte{"train/good/empty.png": {}},
			loadErr: imageio.ErrNotImage, loadPath: "train/good/empty.png"},
		{name: "corrupt png", files: map[string][]byte{"train/good/bad.png": corrupt},
			loadErr: imageio.ErrCorrupt, loadPath: "train/good/bad.png"},
		{name: "truncated png", files: map[string][]byte{"test/good/cut.png": rgb(12, 9)[:40]},
			loadErr: imageio.ErrTruncated, loadPath: "test/good/cut.png"},
		{name: "huge png", files: map[string][]byte{"train/good/huge.png": huge},
			loadErr: imageio.ErrTooLarge, loadPath: "train/good/huge.png"},
		{name: "1x1 images", files: map[string][]byte{"train/good/000.png": rgb(1, 1), "test/crack/003.png": rgb(1, 1), "ground_truth/crack/003_mask.png": mask(1, 1)}},
		{name: "16-bit, RGBA and CMYK", files: map[string][]byte{"train/good/g16.png": grey16, "train/good/rgba.png": rgba, "test/good/cmyk.jpg": cmyk}},
		{name: "defect folder without masks", files: map[string][]byte{"test/hole/004.png": rgb(12, 9), "test/hole/005.png": rgb(12, 9)},
			warning: "test/hole/004.png", noPixel: 2},
		{name: "mask of another size", files: map[string][]byte{"ground_truth/crack/003_mask.png": mask(9, 12)},
			loadErr: imageio.ErrMaskSize, loadPath: "ground_truth/crack/003_mask.png"},
		{name: "mask not an image", files: map[string][]byte{"ground_truth/crack/003_mask.png": []byte("nope")},
			loadErr: imageio.ErrNotImage, loadPath: "ground_truth/crack/003_mask.png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			files := map[string][]byte{}
			for k, v := range base {
				files[k] = v
			}
			for k, v := range tt.files {
				if v == nil {
					delete(files, k)
				} else {
					files[k] = v
				}
			}
			for name, b := range files {
				p := filepath.Join(root, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			os.MkdirAll(filepath.Join(root, "train", "good"), 0o755)
			d, err := dataset.Open(root)
			if tt.openErr != nil {
				want := filepath.Join(root, filepath.FromSlash(tt.openPath))
				if !errors.Is(err, tt.openErr) || !strings.Contains(err.Error(), want) {
					t.Fatalf("Open = %v, want %v naming %s", err, tt.openErr, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.warning != "" {
				want := filepath.Join(root, filepath.FromSlash(tt.warning))
				found := false
				for _, w := range d.Warnings {
					found = found || w.Path == want
				}
				if !found {
					t.Errorf("no warning about %s in %v", want, d.Warnings)
				}
			}
			noPixel := 0
			for _, s := range d.Test {
				if !s.HasPixelTruth() {
					noPixel++
				}
			}
			if noPixel != tt.noPixel {
				t.Errorf("%d test images without pixel truth, want %d", noPixel, tt.noPixel)
			}

			// Load everything as Fit and Evaluate do; collect the errors.
			pre := imageio.Preprocess{Resize: 32, Crop: 24}
			var errs []error
			for _, s := range append(append(d.Train, d.Validation...), d.Test...) {
				img, err := imageio.Load(s.Path, pre)
				if err == nil && (img.W != 24 || img.H != 24) {
					t.Errorf("%s loaded as %d×%d", s.Path, img.W, img.H)
				}
				if err == nil && s.MaskPath != "" {
					_, err = imageio.LoadMaskFor(s.MaskPath, s.Path, pre)
				}
				if err != nil {
					errs = append(errs, err)
				}
			}
			if tt.loadErr == nil {
				if len(errs) > 0 {
					t.Fatalf("loading: %v", errs)
				}
				return
			}
			want := filepath.Join(root, filepath.FromSlash(tt.loadPath))
			if len(errs) != 1 || !errors.Is(errs[0], tt.loadErr) || !strings.Contains(errs[0].Error(), want) {
				t.Fatalf("loading: %v, want one error %v naming %s", errs, tt.loadErr, want)
			}
			t.Log(errs[0])
		})
	}
}
