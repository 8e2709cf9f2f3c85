package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestConv2dWinograd compares 3×3 stride-1 convolutions on the Winograd
// path with refConv at every dispatch level: odd and even sizes (partial
// tiles), paddings 0 to 2, bias or none, the fused residual and ReLU, a
// batch of two; and checks that they take that path and that SetWinograd
// turns it off.
func TestConv2dWinograd(t *testing.T) {
	defer func(c int) { winoMinChannels = c }(winoMinChannels)
	winoMinChannels = 16 // small cases
	r := rand.New(rand.NewPCG(5, 6))
	for i, tc := range []struct {
		c, o, h, w, pad int
		bias, fused     bool
	}{
		{16, 16, 8, 8, 1, true, false},
		{16, 24, 7, 9, 1, false, true},
		{20, 16, 5, 4, 0, true, true},
		{32, 33, 13, 6, 2, true, false},
		{17, 40, 3, 3, 1, false, false}, // one tile and a half each way
		{64, 64, 14, 14, 1, true, true},
		{16, 16, 2, 2, 1, true, true}, // one tile, mostly padding
		{24, 20, 11, 17, 1, false, true},
	} {
		n := 1 + i%2
		x := randTensor(r, n, tc.c, tc.h, tc.w)
		wt := randTensor(r, tc.o, tc.c, 3, 3)
		var bd []float32
		opt := Conv2dOptions{Padding: [2]int{tc.pad, tc.pad}}
		conv0, err := NewConv2d(wt, nil, opt)
		if err != nil {
			t.Fatal(err)
		}
		conv := conv0
		if tc.bias {
			b := randTensor(r, tc.o)
			bd = b.Data()
			if conv, err = NewConv2d(wt, b, opt); err != nil {
				t.Fatal(err)
			}
		}
		if tc.fused {
			opt.Activation = ActivationReLU
			conv = conv.WithActivation(ActivationReLU)
		}
		oh, ow := conv.OutputSize(tc.h, tc.w)
		var rd []float32
		res := randTensor(r, n, tc.o, oh, ow)
		if tc.fused {
			rd = res.Data()
		}
		want, _, _ := refConv(x.Data(), n, tc.c, tc.h, tc.w, wt.Data(), bd, tc.o, 3, 3, opt, rd)
		run := func() []float32 {
			if tc.fused {
				return conv.ForwardAdd(x, res).Data()
			}
			return conv.Forward(x).Data()
		}
		for _, v := range []*winoVariant{winoF2, winoF4} {
			t.Run(fmt.Sprintf("%dx%dx%dx%d-%d/F%d", tc.c, tc.o, tc.h, tc.w, tc.pad, v.m), func(t *testing.T) {
				defer func(m int) { winoF4MinWork = m }(winoF4MinWork)
				winoF4MinWork = 1 << 30 // F(2×2) only
				if v == winoF4 {
					winoF4MinWork = -1 // F(4×4) always
				}
				if got := conv.winograd(oh, ow); got != v {
					t.Fatalf("%+v takes %v, want F(%d×%d)", tc, got, v.m, v.m)
				}
				forEachLevel(t, func(t *testing.T) {
					checkSlice(t, "Winograd", run(), want)
					prev := SetWinograd(false)
					off := run()
					SetWinograd(prev)
					checkSlice(t, "Winograd off", off, want)
					defer func(b int) { winoBudget = b }(winoBudget)
					winoBudget = 1 // one image at a time
					checkSlice(t, "Winograd, image by image", run(), want)
				})
			})
		}
	}
	// Below the channel minimum, or strided, the Winograd path is not taken.
	for _, tc := range []struct {
		c, o   int
		stride int
	}{{8, 64, 1}, {64, 8, 1}, {64, 64, 2}, {15, 15, 1}} {
		conv, err := NewConv2d(randTensor(r, tc.o, tc.c, 3, 3), nil, Conv2dOptions{Stride: [2]int{tc.stride, tc.stride}, Padding: [2]int{1, 1}})
		if err != nil {
			t.Fatal(err)
		}
		if conv.winograd(conv.OutputSize(8, 8)) != nil {
			t.Errorf("%+v takes the Winograd path", tc)
		}
	}
	// The default choice of algorithm: F(4×4) on the large outputs of the
	// backbones' first stages, F(2×2) on small ones.
	for _, tc := range []struct {
		c, s int
		want *winoVariant
	}{
		{64, 56, winoF4}, {128, 56, winoF4}, {64, 28, winoF4}, {256, 28, winoF4}, {128, 20, winoF4}, {512, 20, winoF4},
		{64, 20, winoF2}, {256, 24, winoF2}, {512, 16, winoF2}, {256, 14, winoF2}, {512, 14, winoF2}, {1024, 8, winoF2},
	} {
		conv, err := NewConv2d(randTensor(r, tc.c, tc.c, 3, 3), nil, Conv2dOptions{Padding: [2]int{1, 1}})
		if err != nil {
			t.Fatal(err)
		}
		if got := conv.winograd(tc.s, tc.s); got != tc.want {
			t.Errorf("%d channels at %d×%d: F(%d×%d), want F(%d×%d)", tc.c, tc.s, tc.s, got.m, got.m, tc.want.m, tc.want.m)
		}
	}
	// Nor for an image whose transformed tiles would exceed winoMaxFloats.
	conv, err := NewConv2d(randTensor(r, 16, 16, 3, 3), nil, Conv2dOptions{Padding: [2]int{1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer func(m int) { winoMaxFloats = m }(winoMaxFloats)
	winoMaxFloats = 16 * 32 * 4 * 5 // 8×8 output: 4 tile rows of 5 grid positions
	if conv.winograd(8, 8) == nil || conv.winograd(10, 8) != nil {
		t.Errorf("winoMaxFloats %d: Winograd for 8×8 %v (want F(2×2)), 10×8 %v (want none)", winoMaxFloats, conv.winograd(8, 8), conv.winograd(10, 8))
	}
}

// BenchmarkConv3x3 times the 3×3 stride-1 convolutions of the backbones'
// bottlenecks (C→C channels on an S×S input, padding 1) at batch 1 and 8,
// directly and by F(2×2, 3×3) and F(4×4, 3×3); GFLOP/s count the direct
// arithmetic.
func BenchmarkConv3x3(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, sh := range []struct{ c, s int }{{64, 56}, {128, 56}, {128, 28}, {256, 28}, {256, 14}, {512, 14}, {128, 80}, {512, 20}} {
		conv, err := NewConv2d(randTensor(r, sh.c, sh.c, 3, 3), randTensor(r, sh.c), Conv2dOptions{Padding: [2]int{1, 1}, Activation: ActivationReLU})
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{1, 8} {
			x := randTensor(r, n, sh.c, sh.s, sh.s)
			y := randTensor(r, n, sh.c, sh.s, sh.s)
			for _, path := range []string{"direct", "F2", "F4"} {
				b.Run(fmt.Sprintf("c%d_s%d/b%d/%s", sh.c, sh.s, n, path), func(b *testing.B) {
					defer SetWinograd(SetWinograd(path != "direct"))
					defer func(m int) { winoF4MinWork = m }(winoF4MinWork)
					winoF4MinWork = 1 << 30
					if path == "F4" {
						winoF4MinWork = -1
					}
					conv.ForwardInto(y, x, nil)
					for b.Loop() {
						conv.ForwardInto(y, x, nil)
					}
					flops := 2 * float64(n*sh.c*sh.c*9*sh.s*sh.s)
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
