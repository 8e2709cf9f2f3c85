package head_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/reconpatch/rp/reconpatch/head"
)

func TestDefaultTrainConfig(t *testing.T) {
	c := head.DefaultTrainConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// Section 12, with section 14's measured best: g 256, 30 × 140 steps,
	// adaptive σ on L2-normalised z̄.
	want := head.TrainConfig{
		FDim: 512, GDim: 256, Epochs: 30, Batch: 512, StepsPerEpoch: 140,
		Optimizer: "adamp", LR: 1e-5, WeightDecay: 1e-2, Betas: [2]float64{0.9, 0.999}, Eps: 1e-8,
		Delta: 0.1, WDRatio: 0.1, Momentum: 0.9, Schedule: "cosine", MinLR: 0, EMADecay: 0.99,
		Sigma: 1, AdaptiveSigma: true, K: 5, Alpha: 0.5, Margin: 1, NormalizeZbar: true,
	}
	if c != want {
		t.Errorf("defaults\n%+v\nwant\n%+v", c, want)
	}
	o := c.LossOptions()
	if o.Sigma != 1 || o.K != 5 || o.Alpha != 0.5 || o.Margin != 1 || !o.Normalize || !o.AdaptiveSigma {
		t.Errorf("loss options %+v", o)
	}
	// JSON round trip, for the model file; Init is not serialised.
	c.Init, _ = head.New(4, 512, 128, 0)
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back head.TrainConfig
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != want || strings.Contains(string(b), "Init") {
		t.Errorf("JSON %s", b)
	}
}

func TestValidate(t *testing.T) {
	h, _ := head.New(8, 512, 64, 0)
	for _, tc := range []struct {
		name   string
		mutate func(*head.TrainConfig)
		want   []string // all must appear
	}{
		{"widths", func(c *head.TrainConfig) { c.FDim, c.GDim = 0, -1 }, []string{"FDim = 0", "GDim = -1"}},
		{"epochs", func(c *head.TrainConfig) { c.Epochs = -1 }, []string{"Epochs = -1"}},
		{"batch", func(c *head.TrainConfig) { c.Batch = 3 }, []string{"Batch = 3: need ≥ 4"}},
		{"steps", func(c *head.TrainConfig) { c.StepsPerEpoch = -1 }, []string{"StepsPerEpoch = -1"}},
		{"optimizer", func(c *head.TrainConfig) { c.Optimizer = "lion" }, []string{`Optimizer "lion"`}},
		{"lr", func(c *head.TrainConfig) { c.LR = 0 }, []string{"LR = 0"}},
		{"lr NaN", func(c *head.TrainConfig) { c.LR = math.NaN() }, []string{"LR = NaN"}},
		{"weight decay", func(c *head.TrainConfig) { c.WeightDecay = -1 }, []string{"WeightDecay = -1"}},
		{"betas", func(c *head.TrainConfig) { c.Betas[1] = 1 }, []string{"Betas"}},
		{"eps", func(c *head.TrainConfig) { c.Eps = math.Inf(1) }, []string{"Eps = +Inf"}},
		{"delta", func(c *head.TrainConfig) { c.Delta = -0.1 }, []string{"Delta = -0.1"}},
		{"wd ratio", func(c *head.TrainConfig) { c.WDRatio = -1 }, []string{"WDRatio = -1"}},
		{"momentum", func(c *head.TrainConfig) { c.Optimizer, c.Momentum = "sgd", 1 }, []string{"Momentum = 1"}},
		{"schedule", func(c *head.TrainConfig) { c.Schedule = "step" }, []string{`Schedule "step"`}},
		{"min lr", func(c *head.TrainConfig) { c.MinLR = 1 }, []string{"MinLR = 1"}},
		{"ema", func(c *head.TrainConfig) { c.EMADecay = 1.5 }, []string{"EMADecay = 1.5"}},
		{"sigma", func(c *head.TrainConfig) { c.Sigma = 0 }, []string{"Sigma = 0"}},
		{"k", func(c *head.TrainConfig) { c.K = 0 }, []string{"K = 0"}},
		{"alpha", func(c *head.TrainConfig) { c.Alpha = 2 }, []string{"Alpha = 2"}},
		{"margin", func(c *head.TrainConfig) { c.Margin = -1 }, []string{"Margin = -1"}},
		{"init widths", func(c *head.TrainConfig) { c.Init = h }, []string{"Init is head 8→512→64"}},
		{"several", func(c *head.TrainConfig) { c.Epochs, c.K, c.Alpha = -1, 0, -1 }, []string{"Epochs = -1", "K = 0", "Alpha = -1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := head.DefaultTrainConfig()
			tc.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	// Options an optimiser does not use are not checked.
	c := head.DefaultTrainConfig()
	c.Momentum = 5 // SGD only
	if err := c.Validate(); err != nil {
		t.Errorf("AdamP with an SGD-only value: %v", err)
	}
}
