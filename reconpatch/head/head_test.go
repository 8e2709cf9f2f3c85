package head_test

import (
	"maps"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reconpatch/rp/autograd"
	"github.com/reconpatch/rp/nn"
	"github.com/reconpatch/rp/reconpatch/head"
	"github.com/reconpatch/rp/tensor"
	"github.com/reconpatch/rp/weights"
)

var _ nn.Layer = (*head.Head)(nil) // reconpatch.Embed takes a Head

func TestNew(t *testing.T) {
	a, err := head.New(48, 20, 6, 1)
	if err != nil {
		t.Fatal(err)
	}
	if a.InDim() != 48 || a.FDim() != 20 || a.GDim() != 6 || a.String() != "head 48→20→6" {
		t.Fatalf("widths %d %d %d, %v", a.InDim(), a.FDim(), a.GDim(), a)
	}
	// PyTorch's bound 1/√fan_in, not degenerate.
	for _, p := range []struct {
		v     *autograd.Var
		bound float64
	}{{a.F.W, 1 / math.Sqrt(48)}, {a.F.B, 1 / math.Sqrt(48)}, {a.G.W, 1 / math.Sqrt(20)}, {a.G.B, 1 / math.Sqrt(20)}} {
		d := p.v.Value.Data()
		lo, hi := slices.Min(d), slices.Max(d)
		if float64(-lo) > p.bound || float64(hi) > p.bound || float64(hi-lo) < p.bound {
			t.Errorf("%s in [%v, %v], bound %v", p.v.Name, lo, hi, p.bound)
		}
	}
	b, _ := head.New(48, 20, 6, 1)
	c, _ := head.New(48, 20, 6, 2)
	if !slices.Equal(a.F.W.Value.Data(), b.F.W.Value.Data()) || slices.Equal(a.F.W.Value.Data(), c.F.W.Value.Data()) {
		t.Error("the initialisation does not follow the seed")
	}
	for _, w := range [][3]int{{0, 1, 1}, {1, 0, 1}, {1, 1, 0}} {
		if _, err := head.New(w[0], w[1], w[2], 0); err == nil {
			t.Errorf("New%v: no error", w)
		}
	}
}

// TestEmbed checks the tape-free fast path against the autograd Linear
// layers it shares weights with, for several batch shapes.
func TestEmbed(t *testing.T) {
	h, _ := head.New(40, 24, 8, 3)
	rng := rand.New(rand.NewPCG(4, 5))
	for _, shape := range [][]int{{1, 40}, {7, 40}, {300, 40}, {2, 9, 40}, {40}} {
		x := tensor.RandNormal(rng, 0, 1, shape...)
		y := h.Embed(x)
		wantShape := append(slices.Clone(shape[:len(shape)-1]), 24)
		if !slices.Equal(y.Shape(), wantShape) {
			t.Fatalf("Embed %v → %v, want %v", shape, y.Shape(), wantShape)
		}
		want := h.F.Forward(nil, autograd.NewConst(x)).Value
		if !tensor.AllClose(y, want, 1e-6, 1e-6) {
			t.Errorf("Embed %v differs from the tape's Linear", shape)
		}
		if fw := h.Forward(x); !tensor.Equal(fw, y) {
			t.Errorf("Forward %v differs from Embed", shape)
		}
		z := h.Project(x)
		wantZ := h.G.Forward(nil, h.F.Forward(nil, autograd.NewConst(x))).Value
		if !tensor.AllClose(z, wantZ, 1e-5, 1e-5) {
			t.Errorf("Project %v differs from the tape's g(f(x))", shape)
		}
		rows := x.Size() / 40
		dst := make([]float32, rows*24)
		h.EmbedRows(dst, x.Data(), rows)
		if !slices.Equal(dst, y.Data()) {
			t.Errorf("EmbedRows %v differs from Embed", shape)
		}
	}
	// Against nn.Linear, built from the exported tensors.
	ts := h.Tensors()
	lin, err := nn.NewLinear(ts[head.NameFWeight], ts[head.NameFBias])
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.RandNormal(rng, 0, 1, 33, 40)
	if !tensor.AllClose(h.Embed(x), lin.Forward(x), 1e-6, 1e-6) {
		t.Error("Embed differs from nn.Linear")
	}
}

func TestTensorsRoundTrip(t *testing.T) {
	h, _ := head.New(12, 10, 4, 9)
	ts := h.Tensors()
	if got := slices.Sorted(maps.Keys(ts)); !slices.Equal(got, slices.Sorted(slices.Values(head.TensorNames))) {
		t.Fatalf("names %v", got)
	}
	want := map[string][]int{"f.weight": {10, 12}, "f.bias": {10}, "g.weight": {4, 10}, "g.bias": {4}}
	for n, s := range want {
		if !slices.Equal(ts[n].Shape(), s) {
			t.Errorf("%s: shape %v, want %v", n, ts[n].Shape(), s)
		}
	}
	ts[head.NameFWeight].Data()[0] = 99 // a copy: the head is unchanged
	if h.F.W.Value.Data()[0] == 99 {
		t.Error("Tensors shares memory with the head")
	}
	ts = h.Tensors()
	back, err := head.FromTensors(ts)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.RandNormal(rand.New(rand.NewPCG(1, 1)), 0, 1, 5, 12)
	if !tensor.Equal(back.Project(x), h.Project(x)) {
		t.Error("FromTensors(Tensors()) projects differently")
	}

	// Through a safetensors file.
	path := filepath.Join(t.TempDir(), "head.safetensors")
	sd := h.StateDict()
	if !slices.Equal(sd.Names(), head.TensorNames) {
		t.Errorf("StateDict order %v", sd.Names())
	}
	if err := weights.SaveSafetensors(path, sd, nil, weights.F32); err != nil {
		t.Fatal(err)
	}
	loaded, err := weights.LoadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	back, err = head.FromStateDict(loaded)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.Equal(back.Project(x), h.Project(x)) {
		t.Error("a head saved and loaded as safetensors projects differently")
	}

	// Without g: an inference-only head.
	delete(ts, head.NameGWeight)
	delete(ts, head.NameGBias)
	fOnly, err := head.FromTensors(ts)
	if err != nil {
		t.Fatal(err)
	}
	if fOnly.GDim() != 0 || !tensor.Equal(fOnly.Embed(x), h.Embed(x)) || len(fOnly.Tensors()) != 2 || fOnly.String() != "head 12→10" {
		t.Error("f-only head is wrong")
	}
	if _, err := head.NewTrainer(fOnly, head.DefaultTrainConfig()); err == nil || !strings.Contains(err.Error(), "no projection layer") {
		t.Errorf("training an f-only head: %v", err)
	}
}

func TestFromTensorsErrors(t *testing.T) {
	h, _ := head.New(12, 10, 4, 9)
	nan := tensor.Full(float32(math.NaN()), 10)
	for _, tc := range []struct {
		name   string
		mutate func(map[string]*tensor.Tensor)
		want   string
	}{
		{"no f.weight", func(m map[string]*tensor.Tensor) { delete(m, "f.weight") }, "need f.weight and f.bias"},
		{"no f.bias", func(m map[string]*tensor.Tensor) { delete(m, "f.bias") }, "need f.weight and f.bias"},
		{"g.weight alone", func(m map[string]*tensor.Tensor) { delete(m, "g.bias") }, "come together"},
		{"1-d weight", func(m map[string]*tensor.Tensor) { m["f.weight"] = tensor.New(120) }, "need O×I"},
		{"bias length", func(m map[string]*tensor.Tensor) { m["f.bias"] = tensor.New(11) }, "need [10]"},
		{"g width", func(m map[string]*tensor.Tensor) { m["g.weight"] = tensor.New(4, 9) }, "does not take the 10 outputs"},
		{"NaN", func(m map[string]*tensor.Tensor) { m["f.bias"] = nan }, "not finite"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := h.Tensors()
			tc.mutate(ts)
			_, err := head.FromTensors(ts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestClone(t *testing.T) {
	h, _ := head.New(6, 5, 3, 1)
	c := h.Clone()
	c.F.W.Value.Data()[0] += 1
	if h.F.W.Value.Data()[0] == c.F.W.Value.Data()[0] {
		t.Error("Clone shares memory")
	}
	if c.F.W.Name != head.NameFWeight || !c.G.B.RequiresGrad() {
		t.Error("Clone lost the parameter names or trainability")
	}
}
