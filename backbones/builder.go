package backbones

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/reconpatch/rp/nn"
	"github.com/reconpatch/rp/tensor"
	"github.com/reconpatch/rp/weights"
)

// builder fills an architecture from a state dict. Every tensor the
// architecture asks for is recorded with its expected shape; a tensor that is
// missing or mis-shaped yields nil and leaves the layer that needed it
// unbuilt, so that building goes on and finish can report every problem at
// once through weights.CheckNames.
type builder struct {
	sd    *weights.StateDict
	wants []weights.Want
	err   error // the first error of an nn constructor given well-shaped tensors
}

// get returns the named tensor if it has the given shape, else nil.
func (b *builder) get(name string, shape ...int) *tensor.Tensor {
	b.wants = append(b.wants, weights.Want{Name: name, Shape: slices.Clone(shape)})
	t := b.sd.Get(name)
	if t == nil || !slices.Equal(t.Shape(), shape) {
		return nil
	}
	return t
}

// fail records the first constructor error.
func (b *builder) fail(err error) {
	if b.err == nil && err != nil {
		b.err = err
	}
}

// finish returns the single error listing every missing, unexpected and
// mis-shaped tensor, or the first constructor error, or nil. Tensors for
// which ignore returns true may be present without being used.
func (b *builder) finish(backbone string, ignore func(string) bool) error {
	if err := weights.CheckNames(b.sd, b.wants, ignore); err != nil {
		return fmt.Errorf("backbones: %s: %w", backbone, err)
	}
	if b.err != nil {
		where := ""
		if b.sd.Path != "" {
			where = b.sd.Path + ": "
		}
		return fmt.Errorf("backbones: %s: %s%w", backbone, where, b.err)
	}
	return nil
}

// torchBN reads a torchvision BatchNorm2d over ch channels (eps 1e-5).
func (b *builder) torchBN(prefix string, ch int) *nn.BatchNorm2d {
	g := b.get(prefix+".weight", ch)
	beta := b.get(prefix+".bias", ch)
	m := b.get(prefix+".running_mean", ch)
	v := b.get(prefix+".running_var", ch)
	if g == nil || beta == nil || m == nil || v == nil {
		return nil
	}
	bn, err := nn.NewBatchNorm2d(g, beta, m, v, 1e-5)
	if err != nil {
		b.fail(fmt.Errorf("%s: %w", prefix, err))
		return nil
	}
	return bn
}

// torchConvBN reads a bias-free torchvision convolution, in → out channels
// with a k×k kernel, and the batch normalisation after it, and returns the
// convolution with the normalisation folded in and act applied to its
// output.
func (b *builder) torchConvBN(conv, bnName string, in, out, k int, opts nn.Conv2dOptions, act nn.Activation) *nn.Conv2d {
	groups := max(opts.Groups, 1)
	w := b.get(conv+".weight", out, in/groups, k, k)
	bn := b.torchBN(bnName, out)
	if w == nil || bn == nil {
		return nil
	}
	return b.foldConv(conv, w, nil, bn, opts, act)
}

// foldConv builds the convolution w (O×I/g×KH×KW), bias (or nil), folds bn
// (or nil) into it and sets its activation.
func (b *builder) foldConv(name string, w, bias *tensor.Tensor, bn *nn.BatchNorm2d, opts nn.Conv2dOptions, act nn.Activation) *nn.Conv2d {
	opts.Activation = nn.ActivationNone
	c, err := nn.NewConv2d(w, bias, opts)
	if err != nil {
		b.fail(fmt.Errorf("%s: %w", name, err))
		return nil
	}
	if bn != nil {
		if c, err = c.FoldBatchNorm(bn); err != nil {
			b.fail(fmt.Errorf("%s: %w", name, err))
			return nil
		}
	}
	return c.WithActivation(act)
}

// linear reads a torchvision Linear layer, in → out features.
func (b *builder) linear(prefix string, in, out int) *nn.Linear {
	w := b.get(prefix+".weight", out, in)
	bias := b.get(prefix+".bias", out)
	if w == nil || bias == nil {
		return nil
	}
	l, err := nn.NewLinear(w, bias)
	if err != nil {
		b.fail(fmt.Errorf("%s: %w", prefix, err))
		return nil
	}
	return l
}

// tfjsPath is the model.json of a TF.js model given as the file or its
// folder.
func tfjsPath(p string) string {
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return filepath.Join(p, "model.json")
	}
	return p
}
