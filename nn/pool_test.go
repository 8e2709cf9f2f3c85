package nn

import (
	"math"
	"testing"

	"github.com/reconpatch/rp/tensor"
)

type poolCfg struct {
	Op                                string
	Kernel, Stride, Padding, Dilation [2]int
	Ceil                              bool
	IncludePad                        bool `json:"include_pad"`
	Divisor                           int
	Out                               []int
}

func TestPoolTorch(t *testing.T) {
	fx := loadFixture(t, "pool.bin")
	for _, c := range fx.Cases {
		var cfg poolCfg
		decodeCfg(t, c, &cfg)
		var l Layer
		switch cfg.Op {
		case "max":
			l = MaxPool2d{Kernel: cfg.Kernel, Stride: cfg.Stride, Padding: cfg.Padding, Dilation: cfg.Dilation, CeilMode: cfg.Ceil}
		case "avg":
			l = AvgPool2d{Kernel: cfg.Kernel, Stride: cfg.Stride, Padding: cfg.Padding, CeilMode: cfg.Ceil, ExcludePad: !cfg.IncludePad, DivisorOverride: cfg.Divisor}
		case "adaptive2d":
			l = AdaptiveAvgPool2d{Output: [2]int{cfg.Out[0], cfg.Out[1]}}
		case "adaptive1d":
			l = AdaptiveAvgPool1d{Output: cfg.Out[0]}
		case "global":
			l = GlobalAvgPool2d{}
		default:
			t.Fatalf("%s: unknown op %q", c.Name, cfg.Op)
		}
		checkClose(t, c.Name, l.Forward(fx.get(t, c, "x")), fx.get(t, c, "y"))
	}
}

func TestMaxPoolNaN(t *testing.T) {
	x := tensor.FromSlice([]float32{1, float32(math.NaN()), 3, 4}, 1, 1, 2, 2)
	y := MaxPool2d{Kernel: [2]int{2, 1}}.Forward(x).Data()
	if len(y) != 2 || y[0] != 3 || !math.IsNaN(float64(y[1])) {
		t.Errorf("max pool over a NaN: %v, want [3 NaN]", y)
	}
}

func TestPoolPanics(t *testing.T) {
	x := tensor.New(1, 2, 5, 5)
	mustPanic(t, "pad > k/2", func() { MaxPool2d{Kernel: [2]int{2, 2}, Padding: [2]int{2, 0}}.Forward(x) }, "padding [2 0]")
	mustPanic(t, "zero kernel", func() { AvgPool2d{}.Forward(x) }, "kernel [0 0]")
	mustPanic(t, "too small", func() { MaxPool2d{Kernel: [2]int{6, 1}}.Forward(x) }, "[1 2 5 5]")
	mustPanic(t, "3-D", func() { AvgPool2d{Kernel: [2]int{1, 1}}.Forward(tensor.New(2, 5, 5)) }, "[2 5 5]")
	mustPanic(t, "adaptive 0", func() { AdaptiveAvgPool2d{}.Forward(x) }, "[1 2 5 5]", "0×0")
	mustPanic(t, "adaptive1d 4-D", func() { AdaptiveAvgPool1d{Output: 2}.Forward(x) }, "[1 2 5 5]")
}
