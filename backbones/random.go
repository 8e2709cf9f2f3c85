package backbones

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/reconpatch/rp/tensor"
	"github.com/reconpatch/rp/weights"
)

// RandomStateDict returns a state dict for the named torchvision backbone
// (not keras_resnet50, which is built from a layer graph) with random
// weights and batch-norm statistics, seeded by seed: He-normal convolution
// and linear weights, biases and running means N(0, 0.2²), running
// variances in [0.5, 2], batch-norm scales in [0.4, 1]. Building from an
// empty dict lists every tensor the architecture wants, with its shape.
// Benchmarks and tests use it where the pretrained weights do not matter.
func RandomStateDict(name string, seed uint64) (*weights.StateDict, error) {
	_, err := New(name, weights.NewStateDict())
	var me *weights.MismatchError
	if !errors.As(err, &me) {
		if err == nil {
			err = fmt.Errorf("backbones: %s: built without weights", name)
		}
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	sd := weights.NewStateDict()
	for _, w := range me.Missing {
		t := tensor.New(w.Shape...)
		d := t.Data()
		switch {
		case strings.HasSuffix(w.Name, ".running_var"):
			for i := range d {
				d[i] = 0.5 + 1.5*rng.Float32()
			}
		case strings.HasSuffix(w.Name, ".running_mean"), strings.HasSuffix(w.Name, ".bias"):
			for i := range d {
				d[i] = 0.2 * float32(rng.NormFloat64())
			}
		case len(w.Shape) == 1: // batch-norm gamma
			for i := range d {
				d[i] = 0.4 + 0.6*rng.Float32()
			}
		default: // He-normal weights
			std := math.Sqrt(2 / float64(t.Size()/w.Shape[0]))
			for i := range d {
				d[i] = float32(std * rng.NormFloat64())
			}
		}
		sd.Set(w.Name, t)
	}
	return sd, nil
}
