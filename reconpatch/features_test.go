package reconpatch

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/reconpatch/rp/nn"
	"github.com/reconpatch/rp/tensor"
)

// wrnClosedForm is section 4a's closed form for WideResNet-50 (layer2 512
// channels, layer3 1024, pretrain and target 1024, patch 3), in float64:
// out[c] for c < 512 is layer2 channel c's zero-padded 3×3 neighbourhood
// weighted 1/10 (outer taps) and 2/10 (centre); out[512+j] is the bilinear
// upsampling of the mean of layer3 channels 2j and 2j+1's plain 3×3 means.
func wrnClosedForm(l2, l3 *tensor.Tensor) []float64 {
	n, h, w := l2.Dim(0), l2.Dim(2), l2.Dim(3)
	h3, w3 := l3.Dim(2), l3.Dim(3)
	a, b := l2.Data(), l3.Data()
	at := func(x []float32, c, hh, ww, y, xx int) float64 {
		if y < 0 || y >= hh || xx < 0 || xx >= ww {
			return 0
		}
		return float64(x[(c*hh+y)*ww+xx])
	}
	out := make([]float64, n*h*w*1024)
	ty, tx := linearTaps64(h3, h), linearTaps64(w3, w)
	for img := range n {
		ai := a[img*512*h*w:]
		bi := b[img*1024*h3*w3:]
		// 3×3 means of layer3, pairs of channels averaged.
		m3 := make([]float64, 512*h3*w3)
		for j := range 512 {
			for y := range h3 {
				for x := range w3 {
					var s float64
					for _, c := range []int{2 * j, 2*j + 1} {
						for dy := -1; dy <= 1; dy++ {
							for dx := -1; dx <= 1; dx++ {
								s += at(bi, c, h3, w3, y+dy, x+dx)
							}
						}
					}
					m3[(j*h3+y)*w3+x] = s / 18
				}
			}
		}
		for y := range h {
			for x := range w {
				o := out[((img*h+y)*w+x)*1024:][:1024]
				for c := range 512 {
					var s float64
					for dy := -1; dy <= 1; dy++ {
						for dx := -1; dx <= 1; dx++ {
							wt := 0.1
							if dy == 0 && dx == 0 {
								wt = 0.2
							}
							s += wt * at(ai, c, h, w, y+dy, x+dx)
						}
					}
					o[c] = s
				}
				for j := range 512 {
					p := m3[j*h3*w3:]
					o[512+j] = ty[y].l0*(tx[x].l0*p[ty[y].i0*w3+tx[x].i0]+tx[x].l1*p[ty[y].i0*w3+tx[x].i1]) +
						ty[y].l1*(tx[x].l0*p[ty[y].i1*w3+tx[x].i0]+tx[x].l1*p[ty[y].i1*w3+tx[x].i1])
				}
			}
		}
	}
	return out
}

type tap64 struct {
	i0, i1 int
	l0, l1 float64
}

func linearTaps64(in, out int) []tap64 {
	t := make([]tap64, out)
	for o := range t {
		s := max((float64(o)+0.5)*float64(in)/float64(out)-0.5, 0)
		i0 := min(int(s), in-1)
		l := s - float64(i0)
		i1 := min(i0+1, in-1)
		t[o] = tap64{i0, i1, 1 - l, l}
	}
	return t
}

func TestAggregateWRNClosedForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sz := range [][2]int{{6, 6}, {8, 10}, {28, 28}} {
		h, w := sz[0], sz[1]
		l2 := tensor.RandUniform(rng, 0, 2, 2, 512, h, w)
		l3 := tensor.RandUniform(rng, 0, 2, 2, 1024, h/2, w/2)
		got, grid, err := Aggregate(DefaultFeatureConfig(), map[string]*tensor.Tensor{"layer2": l2, "layer3": l3, "layer1": nil})
		if err != nil {
			t.Fatal(err)
		}
		if grid != (Grid{h, w}) || got.Dim(0) != 2 || got.Dim(1) != h*w || got.Dim(2) != 1024 {
			t.Fatalf("shape %v grid %v", got.Shape(), grid)
		}
		want := wrnClosedForm(l2, l3)
		var maxDiff, maxRef float64
		for i, v := range got.Data() {
			maxDiff = max(maxDiff, math.Abs(float64(v)-want[i]))
			maxRef = max(maxRef, math.Abs(want[i]))
		}
		t.Logf("%d×%d: max |Δ| / max |ref| = %.3g", h, w, maxDiff/maxRef)
		if maxDiff/maxRef > 1e-6 {
			t.Errorf("%d×%d: relative error %.3g", h, w, maxDiff/maxRef)
		}
	}
}

func TestAggregateShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	taps := map[string]*tensor.Tensor{
		"layer1": tensor.RandUniform(rng, -1, 1, 1, 8, 16, 16),
		"layer2": tensor.RandUniform(rng, -1, 1, 1, 16, 8, 8),
		"layer3": tensor.RandUniform(rng, -1, 1, 1, 32, 4, 4),
	}
	// The paper's ablation: patch 5, levels 1, 2, 3.
	cfg := FeatureConfig{Layers: []string{"layer1", "layer2", "layer3"}, PatchSize: 5, PretrainDim: 64, TargetDim: 48}
	got, grid, err := Aggregate(cfg, taps)
	if err != nil {
		t.Fatal(err)
	}
	if grid != (Grid{16, 16}) || got.Dim(1) != 256 || got.Dim(2) != 48 {
		t.Errorf("shape %v grid %v", got.Shape(), grid)
	}
	cfg.Aggregation = AggregateConcat
	got, _, err = Aggregate(cfg, taps)
	if err != nil {
		t.Fatal(err)
	}
	if got.Dim(2) != 56 || cfg.Dim(8, 16, 32) != 56 {
		t.Errorf("concat dim %d, want 56", got.Dim(2))
	}

	// A constant map away from the border stays constant under 4a.
	c := tensor.Full(2.5, 1, 4, 7, 7)
	got, _, err = Aggregate(FeatureConfig{Layers: []string{"a"}, PatchSize: 3, PretrainDim: 4, TargetDim: 4}, map[string]*tensor.Tensor{"a": c})
	if err != nil {
		t.Fatal(err)
	}
	centre := got.Data()[(3*7+3)*4:][:4]
	for _, v := range centre {
		if math.Abs(float64(v)-2.5) > 1e-6 {
			t.Errorf("constant map: centre feature %v", centre)
		}
	}
}

func TestAggregateErrors(t *testing.T) {
	ok := tensor.New(2, 4, 4, 4)
	cases := []struct {
		name string
		cfg  FeatureConfig
		taps map[string]*tensor.Tensor
		want string
	}{
		{"no layers", FeatureConfig{PatchSize: 3, PretrainDim: 4, TargetDim: 4}, nil, "no layers"},
		{"missing", DefaultFeatureConfig(), map[string]*tensor.Tensor{"layer2": ok}, `no tap "layer3"`},
		{"not 4-D", FeatureConfig{Layers: []string{"a"}, PatchSize: 3, PretrainDim: 4, TargetDim: 4}, map[string]*tensor.Tensor{"a": tensor.New(4, 4)}, "want N×C×H×W"},
		{"batch", FeatureConfig{Layers: []string{"a", "b"}, PatchSize: 3, PretrainDim: 4, TargetDim: 4}, map[string]*tensor.Tensor{"a": ok, "b": tensor.New(3, 4, 2, 2)}, "batch"},
		{"patch", FeatureConfig{Layers: []string{"a"}, PatchSize: 0, PretrainDim: 4, TargetDim: 4}, map[string]*tensor.Tensor{"a": ok}, "patch size"},
		{"dims", FeatureConfig{Layers: []string{"a"}, PatchSize: 3}, map[string]*tensor.Tensor{"a": ok}, "dimensions"},
		{"duplicate", FeatureConfig{Layers: []string{"a", "a"}, PatchSize: 3, PretrainDim: 4, TargetDim: 4}, map[string]*tensor.Tensor{"a": ok}, "twice"},
		{"too small", FeatureConfig{Layers: []string{"a"}, PatchSize: 8, PretrainDim: 4, TargetDim: 4}, map[string]*tensor.Tensor{"a": tensor.New(1, 1, 1, 1)}, "smaller"},
		{"empty", FeatureConfig{Layers: []string{"a"}, PatchSize: 3, PretrainDim: 4, TargetDim: 4}, map[string]*tensor.Tensor{"a": tensor.New(0, 4, 4, 4)}, "empty"},
	}
	for _, c := range cases {
		_, _, err := Aggregate(c.cfg, c.taps)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if a, err := ParseAggregation("concat"); err != nil || a != AggregateConcat || a.String() != "concat" {
		t.Errorf("ParseAggregation: %v %v", a, err)
	}
	if _, err := ParseAggregation("mean"); err == nil {
		t.Error("ParseAggregation accepted mean")
	}
}

func TestAggregateNonContiguous(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := tensor.RandUniform(rng, -1, 1, 2, 5, 6, 3)
	view := x.Permute(0, 1, 3, 2) // 2×5×3×6, not contiguous
	cfg := FeatureConfig{Layers: []string{"a"}, PatchSize: 3, PretrainDim: 7, TargetDim: 5}
	a, _, err := Aggregate(cfg, map[string]*tensor.Tensor{"a": view})
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := Aggregate(cfg, map[string]*tensor.Tensor{"a": view.Clone()})
	if relErr(a.Data(), b.Data()) != 0 {
		t.Error("a strided view aggregates differently from its copy")
	}
}

func TestEmbed(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	feats := tensor.RandUniform(rng, -1, 1, 2, 6, 10)
	if Embed(nil, feats) != feats {
		t.Error("nil head is not the identity")
	}
	w := tensor.RandUniform(rng, -1, 1, 4, 10)
	b := tensor.RandUniform(rng, -1, 1, 4)
	lin, err := nn.NewLinear(w, b)
	if err != nil {
		t.Fatal(err)
	}
	got := Embed(lin, feats)
	if got.Dim(0) != 2 || got.Dim(1) != 6 || got.Dim(2) != 4 {
		t.Fatalf("shape %v", got.Shape())
	}
	for r := range 12 {
		for o := range 4 {
			want := float64(b.Data()[o])
			for i := range 10 {
				want += float64(w.Data()[o*10+i]) * float64(feats.Data()[r*10+i])
			}
			if d := math.Abs(float64(got.Data()[r*4+o]) - want); d > 1e-5 {
				t.Fatalf("row %d out %d: %v, want %v", r, o, got.Data()[r*4+o], want)
			}
		}
	}
}
