package head

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/simd"
	"github.com/reconpatch/rp/tensor"
	"github.com/reconpatch/rp/weights"
)

// Default widths: f = Linear(1024 → 512) as section 12; g = Linear(512 → 256),
// twice section 12's 128, which localised better on magnetic-tile over two
// seeds (docs/RESULTS.md).
const (
	DefaultInDim = 1024
	DefaultFDim  = 512
	DefaultGDim  = 256
)

// Names of the head's tensors in a model file, in the order Tensors and
// StateDict list them. Weights are PyTorch's O×I layout.
const (
	NameFWeight = "f.weight" // [D_f D_in]
	NameFBias   = "f.bias"   // [D_f]
	NameGWeight = "g.weight" // [D_g D_f]
	NameGBias   = "g.bias"   // [D_g]
)

// TensorNames lists the four tensor names in their canonical order.
var TensorNames = []string{NameFWeight, NameFBias, NameGWeight, NameGBias}

// initStream is the PCG stream of the weight initialisation (the batch
// sampler uses another stream of the same seed).
const initStream = 0x6865_6164_696e_6974 // "headinit"

// Head is the trainable part of ReConPatch (section 5): the representation
// layer f, an affine map D_in → D_f whose output is the embedding of the
// memory bank, and the projection layer g, D_f → D_g, on which the loss is
// computed. Neither has an activation or a normalisation.
//
// The layers are autograd parameters, so a Trainer updates them in place;
// Embed and Project read them without a tape. A Head must not be embedded
// with while it is being trained, but once training is over any number of
// goroutines may call Embed and Project at once.
type Head struct {
	F *autograd.Linear // W [D_f D_in], B [D_f]
	G *autograd.Linear // W [D_g D_f], B [D_g]; nil in an inference-only head
}

// New returns a head D_in → D_f → D_g initialised as PyTorch's nn.Linear
// (weights and biases from U(−1/√fan_in, 1/√fan_in)), drawn from a PCG
// generator seeded with seed: f's weight, f's bias, g's weight, g's bias, in
// that order. The same seed gives the same head.
func New(in, dimF, dimG int, seed uint64) (*Head, error) {
	if in < 1 || dimF < 1 || dimG < 1 {
		return nil, fmt.Errorf("head: New(%d, %d, %d): widths must be ≥ 1", in, dimF, dimG)
	}
	rng := rand.New(rand.NewPCG(seed, initStream))
	f := autograd.NewLinear(rng, in, dimF, true)
	g := autograd.NewLinear(rng, dimF, dimG, true)
	h := &Head{F: f, G: g}
	h.name()
	return h, nil
}

// name labels the parameters with their tensor names.
func (h *Head) name() {
	h.F.W.Name, h.F.B.Name = NameFWeight, NameFBias
	if h.G != nil {
		h.G.W.Name, h.G.B.Name = NameGWeight, NameGBias
	}
}

// InDim is D_in, the width of a patch feature.
func (h *Head) InDim() int { return h.F.W.Shape()[1] }

// FDim is D_f, the width of the embedding f(x).
func (h *Head) FDim() int { return h.F.W.Shape()[0] }

// GDim is D_g, the width of the projection g(f(x)), or 0 without g.
func (h *Head) GDim() int {
	if h.G == nil {
		return 0
	}
	return h.G.W.Shape()[0]
}

// String describes the widths, such as "head 1024→512→128".
func (h *Head) String() string {
	if h.G == nil {
		return fmt.Sprintf("head %d→%d", h.InDim(), h.FDim())
	}
	return fmt.Sprintf("head %d→%d→%d", h.InDim(), h.FDim(), h.GDim())
}

// Params returns the trainable parameters in the order of TensorNames:
// f.W, f.B, g.W, g.B (g's only if present).
func (h *Head) Params() []*autograd.Var {
	if h.G == nil {
		return autograd.Params(h.F)
	}
	return autograd.Params(h.F, h.G)
}

// Clone returns a deep copy of h with fresh parameters.
func (h *Head) Clone() *Head {
	cp := func(l *autograd.Linear) *autograd.Linear {
		if l == nil {
			return nil
		}
		return &autograd.Linear{W: autograd.NewParam(l.W.Value.Clone()), B: autograd.NewParam(l.B.Value.Clone())}
	}
	c := &Head{F: cp(h.F), G: cp(h.G)}
	c.name()
	return c
}

// Embed applies the representation layer without a tape: f(x) = x·Wᵀ + b.
// Shape: x [… D_in] → [… D_f] (typically N×D_in patch features → N×D_f
// memory-bank rows). It runs on simd.Sgemm, on all its workers. It panics if
// x's last dimension is not D_in.
func (h *Head) Embed(x *tensor.Tensor) *tensor.Tensor {
	return affine(h.F, x, "Embed")
}

// Forward is Embed, so that a Head is an nn.Layer (the representation layer
// that reconpatch.Embed applies).
func (h *Head) Forward(x *tensor.Tensor) *tensor.Tensor { return h.Embed(x) }

// EmbedRows is Embed on raw slices: it writes f of the n rows of x
// (n×D_in, row-major) into dst (n×D_f). It panics if a slice is too short.
func (h *Head) EmbedRows(dst, x []float32, n int) {
	in, out := h.InDim(), h.FDim()
	if len(x) < n*in || len(dst) < n*out {
		panic(fmt.Sprintf("head: EmbedRows: %d rows need %d inputs and %d outputs, have %d and %d", n, n*in, n*out, len(x), len(dst)))
	}
	linearRows(h.F, dst[:n*out], x[:n*in], n)
}

// Project applies both layers without a tape: g(f(x)).
// Shape: x [… D_in] → [… D_g]. It panics if h has no g.
func (h *Head) Project(x *tensor.Tensor) *tensor.Tensor {
	if h.G == nil {
		panic("head: Project: the head has no projection layer g")
	}
	return affine(h.G, affine(h.F, x, "Project"), "Project")
}

// affine returns x·Wᵀ + b for the layer l. Shape: [… I] → [… O].
func affine(l *autograd.Linear, x *tensor.Tensor, op string) *tensor.Tensor {
	out, in := l.W.Shape()[0], l.W.Shape()[1]
	xs := x.Shape()
	if len(xs) == 0 || xs[len(xs)-1] != in {
		panic(fmt.Sprintf("head: %s: input shape %v: need […, %d]", op, xs, in))
	}
	shape := append([]int(nil), xs...)
	shape[len(shape)-1] = out
	y := tensor.New(shape...)
	n := x.Size() / in
	linearRows(l, y.Data(), x.Contiguous().Data(), n)
	return y
}

// linearRows writes y [n O] = x [n I] · Wᵀ + b.
func linearRows(l *autograd.Linear, y, x []float32, n int) {
	out, in := l.W.Shape()[0], l.W.Shape()[1]
	if n == 0 {
		return
	}
	simd.Sgemm(false, true, n, out, in, 1, x, in, l.W.Value.Data(), in, 0, y, out)
	b := l.B.Value.Data()
	for r := range n {
		row := y[r*out : (r+1)*out]
		for j, v := range b {
			row[j] += v
		}
	}
}

// Tensors returns copies of the head's weights by name (see TensorNames):
// f.weight [D_f D_in], f.bias [D_f], and, with g, g.weight [D_g D_f] and
// g.bias [D_g].
func (h *Head) Tensors() map[string]*tensor.Tensor {
	m := make(map[string]*tensor.Tensor, 4)
	for _, p := range h.Params() {
		m[p.Name] = p.Value.Clone()
	}
	return m
}

// StateDict returns the head's tensors (copies) as a weights.StateDict, in
// the order of TensorNames, ready for weights.SaveSafetensors.
func (h *Head) StateDict() *weights.StateDict {
	sd := weights.NewStateDict()
	for _, p := range h.Params() {
		sd.Set(p.Name, p.Value.Clone())
	}
	return sd
}

// FromTensors builds a head from named tensors as Tensors writes them,
// copying them. f.weight and f.bias are required; g.weight and g.bias are
// optional together (without them the head embeds but cannot be trained).
// Names other than the four are ignored. Shapes must agree and every value
// must be finite.
func FromTensors(ts map[string]*tensor.Tensor) (*Head, error) {
	return fromLookup(func(name string) *tensor.Tensor { return ts[name] })
}

// FromStateDict is FromTensors on a weights.StateDict, such as one read by
// weights.LoadSafetensors.
func FromStateDict(sd *weights.StateDict) (*Head, error) {
	return fromLookup(sd.Get)
}

func fromLookup(get func(string) *tensor.Tensor) (*Head, error) {
	fw, fb := get(NameFWeight), get(NameFBias)
	if fw == nil || fb == nil {
		return nil, fmt.Errorf("head: FromTensors: need %s and %s (have %s: %v, %s: %v)",
			NameFWeight, NameFBias, NameFWeight, fw != nil, NameFBias, fb != nil)
	}
	f, err := linearFrom(NameFWeight, NameFBias, fw, fb)
	if err != nil {
		return nil, err
	}
	h := &Head{F: f}
	gw, gb := get(NameGWeight), get(NameGBias)
	switch {
	case gw == nil && gb == nil:
	case gw == nil || gb == nil:
		return nil, fmt.Errorf("head: FromTensors: %s and %s come together (have %s: %v, %s: %v)",
			NameGWeight, NameGBias, NameGWeight, gw != nil, NameGBias, gb != nil)
	default:
		g, err := linearFrom(NameGWeight, NameGBias, gw, gb)
		if err != nil {
			return nil, err
		}
		if g.W.Shape()[1] != f.W.Shape()[0] {
			return nil, fmt.Errorf("head: FromTensors: %s %v does not take the %d outputs of %s %v",
				NameGWeight, gw.Shape(), f.W.Shape()[0], NameFWeight, fw.Shape())
		}
		h.G = g
	}
	h.name()
	return h, nil
}

func linearFrom(wn, bn string, w, b *tensor.Tensor) (*autograd.Linear, error) {
	ws, bs := w.Shape(), b.Shape()
	if len(ws) != 2 || ws[0] < 1 || ws[1] < 1 {
		return nil, fmt.Errorf("head: FromTensors: %s has shape %v: need O×I", wn, ws)
	}
	if len(bs) != 1 || bs[0] != ws[0] {
		return nil, fmt.Errorf("head: FromTensors: %s has shape %v: need [%d] for %s %v", bn, bs, ws[0], wn, ws)
	}
	w, b = w.Clone(), b.Clone()
	for _, t := range []struct {
		name string
		v    *tensor.Tensor
	}{{wn, w}, {bn, b}} {
		if i := firstNonFinite(t.v.Data()); i >= 0 {
			return nil, fmt.Errorf("head: FromTensors: %s[%d] = %v is not finite", t.name, i, t.v.Data()[i])
		}
	}
	return &autograd.Linear{W: autograd.NewParam(w), B: autograd.NewParam(b)}, nil
}

// firstNonFinite returns the index of the first NaN or ±Inf in x, or −1.
func firstNonFinite(x []float32) int {
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return i
		}
	}
	return -1
}

// errNoG is returned when a head without g is given to training.
var errNoG = errors.New("the head has no projection layer g, which training needs")
