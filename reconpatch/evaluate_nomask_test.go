package reconpatch

import (
	"testing"

	"github.com/reconpatch/rp/reconpatch/dataset"
)

// TestEvaluateWithoutMasks: defect images without masks (Sample.MaskPath
// empty) count for the image metrics and not for the pixel ones; a set
// whose defects all lack masks has image metrics and no pixel metrics.
func TestEvaluateWithoutMasks(t *testing.T) {
	const w, h = 4, 4
	flat := func(v float32) []float32 {
		m := make([]float32, w*h)
		for i := range m {
			m[i] = v
		}
		return m
	}
	hot := flat(0)
	hot[5] = 9
	mask := make([]uint8, w*h)
	mask[5] = 1
	type img struct {
		s     dataset.Sample
		score float32
		m     []float32
		mask  []uint8
	}
	good := func(score float32) img {
		return img{dataset.Sample{Label: dataset.Good, Type: "good"}, score, flat(score / 10), nil}
	}
	defect := func(score float32, masked bool) img {
		i := img{dataset.Sample{Label: dataset.Defect, Type: "hole"}, score, hot, nil}
		if masked {
			i.s.MaskPath, i.mask = "m.png", mask
		}
		return i
	}
	tests := []struct {
		name      string
		imgs      []img
		pixel     bool // pixel metrics expected
		pixImages int
	}{
		{"some masks", []img{good(1), good(2), defect(5, true), defect(6, false), defect(0.5, false)}, true, 3},
		{"no masks", []img{good(1), good(2), defect(5, false), defect(6, false)}, false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSetEval()
			for _, im := range tt.imgs {
				p := Prediction{Score: im.score, Map: im.m}
				if err := e.add(p, im.s.Label == dataset.Defect, im.s.HasPixelTruth(), im.mask, w, h); err != nil {
					t.Fatal(err)
				}
			}
			r, err := e.result()
			if err != nil {
				t.Fatal(err)
			}
			if r.Images != len(tt.imgs) || r.ImageAUROC == nil || r.ImageF1Max == nil {
				t.Fatalf("image metrics over %d images: %+v", len(tt.imgs), r)
			}
			if e.pixImages != tt.pixImages || (r.PixelAUROC != nil) != tt.pixel || (r.AUPRO != nil) != tt.pixel {
				t.Errorf("pixel metrics over %d images (want %d): pixel AUROC %v, AUPRO %v", e.pixImages, tt.pixImages, r.PixelAUROC, r.AUPRO)
			}
			if tt.name == "some masks" && *r.ImageAUROC != 4.0/6 {
				t.Errorf("image AUROC %v, want 4/6 (the unmasked defect scored 0.5 counts)", *r.ImageAUROC)
			}
		})
	}
}
