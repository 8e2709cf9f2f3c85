package head_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/reconpatch/rp/reconpatch/head"
	"github.com/reconpatch/rp/tensor"
)

// Train a small head on cached patch features, then embed patches with f
// for the memory bank.
func ExampleTrain() {
	// The patch features of the training images, N×P×D (here 4 images of
	// 196 patches of 64 values), cached once.
	feats := tensor.RandNormal(rand.New(rand.NewPCG(1, 2)), 0, 1, 4, 196, 64)
	src, err := head.Float32FeaturesFromTensor(feats)
	if err != nil {
		panic(err)
	}

	cfg := head.DefaultTrainConfig()                                   // the defaults: 30 epochs of 140 batches of 512, AdamP lr 1e-5, …
	cfg.FDim, cfg.GDim = 32, 16                                        // a small head for the example
	cfg.Epochs, cfg.Batch, cfg.StepsPerEpoch, cfg.LR = 3, 256, 0, 1e-3 // 3 full passes
	h, hist, err := head.Train(context.Background(), src, cfg, func(s head.EpochStats) {
		fmt.Printf("epoch %d/%d: %d steps, lr %.2g\n", s.Epoch, s.Epochs, s.Steps, s.LR)
	})
	if err != nil {
		panic(err)
	}
	bank := h.Embed(feats) // f only: [4 196 64] → [4 196 32]
	fmt.Println(h, hist.Steps, "steps; memory-bank rows", bank.Shape())
	fmt.Println("saved as", head.TensorNames)
	// Output:
	// epoch 1/3: 4 steps, lr 0.001
	// epoch 2/3: 4 steps, lr 0.00075
	// epoch 3/3: 4 steps, lr 0.00025
	// head 64→32→16 12 steps; memory-bank rows [4 196 32]
	// saved as [f.weight f.bias g.weight g.bias]
}
