package imageio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary bytes through decoding and the whole
// preprocessing chain. Decoding may fail, but only with an *Error; what
// decodes must come out with consistent sizes. The seed corpus is every
// source image in testdata plus truncated copies, so plain `go test` runs it.
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		name := filepath.Base(p)
		if strings.Contains(name, ".want.") || strings.Contains(name, ".tv_") || strings.Contains(name, ".mask_") ||
			strings.Contains(name, ".resize_") || strings.Contains(name, ".nearest_") ||
			strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".f32") || strings.HasPrefix(name, "real") {
			continue
		}
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			continue // testdata/fuzz: the fuzzer's own corpus
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 64<<10 {
			continue
		}
		f.Add(b)
		f.Add(b[:len(b)*2/3])
	}
	f.Add([]byte{})
	f.Add([]byte("GIF89a"))

	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 16 // small images keep each input fast
		img, err := Decode(bytes.NewReader(data), "fuzz", limit)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			return
		}
		if img.W <= 0 || img.H <= 0 || img.W*img.H > limit || len(img.Pix) != img.W*img.H*3 {
			t.Fatalf("decoded %d×%d with %d bytes", img.W, img.H, len(img.Pix))
		}
		// Resize(9) of a 1×65536 strip would be 9×589824: CheckSize
		// refuses it, as Load does.
		p := Preprocess{Resize: 9, Crop: 7, MaxPixels: limit}
		if err := p.CheckSize("fuzz", img.W, img.H); err != nil {
			if !errors.Is(err, ErrTooLarge) || max(img.W, img.H) <= 64*min(img.W, img.H) {
				t.Fatalf("CheckSize(%d×%d): %v", img.W, img.H, err)
			}
			return
		}
		out := p.Apply(img)
		if out.W != 7 || out.H != 7 || len(out.Pix) != 7*7*3 {
			t.Fatalf("preprocessed to %d×%d", out.W, out.H)
		}
		if s := ToTensor(out, ImageNet).Shape(); s[0] != 3 || s[1] != 7 || s[2] != 7 {
			t.Fatalf("tensor shape %v", s)
		}
		m := p.ApplyMask(Binarize(img, 0))
		if m.W != 7 || m.H != 7 || len(m.Pix) != 49 {
			t.Fatalf("mask %d×%d", m.W, m.H)
		}
	})
}
