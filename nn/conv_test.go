package nn

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/reconpatch/rp/simd"
	"github.com/reconpatch/rp/tensor"
)

type convCfg struct {
	Stride, Padding, Dilation [2]int
	Groups                    int
}

// forEachLevel runs f at every SIMD dispatch level this machine supports.
func forEachLevel(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, l := range simd.Levels() {
		t.Run(l.String(), func(t *testing.T) {
			prev, err := simd.SetLevel(l)
			if err != nil {
				t.Fatal(err)
			}
			defer simd.SetLevel(prev)
			f(t)
		})
	}
}

// withTinyTiles runs f with im2col tiles of a few output positions, so that
// tiles start and end inside output rows, and with stride-1 convolutions on
// the im2col path too.
func withTinyTiles(f func()) {
	defer func(old int) { tileCols = old }(tileCols)
	tileCols = 5
	useShifted = false
	defer func() { useShifted = true }()
	f()
}

func TestConv2dTorch(t *testing.T) {
	fx := loadFixture(t, "conv.bin")
	forEachLevel(t, func(t *testing.T) {
		for _, c := range fx.Cases {
			var cfg convCfg
			decodeCfg(t, c, &cfg)
			conv, err := NewConv2d(fx.get(t, c, "w"), fx.opt(c, "b"), Conv2dOptions{
				Stride: cfg.Stride, Padding: cfg.Padding, Dilation: cfg.Dilation, Groups: cfg.Groups,
			})
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			x, want := fx.get(t, c, "x"), fx.get(t, c, "y")
			checkClose(t, c.Name, conv.Forward(x), want)
			withTinyTiles(func() { checkClose(t, c.Name+" (tiny tiles)", conv.Forward(x), want) })
		}
	})
}

// refConv is the convolution as its definition, in float64: y = act(conv(x)
// + b + res), for x N×C×H×W and w O×(C/g)×KH×KW.
func refConv(x []float32, n, c, h, w int, wt, bias []float32, o, kh, kw int, opt Conv2dOptions, res []float32) (y []float64, oh, ow int) {
	s, p, d, g := pair(opt.Stride, 1), opt.Padding, pair(opt.Dilation, 1), max(opt.Groups, 1)
	oh = (h+2*p[0]-d[0]*(kh-1)-1)/s[0] + 1
	ow = (w+2*p[1]-d[1]*(kw-1)-1)/s[1] + 1
	cg, og := c/g, o/g
	y = make([]float64, n*o*oh*ow)
	for b := 0; b < n; b++ {
		for oc := 0; oc < o; oc++ {
			grp := oc / og
			for yy := 0; yy < oh; yy++ {
				for xx := 0; xx < ow; xx++ {
					var sum float64
					if bias != nil {
						sum = float64(bias[oc])
					}
					for ci := 0; ci < cg; ci++ {
						for i := 0; i < kh; i++ {
							for j := 0; j < kw; j++ {
								ih, iw := yy*s[0]-p[0]+i*d[0], xx*s[1]-p[1]+j*d[1]
								if ih < 0 || ih >= h || iw < 0 || iw >= w {
									continue
								}
								xv := x[((b*c+grp*cg+ci)*h+ih)*w+iw]
								sum += float64(xv) * float64(wt[((oc*cg+ci)*kh+i)*kw+j])
							}
						}
					}
					idx := ((b*o+oc)*oh+yy)*ow + xx
					if res != nil {
						sum += float64(res[idx])
					}
					if opt.Activation == ActivationReLU && sum < 0 {
						sum = 0
					}
					y[idx] = sum
				}
			}
		}
	}
	return y, oh, ow
}

func randTensor(r *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data() {
		t.Data()[i] = float32(r.NormFloat64())
	}
	return t
}

// TestConv2dReference compares random convolutions, fused epilogues
// included, with refConv: independent of PyTorch.
func TestConv2dReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 60; i++ {
		g := []int{1, 1, 1, 2, 3, 4}[r.IntN(6)]
		cg, og := 1+r.IntN(6), 1+r.IntN(6)
		if i%10 == 9 { // depthwise
			cg, og = 1, 1+r.IntN(2)
			g = 2 + r.IntN(7)
		}
		c, o := cg*g, og*g
		kh, kw := 1+r.IntN(5), 1+r.IntN(5)
		opt := Conv2dOptions{
			Stride:   [2]int{1 + r.IntN(3), 1 + r.IntN(3)},
			Padding:  [2]int{r.IntN(3), r.IntN(3)},
			Dilation: [2]int{1 + r.IntN(2), 1 + r.IntN(2)},
			Groups:   g,
		}
		if i%4 == 1 {
			opt.Stride = [2]int{1, 1} // the shifted-rows path (runShifted)
		}
		if i%5 == 0 {
			kh, kw, opt.Stride, opt.Padding = 1, 1, [2]int{1, 1}, [2]int{} // GEMM without im2col
		}
		if i%5 == 2 { // strided 1×1: subsampled, then a GEMM without im2col
			kh, kw, opt.Padding = 1, 1, [2]int{}
			opt.Stride = [2]int{2 + r.IntN(2), 1 + r.IntN(3)}
		}
		n := 1 + r.IntN(2)
		h := (kh-1)*opt.Dilation[0] + 1 + r.IntN(12)
		w := (kw-1)*opt.Dilation[1] + 1 + r.IntN(12)
		x := randTensor(r, n, c, h, w)
		wt := randTensor(r, o, cg, kh, kw)
		var bias *tensor.Tensor
		var bd []float32
		if r.IntN(2) == 0 {
			bias = randTensor(r, o)
			bd = bias.Data()
		}
		fused := i%3 == 0
		if fused {
			opt.Activation = ActivationReLU
		}
		name := fmt.Sprintf("%d: x %v w %v %+v", i, x.Shape(), wt.Shape(), opt)
		conv, err := NewConv2d(wt, bias, opt)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var res *tensor.Tensor
		var rd []float32
		if fused {
			oh, ow := conv.OutputSize(h, w)
			res = randTensor(r, n, o, oh, ow)
			rd = res.Data()
		}
		want, _, _ := refConv(x.Data(), n, c, h, w, wt.Data(), bd, o, kh, kw, opt, rd)
		run := func() *tensor.Tensor {
			if fused {
				return conv.ForwardAdd(x, res)
			}
			return conv.Forward(x)
		}
		checkSlice(t, name, run().Data(), want)
		withTinyTiles(func() { checkSlice(t, name+" (tiny tiles)", run().Data(), want) })
		useShifted = false
		checkSlice(t, name+" (im2col)", run().Data(), want)
		useShifted = true
	}
}

// TestConv2dDirect compares convolutions that take the direct kernel
// (stride 1, multiples of 8 output channels per group: ResNeXt's and
// DenseNet's 3×3 convolutions) with refConv, with and without bias and
// ReLU, and checks that they do take it.
func TestConv2dDirect(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 24; i++ {
		g := []int{1, 2, 4, 32}[r.IntN(4)]
		og := 8 * (1 + r.IntN(4))
		cg := []int{1, 3, 8, 16}[r.IntN(4)]
		kh, kw := 1+r.IntN(3), 2+r.IntN(2)
		opt := Conv2dOptions{
			Padding:  [2]int{r.IntN(3), r.IntN(3)},
			Dilation: [2]int{1 + r.IntN(2), 1 + r.IntN(2)},
			Groups:   g,
		}
		if i%2 == 0 {
			opt.Activation = ActivationReLU
		}
		c, o := cg*g, og*g
		n := 1 + r.IntN(2)
		h := (kh-1)*opt.Dilation[0] + 1 + r.IntN(15)
		w := (kw-1)*opt.Dilation[1] + 1 + r.IntN(15)
		x := randTensor(r, n, c, h, w)
		wt := randTensor(r, o, cg, kh, kw)
		var bias *tensor.Tensor
		var bd []float32
		if i%3 != 0 {
			bias = randTensor(r, o)
			bd = bias.Data()
		}
		name := fmt.Sprintf("%d: x %v w %v %+v", i, x.Shape(), wt.Shape(), opt)
		conv, err := NewConv2d(wt, bias, opt)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if (g > 1 || og <= maxDirectOut) && conv.w8 == nil {
			t.Fatalf("%s: does not take the direct path", name)
		}
		want, _, _ := refConv(x.Data(), n, c, h, w, wt.Data(), bd, o, kh, kw, opt, nil)
		checkSlice(t, name, conv.Forward(x).Data(), want)
	}
}

func TestConv2dConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	conv, err := NewConv2d(randTensor(r, 8, 4, 3, 3), randTensor(r, 8), Conv2dOptions{Padding: [2]int{1, 1}, Groups: 2})
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(r, 2, 8, 9, 9)
	want := conv.Forward(x).Data()
	done := make(chan []float32)
	for i := 0; i < 4; i++ {
		go func() { done <- conv.Forward(x).Data() }()
	}
	for i := 0; i < 4; i++ {
		got := <-done
		for j := range got {
			if got[j] != want[j] {
				t.Fatalf("concurrent Forward differs at %d: %v vs %v", j, got[j], want[j])
			}
		}
	}
}

func TestConv2dAccessors(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	w := randTensor(r, 6, 2, 3, 1)
	conv, err := NewConv2d(w, nil, Conv2dOptions{Groups: 3, Padding: [2]int{1, 0}})
	if err != nil {
		t.Fatal(err)
	}
	if conv.InChannels() != 6 || conv.OutChannels() != 6 || conv.Bias() != nil {
		t.Errorf("channels %d→%d, bias %v", conv.InChannels(), conv.OutChannels(), conv.Bias())
	}
	if got := conv.Options(); got.Stride != [2]int{1, 1} || got.Dilation != [2]int{1, 1} || got.Groups != 3 {
		t.Errorf("Options() = %+v", got)
	}
	if got := conv.Weight(); !sameShape(got.Shape(), w.Shape()) || got.Data()[5] != w.Data()[5] {
		t.Errorf("Weight() shape %v", got.Shape())
	}
	w.Data()[0] = 1e9 // the layer owns a copy
	if conv.Weight().Data()[0] == 1e9 {
		t.Error("NewConv2d did not copy the weight")
	}
	if oh, ow := conv.OutputSize(5, 4); oh != 5 || ow != 4 {
		t.Errorf("OutputSize(5, 4) = %d, %d", oh, ow)
	}
}

func TestNewConv2dErrors(t *testing.T) {
	w := func(s ...int) *tensor.Tensor { return tensor.New(s...) }
	for _, tc := range []struct {
		weight, bias *tensor.Tensor
		opt          Conv2dOptions
		want         string
	}{
		{nil, nil, Conv2dOptions{}, "nil weight"},
		{w(4, 3, 3), nil, Conv2dOptions{}, "[4 3 3] is not 4-D"},
		{w(4, 3, 0, 3), nil, Conv2dOptions{}, "zero dimension"},
		{w(6, 3, 3, 3), nil, Conv2dOptions{Groups: 4}, "6 output channels (weight shape [6 3 3 3]) do not split into 4 groups"},
		{w(4, 3, 3, 3), w(5), Conv2dOptions{}, "bias shape [5] does not match weight shape [4 3 3 3]"},
		{w(4, 3, 3, 3), w(4, 1), Conv2dOptions{}, "bias shape [4 1]"},
		{w(4, 3, 3, 3), nil, Conv2dOptions{Stride: [2]int{-1, 1}}, "negative stride"},
		{w(4, 3, 3, 3), nil, Conv2dOptions{Padding: [2]int{0, -1}}, "negative padding"},
		{w(4, 3, 3, 3), nil, Conv2dOptions{Groups: -2}, "groups = -2"},
		{w(4, 3, 3, 3), nil, Conv2dOptions{Activation: 9}, "unknown activation"},
	} {
		_, err := NewConv2d(tc.weight, tc.bias, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewConv2d(%v, %+v): error %v, want %q", tc.weight, tc.opt, err, tc.want)
		}
	}
}

// mustPanic checks that f panics with a message containing every one of
// want.
func mustPanic(t *testing.T, name string, f func(), want ...string) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("%s: no panic", name)
			return
		}
		msg := fmt.Sprint(r)
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: panic %q does not contain %q", name, msg, w)
			}
		}
	}()
	f()
}

func TestConv2dForwardPanics(t *testing.T) {
	conv, err := NewConv2d(tensor.New(4, 3, 3, 3), nil, Conv2dOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mustPanic(t, "channels", func() { conv.Forward(tensor.New(1, 2, 5, 5)) }, "[1 2 5 5]", "[4 3 3 3]")
	mustPanic(t, "3-D", func() { conv.Forward(tensor.New(3, 5, 5)) }, "[3 5 5]", "4-D")
	mustPanic(t, "too small", func() { conv.Forward(tensor.New(1, 3, 2, 5)) }, "[1 3 2 5]", "[4 3 3 3]")
	mustPanic(t, "residual", func() { conv.ForwardAdd(tensor.New(1, 3, 5, 5), tensor.New(1, 4, 3, 4)) }, "[1 4 3 4]", "[1 4 3 3]")
	if got := conv.Forward(tensor.New(0, 3, 5, 5)).Shape(); !sameShape(got, []int{0, 4, 3, 3}) {
		t.Errorf("empty batch: shape %v", got)
	}
}

// BenchmarkConv2d runs convolutions of backbone layers, named by kernel and
// input C×H×W → output channels (batch 1; "s2" stride 2), into a destination
// allocated once, and reports GFLOP/s (2·O·OH·OW·C/g·KH·KW per image). The
// first group are keras_resnet50's own shapes to res4f (Winograd on for the
// 3×3 ones); simd.SetThreads picks the threads (2 by default).
func BenchmarkConv2d(b *testing.B) {
	pad1 := Conv2dOptions{Padding: [2]int{1, 1}}
	s2 := Conv2dOptions{Stride: [2]int{2, 2}}
	for _, bc := range []struct {
		name          string
		c, h, w, o, k int
		opt           Conv2dOptions
	}{
		{"7x7s2/3x224x224>64", 3, 224, 224, 64, 7, Conv2dOptions{Stride: [2]int{2, 2}, Padding: [2]int{3, 3}}},
		{"1x1/64x56x56>64", 64, 56, 56, 64, 1, Conv2dOptions{}},
		{"1x1/256x56x56>64", 256, 56, 56, 64, 1, Conv2dOptions{}},
		{"1x1/64x56x56>256", 64, 56, 56, 256, 1, Conv2dOptions{}},
		{"3x3/64x56x56>64", 64, 56, 56, 64, 3, pad1},
		{"1x1s2/256x56x56>128", 256, 56, 56, 128, 1, s2},
		{"1x1s2/256x56x56>512", 256, 56, 56, 512, 1, s2},
		{"1x1/512x28x28>128", 512, 28, 28, 128, 1, Conv2dOptions{}},
		{"1x1/128x28x28>512", 128, 28, 28, 512, 1, Conv2dOptions{}},
		{"3x3/128x28x28>128", 128, 28, 28, 128, 3, pad1},
		{"1x1s2/512x28x28>256", 512, 28, 28, 256, 1, s2},
		{"1x1s2/512x28x28>1024", 512, 28, 28, 1024, 1, s2},
		{"1x1/1024x14x14>256", 1024, 14, 14, 256, 1, Conv2dOptions{}},
		{"1x1/256x14x14>1024", 256, 14, 14, 1024, 1, Conv2dOptions{}},
		{"3x3/256x14x14>256", 256, 14, 14, 256, 3, pad1},
		// Other backbones' shapes.
		{"3x3s2/128x56x56>128", 128, 56, 56, 128, 3, Conv2dOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}},
		{"3x3/512x14x14>512", 512, 14, 14, 512, 3, pad1},
		{"1x1/1024x14x14>512", 1024, 14, 14, 512, 1, Conv2dOptions{}},
		{"3x3g32/256x56x56>256", 256, 56, 56, 256, 3, Conv2dOptions{Padding: [2]int{1, 1}, Groups: 32}},
		{"dw3x3/144x56x56>144", 144, 56, 56, 144, 3, Conv2dOptions{Padding: [2]int{1, 1}, Groups: 144}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(7, 8))
			g := max(bc.opt.Groups, 1)
			conv, err := NewConv2d(randTensor(r, bc.o, bc.c/g, bc.k, bc.k), randTensor(r, bc.o), bc.opt)
			if err != nil {
				b.Fatal(err)
			}
			conv = conv.WithActivation(ActivationReLU)
			x := randTensor(r, 1, bc.c, bc.h, bc.w)
			oh, ow := conv.OutputSize(bc.h, bc.w)
			dst := tensor.New(1, bc.o, oh, ow)
			flops := 2 * float64(bc.o*oh*ow) * float64(bc.c/g*bc.k*bc.k)
			for b.Loop() {
				conv.ForwardInto(dst, x, nil)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
