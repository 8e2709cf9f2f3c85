package reconpatch

import (
	"context"
	"fmt"

	"github.com/reconpatch/rp/reconpatch/head"
)

// HeadOptions configure the training of ReConPatch's heads f and g.
type HeadOptions = head.TrainConfig

// DefaultHeadOptions are the project defaults (see head.DefaultTrainConfig).
func DefaultHeadOptions() HeadOptions { return head.DefaultTrainConfig() }

// trainHead trains f and g on the aggregated patch features (n×d) and
// returns f's weight (out×d) and bias.
func trainHead(ctx context.Context, feats []float32, d int, o Options, rep Reporter) (w, b []float32, err error) {
	src, err := head.Float32FeaturesOf(feats, d)
	if err != nil {
		return nil, nil, err
	}
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
