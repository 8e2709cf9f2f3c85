package loss_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/reconpatch/loss"
	"github.com/reconpatch/rp/tensor"
)

// One loss evaluation: soft labels from the EMA embeddings, the relaxed
// contrastive loss of the online embeddings, its gradient.
func ExampleLoss() {
	rng := rand.New(rand.NewPCG(1, 2))
	z := autograd.NewParam(tensor.RandNormal(rng, 0, 1, 64, 16))        // online g(f(p)) [N D]
	zbar := tensor.Add(z.Value, tensor.RandNormal(rng, 0, 0.1, 64, 16)) // EMA ḡ(f̄(p)) [N D]
	opt := loss.DefaultOptions()
	opt.Normalize = true // STML-style: similarities on unit vectors

	tp := autograd.NewTape()
	l, st := loss.Loss(tp, z, zbar, opt)
	tp.Backward(l)
	fmt.Printf("loss %.3f, median ‖z̄ᵢ−z̄ⱼ‖² %.2f, mean w_pair %.2f, mean w_ctx %.3f, gradient %v\n",
		l.Item(), st.MedianSqDist, st.MeanPair, st.MeanCtx, z.Grad.Shape())
	// Output: loss 5.575, median ‖z̄ᵢ−z̄ⱼ‖² 2.01, mean w_pair 0.15, mean w_ctx 0.032, gradient [64 16]
}
