package head_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/reconpatch/rp/autograd/autogradtest"
	"github.com/reconpatch/rp/reconpatch/head"
	"github.com/reconpatch/rp/tensor"
)

// The trajectories in testdata/head.bin were written by
// scripts/gen_head_fixtures.py: a few steps of the whole training loop
// (EMA forward, soft labels, online forward, loss, backward, optimiser, EMA
// update, cosine schedule per epoch) of a 24 → 16 → 8 head, in float64
// PyTorch from float32 initial weights and batches.

// fixRelTol bounds the relative error of every loss, median and learning
// rate, and the error of every tensor's change from its initial value
// (deltaErr), for the online and the EMA network.
const fixRelTol = 1e-5

type fixCfg struct {
	Optimizer     string     `json:"optimizer"`
	LR            float64    `json:"lr"`
	WeightDecay   float64    `json:"weight_decay"`
	Betas         [2]float64 `json:"betas"`
	Eps           float64    `json:"eps"`
	Delta         float64    `json:"delta"`
	WDRatio       float64    `json:"wd_ratio"`
	Momentum      float64    `json:"momentum"`
	MinLR         float64    `json:"min_lr"`
	EMADecay      float64    `json:"ema_decay"`
	Sigma         float64    `json:"sigma"`
	AdaptiveSigma bool       `json:"adaptive_sigma"`
	K             int        `json:"k"`
	Alpha         float64    `json:"alpha"`
	Margin        float64    `json:"margin"`
	NormalizeZbar bool       `json:"normalize_zbar"`
	Epochs        int        `json:"epochs"`
	Plan          [][]int    `json:"plan"` // per epoch, the batches of its steps
	Level         string     `json:"level"`
}

func (c fixCfg) config(h *head.Head) head.TrainConfig {
	cfg := head.DefaultTrainConfig()
	cfg.FDim, cfg.GDim = h.FDim(), h.GDim()
	cfg.Optimizer, cfg.LR, cfg.WeightDecay, cfg.Betas, cfg.Eps = c.Optimizer, c.LR, c.WeightDecay, c.Betas, c.Eps
	cfg.Delta, cfg.WDRatio, cfg.Momentum, cfg.MinLR, cfg.EMADecay = c.Delta, c.WDRatio, c.Momentum, c.MinLR, c.EMADecay
	cfg.Sigma, cfg.AdaptiveSigma, cfg.K, cfg.Alpha, cfg.Margin = c.Sigma, c.AdaptiveSigma, c.K, c.Alpha, c.Margin
	cfg.NormalizeZbar, cfg.Epochs = c.NormalizeZbar, c.Epochs
	return cfg
}

func relErr(got, want float64) float64 {
	if want == 0 {
		return math.Abs(got)
	}
	return math.Abs(got-want) / math.Abs(want)
}

// deltaErr compares the change of a parameter from init with torch's: it
// returns ‖(got − init) − (want − init)‖₂ divided by the error allowed,
// fixRelTol·‖want − init‖₂ + steps·ε·‖want‖₂ with ε = 2⁻²⁴ (a float32
// parameter cannot hold its change more precisely than one rounding of its
// value per step; this matters for the biases, which only decay). A result
// above 1 fails.
func deltaErr(got, want, init *tensor.Tensor, steps int) float64 {
	g, w, i := got.Contiguous().Data(), want.Contiguous().Data(), init.Contiguous().Data()
	var num, den, norm float64
	for k := range w {
		dw := float64(w[k]) - float64(i[k])
		e := float64(g[k]) - float64(i[k]) - dw
		num += e * e
		den += dw * dw
		norm += float64(w[k]) * float64(w[k])
	}
	return math.Sqrt(num) / (fixRelTol*math.Sqrt(den) + float64(steps)*math.Sqrt(norm)/(1<<24))
}

func TestTrainAgainstTorch(t *testing.T) {
	fx, err := autogradtest.LoadFixture(filepath.Join("testdata", "head.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range fx.Cases {
		t.Run(c.Name, func(t *testing.T) {
			var fc fixCfg
			if err := c.Decode(&fc); err != nil {
				t.Fatal(err)
			}
			get := func(role string) *tensor.Tensor {
				x := fx.Tensor(c, role)
				if x == nil {
					t.Fatalf("no tensor %s", role)
				}
				return x
			}
			init := map[string]*tensor.Tensor{}
			for _, n := range head.TensorNames {
				init[n] = get("init_" + n)
			}
			h0, err := head.FromTensors(init)
			if err != nil {
				t.Fatal(err)
			}
			cfg := fc.config(h0)
			losses, medians, lrs := get("losses").Data(), get("medians").Data(), get("lrs").Data()
			worstRel, worstDelta := 0.0, 0.0
			defer func() {
				t.Logf("worst relative error of loss/median/lr %.1e; worst weight change error %.2f× the tolerance", worstRel, worstDelta)
			}()
			check := func(what string, step int, got float64, want float32) {
				t.Helper()
				e := relErr(got, float64(want))
				worstRel = max(worstRel, e)
				if e > fixRelTol {
					t.Errorf("step %d: %s %.9g, torch %.9g (relative error %.1e)", step, what, got, want, e)
				}
			}
			var final, ema *head.Head
			switch fc.Level {
			case "trainer": // Trainer.Step on the given batches, EndEpoch between epochs
				tr, err := head.NewTrainer(h0, cfg)
				if err != nil {
					t.Fatal(err)
				}
				s := 0
				for _, epoch := range fc.Plan {
					for _, b := range epoch {
						check("lr", s+1, tr.LR(), lrs[s])
						st, err := tr.Step(get("batch" + string(rune('0'+b))))
						if err != nil {
							t.Fatal(err)
						}
						check("loss", s+1, st.Loss, losses[s])
						check("median", s+1, st.Labels.MedianSqDist, medians[s])
						s++
					}
					tr.EndEpoch()
				}
				final, ema = tr.Head(), tr.EMA()
			case "train": // Train, one batch of all rows per epoch (shuffled: the loss does not depend on the order)
				x := get("batch0")
				src, err := head.Float32FeaturesFromTensor(x)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Batch, cfg.StepsPerEpoch, cfg.Init, cfg.Seed = x.Dim(0), 0, h0, 3
				var hist head.History
				final, hist, err = head.Train(context.Background(), src, cfg, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(hist.Epochs) != len(losses) || hist.Steps != len(losses) {
					t.Fatalf("%d epochs, %d steps; torch %d of one step", len(hist.Epochs), hist.Steps, len(losses))
				}
				for e, es := range hist.Epochs {
					if es.Steps != 1 {
						t.Fatalf("epoch %d: %d steps, want 1", e+1, es.Steps)
					}
					check("lr", e+1, es.LR, lrs[e])
					check("loss", e+1, es.Loss, losses[e])
					check("median", e+1, es.MedianSqDist, medians[e])
				}
			default:
				t.Fatalf("unknown level %q", fc.Level)
			}
			for _, n := range head.TensorNames {
				got := final.Tensors()[n]
				e := deltaErr(got, get("final_"+n), init[n], len(losses))
				worstDelta = max(worstDelta, e)
				if e > 1 {
					t.Errorf("%s: change differs from torch's by %.2f× the tolerance", n, e)
				}
				if ema != nil {
					e := deltaErr(ema.Tensors()[n], get("ema_"+n), init[n], len(losses))
					worstDelta = max(worstDelta, e)
					if e > 1 {
						t.Errorf("EMA %s: change differs from torch's by %.2f× the tolerance", n, e)
					}
				}
			}
		})
	}
}
