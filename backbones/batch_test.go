package backbones

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/reconpatch/rp/tensor"
)

// TestForwardImageByImage checks that running a batch one image at a time
// (imageByImage) gives the batch's results: resnet18 and densenet121 (image
// by image) and resnext101_32x8d (grouped, whole batch) against their other
// mode.
func TestForwardImageByImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three full-size backbones")
	}
	r := rand.New(rand.NewPCG(3, 4))
	x := tensor.New(3, 3, 48, 40)
	for i := range x.Data() {
		x.Data()[i] = float32(r.NormFloat64())
	}
	for _, tc := range []struct {
		name string
		taps []string
	}{
		{"resnet18", []string{"layer2", "layer3"}},
		{"resnext101_32x8d", []string{"layer2", "layer3"}},
		{"densenet121", []string{"features.denseblock2", "features.denseblock3"}},
	} {
		name, taps := tc.name, tc.taps
		bb, err := New(name, randomStateDict(t, name, 2))
		if err != nil {
			t.Fatal(err)
		}
		got, err := bb.Forward(x, taps...)
		if err != nil {
			t.Fatal(err)
		}
		imageByImage = !imageByImage
		want, err := bb.Forward(x, taps...)
		imageByImage = !imageByImage
		if err != nil {
			t.Fatal(err)
		}
		for _, tap := range taps {
			if fmt.Sprint(got[tap].Shape()) != fmt.Sprint(want[tap].Shape()) {
				t.Fatalf("%s %s: shape %v, other mode %v", name, tap, got[tap].Shape(), want[tap].Shape())
			}
			if e := relL2(got[tap], want[tap]); !(e <= 1e-6) {
				t.Errorf("%s %s: relative L2 difference %.3g between the modes", name, tap, e)
			}
		}
	}
}
