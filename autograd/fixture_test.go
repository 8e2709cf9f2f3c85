package autograd_test

import (
	"path/filepath"
	"testing"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/autograd/autogradtest"
	"github.com/reconpatch/rp/tensor"
)

// relTol bounds ‖got − torch‖₂/‖torch‖₂ against PyTorch's float64 results.
const relTol = 1e-5

type netCfg struct {
	Labels []int    `json:"labels"`
	Params []string `json:"params"`
}

// netForward builds one of the fixture networks on tp: "mlp" is
// x → Linear(w1, no bias) → BatchNorm1d → ReLU → Linear(w2, b2) →
// cross-entropy; "conv" is x → Conv2d(c1w, 3×3, pad 1) → BatchNorm2d → ReLU
// → Conv2d(c2w, c2b, 3×3, stride 2, pad 1, groups 2) → ReLU → mean over
// H, W → Linear(fw, fb) → cross-entropy.
func netForward(tp *autograd.Tape, name string, p map[string]*autograd.Var, x *autograd.Var, labels []int, rm, rv *tensor.Tensor) (logits, loss *autograd.Var) {
	bn := autograd.BatchNormOptions{Training: true, Momentum: 0.1, Eps: 1e-5}
	switch name {
	case "mlp":
		h := tp.Linear(x, p["w1"], nil)                             // [N 13] → [N 24]
		h = tp.ReLU(tp.BatchNorm(h, p["g1"], p["be1"], rm, rv, bn)) // [N 24]
		logits = tp.Linear(h, p["w2"], p["b2"])                     // [N 10]
	case "conv":
		h := tp.Conv2d(x, p["c1w"], nil, autograd.ConvOptions{Padding: [2]int{1, 1}}) // [4 6 9 11]
		h = tp.ReLU(tp.BatchNorm(h, p["g1"], p["be1"], rm, rv, bn))
		h = tp.ReLU(tp.Conv2d(h, p["c2w"], p["c2b"], autograd.ConvOptions{
			Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, Groups: 2})) // [4 8 5 6]
		logits = tp.Linear(tp.Mean(h, false, 2, 3), p["fw"], p["fb"]) // [4 8] → [4 5]
	}
	return logits, tp.CrossEntropy(logits, labels)
}

func TestNetsAgainstTorch(t *testing.T) {
	fx, err := autogradtest.LoadFixture(filepath.Join("testdata", "nets.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range fx.Cases {
		t.Run(c.Name, func(t *testing.T) {
			var cfg netCfg
			if err := c.Decode(&cfg); err != nil {
				t.Fatal(err)
			}
			get := func(role string) *tensor.Tensor {
				x := fx.Tensor(c, role)
				if x == nil {
					t.Fatalf("no tensor %s", role)
				}
				return x
			}
			p := map[string]*autograd.Var{}
			for _, k := range cfg.Params {
				p[k] = autograd.NewParam(get("param_" + k).Clone())
			}
			x := autograd.NewParam(get("x").Clone())
			ch := get("running_mean").Dim(0)
			rm, rv := tensor.Zeros(ch), tensor.Ones(ch)
			tp := autograd.NewTape()
			logits, loss := netForward(tp, c.Name, p, x, cfg.Labels, rm, rv)
			tp.Backward(loss)

			check := func(what string, got *tensor.Tensor, role string) {
				want := get(role).Data()
				w64 := make([]float64, len(want))
				for i, v := range want {
					w64[i] = float64(v)
				}
				e := autogradtest.RelErr(got.Contiguous().Data(), w64)
				if e > relTol {
					t.Errorf("%s: relative error %.2g > %.0g", what, e, relTol)
				}
				t.Logf("%-14s relative error %.1e", what, e)
			}
			check("logits", logits.Value, "logits")
			check("loss", loss.Value, "loss")
			check("grad x", x.Grad, "grad_x")
			for _, k := range cfg.Params {
				check("grad "+k, p[k].Grad, "grad_"+k)
			}
			check("running mean", rm, "running_mean")
			check("running var", rv, "running_var")
		})
	}
}
