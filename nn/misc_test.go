package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/reconpatch/rp/tensor"
)

type miscCfg struct {
	Op  string
	Pad [4]int
	Dim int
}

func TestMiscTorch(t *testing.T) {
	fx := loadFixture(t, "misc.bin")
	for _, c := range fx.Cases {
		var cfg miscCfg
		decodeCfg(t, c, &cfg)
		var got *tensor.Tensor
		switch cfg.Op {
		case "zeropad":
			p := cfg.Pad // torch order: left, right, top, bottom
			got = ZeroPad2d{Left: p[0], Right: p[1], Top: p[2], Bottom: p[3]}.Forward(fx.get(t, c, "x"))
		case "concat":
			got = ConcatChannels(fx.get(t, c, "a"), fx.get(t, c, "b"), fx.get(t, c, "c"))
		case "softmax":
			got = Softmax{Dim: cfg.Dim}.Forward(fx.get(t, c, "x"))
		case "relu":
			got = ReLU{}.Forward(fx.get(t, c, "x"))
		default:
			t.Fatalf("%s: unknown op %q", c.Name, cfg.Op)
		}
		checkClose(t, c.Name, got, fx.get(t, c, "y"))
	}
}

func TestSoftmaxStable(t *testing.T) {
	x := tensor.FromSlice([]float32{1000, 1001, -1e30, 1002}, 4)
	y := Softmax{Dim: 0}.Forward(x).Data()
	e := []float64{math.Exp(-2), math.Exp(-1), 0, 1}
	s := e[0] + e[1] + e[3]
	for i := range y {
		if d := math.Abs(float64(y[i]) - e[i]/s); d > 1e-7 {
			t.Errorf("softmax[%d] = %v, want %v", i, y[i], e[i]/s)
		}
	}
	mustPanic(t, "dim", func() { Softmax{Dim: 1}.Forward(x) }, "dimension 1", "[4]")
}

func TestReLUAndSequential(t *testing.T) {
	x := tensor.FromSlice([]float32{-1, 0, 2, float32(math.NaN())}, 1, 1, 2, 2)
	y := Sequential{ZeroPad2d{Left: 1}, ReLU{}}.Forward(x)
	want := []float32{0, 0, 0, 0, 2, float32(math.NaN())}
	if !sameShape(y.Shape(), []int{1, 1, 2, 3}) {
		t.Fatalf("shape %v", y.Shape())
	}
	for i, v := range y.Data() {
		if v != want[i] && !(math.IsNaN(float64(v)) && math.IsNaN(float64(want[i]))) {
			t.Errorf("y[%d] = %v, want %v", i, v, want[i])
		}
	}
	if x.Data()[0] != -1 {
		t.Error("ReLU modified its input")
	}
	if Sequential(nil).Forward(x) != x {
		t.Error("empty Sequential is not the identity")
	}
	if ActivationReLU.String() != "relu" || ActivationNone.String() != "none" || Activation(5).String() != "Activation(5)" {
		t.Error("Activation.String")
	}
}

func TestConcatPanics(t *testing.T) {
	mustPanic(t, "none", func() { ConcatChannels() }, "no inputs")
	mustPanic(t, "mismatch", func() { ConcatChannels(tensor.New(1, 2, 3, 4), tensor.New(1, 2, 3, 5)) }, "[1 2 3 4]", "[1 2 3 5]")
}

// TestTempRelease checks that Temp reuses released storage of the same
// size, and that ForwardInto writes the same values as Forward into it,
// whatever it held.
func TestTempRelease(t *testing.T) {
	a := Temp(1, 8, 5, 5)
	for i := range a.Data() {
		a.Data()[i] = float32(i)
	}
	Release(a)
	b := Temp(1, 8, 5, 5)
	if &b.Data()[0] != &a.Data()[0] {
		t.Error("Temp did not reuse the released storage")
	}
	r := rand.New(rand.NewPCG(1, 1))
	conv, err := NewConv2d(randTensor(r, 8, 3, 3, 3), randTensor(r, 8), Conv2dOptions{Padding: [2]int{1, 1}, Activation: ActivationReLU})
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(r, 1, 3, 5, 5)
	want := conv.Forward(x).Data()
	got := conv.ForwardInto(b, x, nil).Data()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ForwardInto[%d] = %v, Forward %v", i, got[i], want[i])
		}
	}
	Release(b.Narrow(1, 0, 4)) // a view: ignored
	if c := Temp(1, 4, 5, 5); len(c.Data()) != 100 {
		t.Fatal("Temp shape")
	}
}
