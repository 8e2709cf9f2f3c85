package optim_test

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/autograd/autogradtest"
	"github.com/reconpatch/rp/nn/optim"
	"github.com/reconpatch/rp/tensor"
)

// The trajectories in testdata were written by
// scripts/gen_autograd_fixtures.py: 30 steps of each optimiser with cosine
// annealing stepped per iteration, in float64 PyTorch from the same float32
// start.

// relTol bounds ‖θ_go − θ_torch‖₂/‖θ_torch‖₂ for every parameter tensor at
// every stored step.
const relTol = 1e-5

type trajCfg struct {
	Opt         string     `json:"opt"`
	LR          float64    `json:"lr"`
	Betas       [2]float64 `json:"betas"`
	Eps         float64    `json:"eps"`
	WeightDecay float64    `json:"weight_decay"`
	Delta       float64    `json:"delta"`
	WDRatio     float64    `json:"wd_ratio"`
	Nesterov    bool       `json:"nesterov"`
	Momentum    float64    `json:"momentum"`
	Dampening   float64    `json:"dampening"`
	TMax        int        `json:"t_max"`
	EtaMin      float64    `json:"eta_min"`
	Steps       int        `json:"steps"`
	Keep        []int      `json:"keep"`
	Params      []string   `json:"params"`
	Projections [][2]int   `json:"projections"`
}

// trajLoss is the fixture network: Linear(w1) → BatchNorm (batch
// statistics) → ReLU → Linear(w2, no bias) → rows L2-normalised →
// Linear(w3, b3) → cross-entropy. w1 is scale-invariant per row, w2 as a
// whole, so AdamP's channel and layer projections both fire.
func trajLoss(tp *autograd.Tape, p map[string]*autograd.Var, x *autograd.Var, labels []int) *autograd.Var {
	h := tp.Linear(x, p["w1"], nil) // [32 12] → [32 16]
	h = tp.BatchNorm(h, p["g1"], p["be1"], nil, nil, autograd.BatchNormOptions{Training: true, Eps: 1e-5})
	h = tp.Linear(tp.ReLU(h), p["w2"], nil)                        // [32 8]
	h = tp.Div(h, tp.Sqrt(tp.Sum(tp.Square(h), true, 1)))          // rows / ‖row‖
	return tp.CrossEntropy(tp.Linear(h, p["w3"], p["b3"]), labels) // [32 4] → []
}

func newOptimizer(c trajCfg, params []*autograd.Var) optim.Optimizer {
	switch c.Opt {
	case "adamp":
		return optim.NewAdamP(params, optim.AdamPConfig{LR: c.LR, Betas: c.Betas, Eps: c.Eps, WeightDecay: c.WeightDecay,
			Delta: c.Delta, WDRatio: c.WDRatio, Nesterov: c.Nesterov})
	case "adam":
		return optim.NewAdam(params, optim.AdamConfig{LR: c.LR, Betas: c.Betas, Eps: c.Eps, WeightDecay: c.WeightDecay})
	case "adamw":
		return optim.NewAdamW(params, optim.AdamConfig{LR: c.LR, Betas: c.Betas, Eps: c.Eps, WeightDecay: c.WeightDecay})
	case "sgd":
		return optim.NewSGD(params, optim.SGDConfig{LR: c.LR, Momentum: c.Momentum, Dampening: c.Dampening,
			WeightDecay: c.WeightDecay, Nesterov: c.Nesterov})
	}
	panic("unknown optimiser " + c.Opt)
}

func TestTrajectoriesAgainstTorch(t *testing.T) {
	fx, err := autogradtest.LoadFixture(filepath.Join("testdata", "trajectories.bin"))
	if err != nil {
		t.Fatal(err)
	}
	data, ok := fx.Case("data")
	if !ok {
		t.Fatal("no data case")
	}
	var dc struct {
		Labels []int `json:"labels"`
	}
	if err := data.Decode(&dc); err != nil {
		t.Fatal(err)
	}
	x := autograd.NewConst(fx.Tensor(data, "x"))
	for _, c := range fx.Cases {
		if c.Name == "data" {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			var cfg trajCfg
			if err := c.Decode(&cfg); err != nil {
				t.Fatal(err)
			}
			p := map[string]*autograd.Var{}
			var params []*autograd.Var
			for _, k := range cfg.Params {
				p[k] = autograd.NewParam(fx.Tensor(data, "init_"+k).Clone())
				params = append(params, p[k])
			}
			opt := newOptimizer(cfg, params)
			sched := optim.NewCosine(opt, cfg.TMax, cfg.EtaMin)
			losses, lrs := fx.Tensor(c, "losses").Data(), fx.Tensor(c, "lrs").Data()
			var worst, worstLoss, worstLR float64
			for step := 1; step <= cfg.Steps; step++ {
				tp := autograd.NewTape()
				loss := trajLoss(tp, p, x, dc.Labels)
				tp.Backward(loss)
				worstLR = math.Max(worstLR, math.Abs(opt.LR()-float64(lrs[step-1]))/cfg.LR)
				opt.Step()
				opt.ZeroGrad()
				sched.Step()
				worstLoss = math.Max(worstLoss, math.Abs(loss.Item()-float64(losses[step-1]))/math.Abs(float64(losses[step-1])))
				if !slices.Contains(cfg.Keep, step) {
					continue
				}
				for _, k := range cfg.Params {
					want := fx.Tensor(c, fmt.Sprintf("step%d_%s", step, k)).Data()
					w64 := make([]float64, len(want))
					for i, v := range want {
						w64[i] = float64(v)
					}
					e := autogradtest.RelErr(p[k].Value.Data(), w64)
					worst = math.Max(worst, e)
					if e > relTol {
						t.Errorf("step %d, %s: relative error %.2g > %.0g", step, k, e, relTol)
					}
				}
			}
			if worstLR > 1e-6 || worstLoss > relTol {
				t.Errorf("learning rate error %.2g, loss error %.2g", worstLR, worstLoss)
			}
			if ap, ok := opt.(*optim.AdamP); ok && !slices.Equal(ap.Projections, cfg.Projections) {
				t.Errorf("projections (channel, layer) per parameter %v, torch %v", ap.Projections, cfg.Projections)
			}
			t.Logf("%d steps: worst parameter error %.1e, loss %.1e, lr %.1e", cfg.Steps, worst, worstLoss, worstLR)
		})
	}
}

func TestCosine(t *testing.T) {
	opt := optim.NewSGD([]*autograd.Var{autograd.NewParam(tensor.Zeros(1))}, optim.SGDConfig{LR: 1})
	c := optim.NewCosine(opt, 4, 0.2)
	want := []float64{1, 0.2 + 0.8*(1+math.Sqrt2/2)/2, 0.6, 0.2 + 0.8*(1-math.Sqrt2/2)/2, 0.2, 0.2 + 0.8*(1-math.Sqrt2/2)/2}
	for i, w := range want {
		if math.Abs(opt.LR()-w) > 1e-12 {
			t.Fatalf("after %d steps lr %v, want %v", i, opt.LR(), w)
		}
		c.Step()
	}
}

func TestEMA(t *testing.T) {
	p := autograd.NewParam(tensor.FromSlice([]float32{1, 2}, 2))
	e := optim.NewEMA([]*autograd.Var{p}, 0.9)
	sh := e.Shadow()[0]
	if sh.RequiresGrad() || !tensor.Equal(sh.Value, p.Value) {
		t.Fatal("shadow is not a constant copy")
	}
	p.Value.Data()[0] = 11
	e.Update() // 0.9·1 + 0.1·11 = 2
	if got := sh.Value.Data(); math.Abs(float64(got[0])-2) > 1e-6 || got[1] != 2 {
		t.Fatalf("shadow %v, want [2 2]", got)
	}
}

// TestAdamPProjection checks the channel projection on a hand-computed
// case: every row's gradient is orthogonal to the row, so the first step's
// Adam direction u = g/|g| (elementwise) loses its component along each
// row, u_r − ŵ_r(ŵ_r·u_r), and the decay is scaled by wd_ratio.
func TestAdamPProjection(t *testing.T) {
	w := tensor.FromSlice([]float32{3, 4, 0, 1, 2, 2}, 2, 3)
	g := tensor.FromSlice([]float32{-4, 3, 1, 2, -2, 1}, 2, 3) // g_r · w_r = 0
	p := autograd.NewParam(w.Clone())
	p.Grad = g.Clone()
	cfg := optim.DefaultAdamPConfig(0.1)
	cfg.WeightDecay = 0.5
	opt := optim.NewAdamP([]*autograd.Var{p}, cfg)
	opt.Step()
	if opt.Projections[0] != [2]int{1, 0} {
		t.Fatalf("projections %v, want one channel projection", opt.Projections[0])
	}
	decay := 1 - 0.1*0.5*0.1
	for r := range 2 {
		var ww, wu float64
		u := make([]float64, 3)
		for j := range 3 {
			a := float64(w.At(r, j))
			u[j] = math.Copysign(1, float64(g.At(r, j))) // m̂/(√v̂ + eps) on step 1, eps negligible
			ww += a * a
		}
		norm := math.Sqrt(ww) + 1e-8
		for j := range 3 {
			wu += float64(w.At(r, j)) / norm * u[j]
		}
		for j := range 3 {
			a := float64(w.At(r, j))
			want := a*decay - 0.1*(u[j]-a/norm*wu)
			if got := float64(p.Value.At(r, j)); math.Abs(got-want) > 1e-6 {
				t.Errorf("w[%d][%d] = %v, want %v", r, j, got, want)
			}
		}
	}
}
