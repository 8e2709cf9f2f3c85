package reconpatch_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/reconpatch/rp/reconpatch"
	"github.com/reconpatch/rp/tensor"
)

// The whole path from backbone taps to anomaly maps, on random "taps" of a
// small backbone (f left out: a trained head would go into Embed).
func Example() {
	rng := rand.New(rand.NewPCG(1, 2))
	taps := func(n int) map[string]*tensor.Tensor {
		return map[string]*tensor.Tensor{
			"layer2": tensor.RandUniform(rng, 0, 1, n, 64, 8, 8),
			"layer3": tensor.RandUniform(rng, 0, 1, n, 128, 4, 4),
		}
	}
	cfg := reconpatch.DefaultFeatureConfig()
	cfg.PretrainDim, cfg.TargetDim = 96, 64

	// Fit: every training patch, then a 10 % coreset stored as float16.
	train, grid, err := reconpatch.Aggregate(cfg, taps(20))
	if err != nil {
		panic(err)
	}
	train = reconpatch.Embed(nil, train) // f: nil is PatchCore
	n, d := train.Dim(0)*train.Dim(1), train.Dim(2)
	cc := reconpatch.DefaultCoresetConfig()
	cc.Ratio = 0.1
	bank, _, err := reconpatch.BuildMemoryBank(train.Data(), n, d, cc, reconpatch.Float16)
	if err != nil {
		panic(err)
	}

	// Score two test images and make their maps at a 32×32 crop.
	test, _, _ := reconpatch.Aggregate(cfg, taps(2))
	scorer, err := reconpatch.NewScorer(bank, reconpatch.ScoreConfig{})
	if err != nil {
		panic(err)
	}
	res, err := scorer.Score(test)
	if err != nil {
		panic(err)
	}
	m := res.Map(0, grid, reconpatch.DefaultMapConfig(32, 32))
	fmt.Println("grid", grid.H, "×", grid.W, "patches", d, "-d; bank", bank.Len(), "rows")
	fmt.Println("image scores", len(res.Image), "map", len(m))
	// Output:
	// grid 8 × 8 patches 64 -d; bank 128 rows
	// image scores 2 map 1024
}
