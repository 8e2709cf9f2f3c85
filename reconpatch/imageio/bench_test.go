package imageio

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func randomRGB(w, h int, gray bool) RGB {
	r := rand.New(rand.NewPCG(1, 2))
	img := NewRGB(w, h)
	for i := 0; i < w*h; i++ {
		v := uint8(r.IntN(256))
		img.Pix[3*i], img.Pix[3*i+1], img.Pix[3*i+2] = v, v, v
		if !gray {
			img.Pix[3*i+1], img.Pix[3*i+2] = uint8(r.IntN(256)), uint8(r.IntN(256))
		}
	}
	return img
}

// BenchmarkResize: torchvision Resize(size) of an image, colour and grey
// (a grey image is resampled on one channel).
func BenchmarkResize(b *testing.B) {
	for _, tc := range []struct{ w, h, size int }{{630, 400, 256}, {240, 289, 256}, {1024, 1024, 256}, {256, 256, 366}} {
		for _, gray := range []bool{false, true} {
			name := fmt.Sprintf("%dx%dto%d", tc.w, tc.h, tc.size)
			if gray {
				name += "/gray"
			}
			img := randomRGB(tc.w, tc.h, gray)
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(img.Pix)))
				for b.Loop() {
					ResizeShorter(img, tc.size)
				}
			})
		}
	}
}

func BenchmarkToTensor(b *testing.B) {
	img := randomRGB(224, 224, false)
	b.Run("224x224", func(b *testing.B) {
		for b.Loop() {
			ToTensor(img, ImageNet)
		}
	})
}

// BenchmarkLoad: decode + Resize(256) + CenterCrop(224) of a 240×289
// magnetic-tile JPEG.
func BenchmarkLoad(b *testing.B) {
	path := filepath.Join(datasetDir, "train", "good", "exp0_num_743.jpg")
	if _, err := os.Stat(path); err != nil {
		b.Skip("magnetic-tile data set not found")
	}
	b.Run("240x289to256crop224", func(b *testing.B) {
		for b.Loop() {
			if _, err := Load(path, Preprocess{Resize: 256, Crop: 224}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecodeJPEG: rp's libjpeg-exact decoder beside image/jpeg on a
// 1024×768 4:2:0 colour JPEG (smooth content plus noise, quality 90) and
// on the same picture in grey.
func BenchmarkDecodeJPEG(b *testing.B) {
	for _, gray := range []bool{false, true} {
		src := randomRGB(1024, 768, gray)
		var m image.Image = src
		if gray {
			g := image.NewGray(src.Bounds())
			for i := range g.Pix {
				g.Pix[i] = src.Pix[3*i]
			}
			m = g
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90}); err != nil {
			b.Fatal(err)
		}
		data := buf.Bytes()
		name := "1024x768"
		if gray {
			name += "/gray"
		}
		b.Run(name+"/rp", func(b *testing.B) {
			b.SetBytes(int64(len(src.Pix)))
			for b.Loop() {
				if _, err := decodeJPEGExact(data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/image-jpeg", func(b *testing.B) {
			b.SetBytes(int64(len(src.Pix)))
			for b.Loop() {
				if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
