package bench

import (
	"math"
	"testing"
)

// TestBackbone runs the backbone benchmark on a small input and checks the
// FLOP count against resnet18's convolutions to layer3, counted by hand.
func TestBackbone(t *testing.T) {
	res, err := Backbone("resnet18", "", 64, 2, 1, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 64×64 input: stem 7×7/2 → 32×32, pool → 16×16; layer1 at 16×16,
	// layer2 at 8×8, layer3 at 4×4.
	conv := func(o, i, k, hw int) float64 { return 2 * float64(o*i*k*k*hw*hw) }
	want := conv(64, 3, 7, 32) +
		4*conv(64, 64, 3, 16) +
		conv(128, 64, 3, 8) + 3*conv(128, 128, 3, 8) + conv(128, 64, 1, 8) +
		conv(256, 128, 3, 4) + 3*conv(256, 256, 3, 4) + conv(256, 128, 1, 4)
	if got := res.GFLOPPerImage * 1e9; math.Abs(got-want) > 1 {
		t.Errorf("GFLOP per image %v, want %v", got/1e9, want/1e9)
	}
	if res.MSPerImage <= 0 || res.GFLOPS <= 0 || res.Batch != 2 || len(res.Taps) != 2 || res.Weights != "random" {
		t.Errorf("result %+v", res)
	}
	if _, err := Backbone("nonesuch", "", 64, 1, 1, 1, nil); err == nil {
		t.Error("unknown backbone: no error")
	}
}
