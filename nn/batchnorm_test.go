package nn

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/reconpatch/rp/tensor"
)

type bnCfg struct {
	Stride, Padding [2]int
	Groups          int
	Eps             float64
}

// TestBatchNormTorch checks batch norm on its own, conv→BN, the folded
// convolution, and the folded convolution with a fused residual and ReLU, all
// against PyTorch.
func TestBatchNormTorch(t *testing.T) {
	fx := loadFixture(t, "batchnorm.bin")
	for _, c := range fx.Cases {
		var cfg bnCfg
		decodeCfg(t, c, &cfg)
		get := func(role string) *tensor.Tensor { return fx.get(t, c, role) }
		x := get("x")

		bnIn, err := NewBatchNorm2d(get("xgamma"), get("xbeta"), get("xmean"), get("xvar"), cfg.Eps)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		checkClose(t, c.Name+" bn", bnIn.Forward(x), get("bn"))

		conv, err := NewConv2d(get("w"), fx.opt(c, "b"), Conv2dOptions{Stride: cfg.Stride, Padding: cfg.Padding, Groups: cfg.Groups})
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		bn, err := NewBatchNorm2d(get("gamma"), get("beta"), get("mean"), get("var"), cfg.Eps)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		unfused := bn.Forward(conv.Forward(x))
		checkClose(t, c.Name+" conv→bn", unfused, get("convbn"))

		folded, err := conv.FoldBatchNorm(bn)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		got := folded.Forward(x)
		checkClose(t, c.Name+" folded", got, get("convbn"))
		checkClose(t, c.Name+" folded vs conv→bn in Go", got, unfused)
		checkClose(t, c.Name+" folded+res+relu", folded.WithActivation(ActivationReLU).ForwardAdd(x, get("res")), get("out"))
		// The unfolded layers compose the same way.
		sum := tensor.New(unfused.Shape()...)
		for i, v := range unfused.Data() {
			sum.Data()[i] = v + get("res").Data()[i]
		}
		checkClose(t, c.Name+" conv→bn→add→relu", ReLU{}.Forward(sum), get("out"))
	}
}

func TestBatchNormDefaults(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	mean, variance := randTensor(r, 3), tensor.New(3)
	for i := range variance.Data() {
		variance.Data()[i] = float32(i + 1)
	}
	bn, err := NewBatchNorm2d(nil, nil, mean, variance, 0)
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(r, 2, 3, 2, 2)
	y := bn.Forward(x)
	for i, v := range x.Data() {
		c := i / 4 % 3
		want := (float64(v) - float64(mean.Data()[c])) / sqrt(float64(c+1))
		if d := float64(y.Data()[i]) - want; d > 1e-6 || d < -1e-6 {
			t.Fatalf("affine=False: y[%d] = %v, want %v", i, y.Data()[i], want)
		}
	}
}

func sqrt(v float64) float64 {
	x := v
	for i := 0; i < 60; i++ {
		x = (x + v/x) / 2
	}
	return x
}

func TestNewBatchNorm2dErrors(t *testing.T) {
	v := func(n int) *tensor.Tensor {
		t := tensor.New(n)
		for i := range t.Data() {
			t.Data()[i] = 1
		}
		return t
	}
	neg := v(3)
	neg.Data()[1] = -1
	for _, tc := range []struct {
		gamma, beta, mean, variance *tensor.Tensor
		eps                         float64
		want                        string
	}{
		{nil, nil, nil, v(3), 1e-5, "nil running mean"},
		{nil, nil, tensor.New(3, 1), v(3), 1e-5, "running mean shape [3 1] is not 1-D"},
		{v(4), nil, v(3), v(3), 1e-5, "gamma shape [4] does not match running mean shape [3]"},
		{nil, v(2), v(3), v(3), 1e-5, "beta shape [2]"},
		{nil, nil, v(3), v(5), 1e-5, "running variance shape [5]"},
		{nil, nil, v(3), v(3), -1, "eps = -1"},
		{nil, nil, v(3), neg, 1e-5, "running variance[1] = -1"},
	} {
		_, err := NewBatchNorm2d(tc.gamma, tc.beta, tc.mean, tc.variance, tc.eps)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

func TestFoldBatchNormErrors(t *testing.T) {
	one := func(n int) *tensor.Tensor {
		t := tensor.New(n)
		for i := range t.Data() {
			t.Data()[i] = 1
		}
		return t
	}
	conv, _ := NewConv2d(tensor.New(4, 2, 1, 1), nil, Conv2dOptions{})
	bn5, _ := NewBatchNorm2d(nil, nil, one(5), one(5), 1e-5)
	if _, err := conv.FoldBatchNorm(bn5); err == nil || !strings.Contains(err.Error(), "[4 2 1 1]") {
		t.Errorf("channel mismatch: error %v", err)
	}
	bn4, _ := NewBatchNorm2d(nil, nil, one(4), one(4), 1e-5)
	if _, err := conv.WithActivation(ActivationReLU).FoldBatchNorm(bn4); err == nil || !strings.Contains(err.Error(), "relu") {
		t.Errorf("fold after ReLU: error %v", err)
	}
	mustPanic(t, "bn channels", func() { bn4.Forward(tensor.New(1, 5, 2, 2)) }, "[1 5 2 2]", "4 channels")
}
