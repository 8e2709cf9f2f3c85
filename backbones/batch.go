package backbones

import (
	"fmt"
	"math"
	"sort"

	"github.com/reconpatch/rp/nn"
	"github.com/reconpatch/rp/tensor"
)

// imageByImage makes the Forward of the ungrouped ResNets, the DenseNets and
// the Keras ResNet-50 run a batch one image at a time (a variable for tests):
// one image's activations stay in cache from layer to layer, where a batch of
// eight (25 MB per layer for keras_resnet50's first stage; a dense layer
// re-reads its block's whole concatenation) streams through memory. Measured
// at batch 8 on 2 threads: keras_resnet50 29.6 → 26.0 ms per image, resnet50
// 26.6 → 24.1, wide_resnet50_2 level; DenseNet-201 on one thread 45–62 →
// 43–44 ms, on two level. ResNeXt-101 (grouped) measured level and keeps the
// batch.
var imageByImage = true

// ForwardBatched is b.Forward(x, taps...) run on at most batch images at a
// time, for inputs too large to push through at once: x, N×3×H×W, is split
// along N and each tap's outputs are joined again, N×…. The results equal
// Forward's.
func ForwardBatched(b Backbone, x *tensor.Tensor, batch int, taps ...string) (map[string]*tensor.Tensor, error) {
	if batch < 1 {
		return nil, fmt.Errorf("backbones: %s: batch size %d", b.Name(), batch)
	}
	if x == nil || x.Dims() != 4 || x.Dim(0) <= batch {
		return b.Forward(x, taps...)
	}
	n := x.Dim(0)
	per := x.Size() / n
	xd := x.Contiguous().Data()
	out := make(map[string]*tensor.Tensor, len(taps))
	for i := 0; i < n; i += batch {
		k := min(batch, n-i)
		chunk := tensor.FromSlice(xd[i*per:(i+k)*per], k, x.Dim(1), x.Dim(2), x.Dim(3))
		res, err := b.Forward(chunk, taps...)
		if err != nil {
			return nil, err
		}
		done := make(map[*float32]bool, len(res))
		for name, t := range res {
			o := out[name]
			if o == nil {
				shape := append([]int{n}, t.Shape()[1:]...)
				o = tensor.New(shape...)
				out[name] = o
			}
			size := t.Size() / k
			copy(o.Data()[i*size:][:k*size], t.Contiguous().Data())
			// The chunk's outputs are copied: their storage goes back to
			// nn.Temp for the next chunk's layers (fresh buffers cost page
			// faults and clearing: a tenth of keras_resnet50's time at
			// batch 8). Each once, and never the input's.
			if d := t.Data(); len(d) > 0 && &d[0] != &chunk.Data()[0] && !done[&d[0]] {
				done[&d[0]] = true
				nn.Release(t)
			}
		}
	}
	return out, nil
}

// Prediction is one class a classifier assigns to an image.
type Prediction struct {
	// Class is the index of the class in the classifier's output.
	Class int
	// Name is the class's ImageNet name, or "class N" for classifiers that
	// do not have 1000 outputs.
	Name string
	// Prob is the softmax probability.
	Prob float32
}

// Classify runs b's classifier on x, N×3×H×W normalised as b expects, and
// returns the k most probable classes of each image, most probable first.
func Classify(b Backbone, x *tensor.Tensor, k int) ([][]Prediction, error) {
	res, err := b.Forward(x, "logits")
	if err != nil {
		return nil, err
	}
	logits := res["logits"]
	if logits.Dims() != 2 {
		return nil, fmt.Errorf("backbones: %s: logits shape %v is not N×classes", b.Name(), logits.Shape())
	}
	probs := nn.Softmax{Dim: 1}.Forward(logits).Data() // N×classes
	n, classes := logits.Dim(0), logits.Dim(1)
	k = min(k, classes)
	out := make([][]Prediction, n)
	for i := range n {
		row := probs[i*classes : (i+1)*classes]
		idx := make([]int, classes)
		for j := range idx {
			idx[j] = j
		}
		sort.SliceStable(idx, func(a, b int) bool {
			return row[idx[a]] > row[idx[b]] || (math.IsNaN(float64(row[idx[b]])) && !math.IsNaN(float64(row[idx[a]])))
		})
		for _, c := range idx[:k] {
			name := fmt.Sprintf("class %d", c)
			if classes == len(ImageNetClasses) {
				name = ImageNetClasses[c]
			}
			out[i] = append(out[i], Prediction{Class: c, Name: name, Prob: row[c]})
		}
	}
	return out, nil
}
