package simd

import (
	"testing"
	"time"
)

func TestPeakGFLOPS(t *testing.T) {
	for _, l := range Levels() {
		g, err := PeakGFLOPS(l, 1, 20*time.Millisecond)
		if l == Generic {
			if err == nil {
				t.Errorf("generic: want an error, got %v GFLOP/s", g)
			}
			continue
		}
		if err != nil || !(g > 0) {
			t.Errorf("%s: PeakGFLOPS = %v, %v", l, g, err)
		}
		t.Logf("%s peak on 1 thread: %.1f GFLOP/s", l, g)
	}
}
