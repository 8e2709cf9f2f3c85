package reconpatch

import (
	"context"
	"fmt"

	"github.com/reconpatch/rp/nn"
	"github.com/reconpatch/rp/reconpatch/head"
	"github.com/reconpatch/rp/tensor"
)

// HeadOptions configure the training of ReConPatch's heads f and g.
type HeadOptions = head.TrainConfig

// DefaultHeadOptions are the project defaults (see head.DefaultTrainConfig).
func DefaultHeadOptions() HeadOptions { return head.DefaultTrainConfig() }

// trainHead trains f and g on the aggregated patch features (n×d, in memory
// or on disk) and returns f's weight (out×d) and bias.
func trainHead(ctx context.Context, src head.FeatureSource, o Options, rep Reporter) (w, b []float32, err error) {
	cfg := o.Head
	cfg.Seed = o.Seed
	rep.Begin("training", cfg.Epochs, "epochs")
	h, _, err := head.Train(ctx, src, cfg, func(s head.EpochStats) {
		rep.Update(s.Epoch)
		rep.Logf("%s", s)
	})
	if err != nil {
		rep.End("stopped")
		return nil, nil, fmt.Errorf("reconpatch: training the head: %w", err)
	}
	rep.End("")
	ts := h.Tensors()
	fw, fb := ts["f.weight"], ts["f.bias"]
	if fw == nil || fb == nil {
		return nil, nil, fmt.Errorf("reconpatch: the trained head has no f")
	}
	return fw.Contiguous().Data(), fb.Contiguous().Data(), nil
}

// embedRows applies f to every row of src, n×D, streamed in chunks, and
// appends the embeddings n×D' to dst in order. Each row's embedding does
// not depend on the chunk it is computed in (the product computes each
// output from its own row), so the result is Embed's on all rows at once.
func embedRows(ctx context.Context, f nn.Layer, src head.FeatureSource, dst featureStore, rep Reporter) error {
	rep.Begin("embedding", src.Len(), "patches")
	err := forRowChunks(src, func(lo, hi int, x []float32) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		y := Embed(f, tensor.FromSlice(x, hi-lo, src.Dim())) // (hi−lo)×D'
		if err := dst.Append(y.Data()); err != nil {
			return fmt.Errorf("reconpatch: caching the embeddings: %w", err)
		}
		rep.Update(hi)
		return nil
	})
	if err != nil {
		rep.End("stopped")
		return err
	}
	rep.End("")
	return nil
}
