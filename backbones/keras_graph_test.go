package backbones

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconpatch/rp/tensor"
	"github.com/reconpatch/rp/weights"
)

// A small Keras ResNet written as a TF.js layers model by the test, so that
// the graph walker and its fusions are tested without the real model: it is
// compared with a naive channels-last float64 forward of the same layers.

// kLayer is one layer of the synthetic model.
type kLayer struct {
	name, class string
	cfg         map[string]any
	in          []string
}

// kModel builds a synthetic Keras model and its weights.
type kModel struct {
	layers []kLayer
	w      map[string][]float64 // Keras-shaped weights, row-major
	shapes map[string][]int
	order  []string
	rng    *rand.Rand
}

func newKModel() *kModel {
	m := &kModel{w: map[string][]float64{}, shapes: map[string][]int{}, rng: rand.New(rand.NewPCG(1, 2))}
	m.add("input_1", "InputLayer", map[string]any{"batch_input_shape": []any{nil, nil, nil, 3}, "dtype": "float32"})
	return m
}

func (m *kModel) add(name, class string, cfg map[string]any, in ...string) string {
	m.layers = append(m.layers, kLayer{name, class, cfg, in})
	return name
}

func (m *kModel) weight(name string, scale float64, offset float64, shape ...int) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(float32(offset + scale*(2*m.rng.Float64()-1)))
	}
	m.w[name], m.shapes[name] = v, shape
	m.order = append(m.order, name)
}

func (m *kModel) conv(name, in string, cin, filters, k, stride int, padding string) string {
	m.weight(name+"/kernel", math.Sqrt(3/float64(k*k*cin)), 0, k, k, cin, filters)
	m.weight(name+"/bias", 0.1, 0, filters)
	return m.add(name, "Conv2D", map[string]any{"filters": filters, "kernel_size": []int{k, k}, "strides": []int{stride, stride},
		"padding": padding, "data_format": "channels_last", "dilation_rate": []int{1, 1}, "activation": "linear", "use_bias": true}, in)
}

func (m *kModel) bn(name, in string, ch int) string {
	m.weight(name+"/gamma", 0.3, 1, ch)
	m.weight(name+"/beta", 0.2, 0, ch)
	m.weight(name+"/moving_mean", 0.2, 0, ch)
	m.weight(name+"/moving_variance", 0.5, 1, ch)
	return m.add(name, "BatchNormalization", map[string]any{"axis": []int{3}, "momentum": 0.99, "epsilon": 1e-3, "center": true, "scale": true}, in)
}

func (m *kModel) relu(name, in string) string {
	return m.add(name, "Activation", map[string]any{"activation": "relu"}, in)
}

// block is Keras applications' conv_block (first) or identity_block.
func (m *kModel) block(stage int, b string, in string, cin, f1, f2 int, first bool, stride int, act *int) string {
	base := func(br string) string { return "res" + string(rune('0'+stage)) + b + "_branch" + br }
	bnn := func(br string) string { return "bn" + string(rune('0'+stage)) + b + "_branch" + br }
	next := func() string { *act++; return "activation_" + string(rune('a'+*act)) }
	s := 1
	if first {
		s = stride
	}
	x := m.relu(next(), m.bn(bnn("2a"), m.conv(base("2a"), in, cin, f1, 1, s, "valid"), f1))
	x = m.relu(next(), m.bn(bnn("2b"), m.conv(base("2b"), x, f1, f1, 3, 1, "same"), f1))
	x = m.bn(bnn("2c"), m.conv(base("2c"), x, f1, f2, 1, 1, "valid"), f2)
	short := in
	if first {
		short = m.bn(bnn("1"), m.conv(base("1"), in, cin, f2, 1, s, "valid"), f2)
	}
	return m.relu(next(), m.add("add_"+string(rune('0'+stage))+b, "Add", map[string]any{}, x, short))
}

// write saves model.json and one shard under dir.
func (m *kModel) write(t *testing.T, dir string, output string) string {
	t.Helper()
	var layers []any
	for _, l := range m.layers {
		cfg := map[string]any{"name": l.name}
		for k, v := range l.cfg {
			cfg[k] = v
		}
		var inbound []any
		if len(l.in) > 0 {
			var node []any
			for _, i := range l.in {
				node = append(node, []any{i, 0, 0, map[string]any{}})
			}
			inbound = []any{node}
		} else {
			inbound = []any{}
		}
		layers = append(layers, map[string]any{"name": l.name, "class_name": l.class, "config": cfg, "inbound_nodes": inbound})
	}
	var manifest []any
	var shard []byte
	for _, n := range m.order {
		manifest = append(manifest, map[string]any{"name": n, "shape": m.shapes[n], "dtype": "float32"})
		for _, v := range m.w[n] {
			shard = binary.LittleEndian.AppendUint32(shard, math.Float32bits(float32(v)))
		}
	}
	doc := map[string]any{
		"format": "layers-model", "generatedBy": "keras v2.2.4-tf", "convertedBy": "test",
		"modelTopology": map[string]any{"keras_version": "2.2.4-tf", "backend": "tensorflow", "model_config": map[string]any{
			"class_name": "Model", "config": map[string]any{"name": "tiny", "layers": layers,
				"input_layers": []any{[]any{"input_1", 0, 0}}, "output_layers": []any{[]any{output, 0, 0}}}}},
		"weightsManifest": []any{map[string]any{"paths": []string{"group1-shard1of1.bin"}, "weights": manifest}},
	}
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "model.json")
	if err := os.WriteFile(p, js, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "group1-shard1of1.bin"), shard, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tinyKeras is a Keras-applications-style ResNet: stem, two stage-2 blocks,
// a stage-3 conv block (stride on its first 1×1 convolution), a "same"
// stride-2 3×3 convolution (asymmetric padding), pooling and classifier.
func tinyKeras() (*kModel, string) {
	m := newKModel()
	act := 0
	x := m.add("conv1_pad", "ZeroPadding2D", map[string]any{"padding": [][]int{{3, 3}, {3, 3}}, "data_format": "channels_last"}, "input_1")
	x = m.relu("activation", m.bn("bn_conv1", m.conv("conv1", x, 3, 8, 7, 2, "valid"), 8))
	x = m.add("pool1_pad", "ZeroPadding2D", map[string]any{"padding": [][]int{{1, 1}, {1, 1}}}, x)
	x = m.add("max_pooling2d", "MaxPooling2D", map[string]any{"pool_size": []int{3, 3}, "strides": []int{2, 2}, "padding": "valid"}, x)
	x = m.block(2, "a", x, 8, 4, 16, true, 1, &act)
	x = m.block(2, "b", x, 16, 4, 16, false, 1, &act)
	x = m.block(3, "a", x, 16, 8, 24, true, 2, &act)
	x = m.relu("activation_same", m.conv("conv_same", x, 24, 12, 3, 2, "same"))
	x = m.add("avg_pool", "GlobalAveragePooling2D", map[string]any{}, x)
	m.weight("fc1000/kernel", 0.3, 0, 12, 7)
	m.weight("fc1000/bias", 0.1, 0, 7)
	x = m.add("fc1000", "Dense", map[string]any{"units": 7, "activation": "softmax", "use_bias": true}, x)
	return m, x
}

// nhwc is a float64 channels-last image batch for the naive reference.
type nhwc struct {
	n, h, w, c int
	v          []float64
}

func (a nhwc) at(i, y, x, c int) float64 { return a.v[((i*a.h+y)*a.w+x)*a.c+c] }

// refForward runs the synthetic model naively, layer by layer, from its
// Keras description, and returns every layer's output.
func (m *kModel) refForward(in nhwc) map[string]any {
	vals := map[string]any{"input_1": in}
	for _, l := range m.layers[1:] {
		x := vals[l.in[0]]
		switch l.class {
		case "ZeroPadding2D":
			a := x.(nhwc)
			p := l.cfg["padding"].([][]int)
			o := nhwc{a.n, a.h + p[0][0] + p[0][1], a.w + p[1][0] + p[1][1], a.c, nil}
			o.v = make([]float64, o.n*o.h*o.w*o.c)
			for i := 0; i < a.n; i++ {
				for y := 0; y < a.h; y++ {
					for xx := 0; xx < a.w; xx++ {
						for c := 0; c < a.c; c++ {
							o.v[((i*o.h+y+p[0][0])*o.w+xx+p[1][0])*o.c+c] = a.at(i, y, xx, c)
						}
					}
				}
			}
			vals[l.name] = o
		case "Conv2D":
			a := x.(nhwc)
			k := m.w[l.name+"/kernel"]
			sh := m.shapes[l.name+"/kernel"]
			kh, kw, ci, co := sh[0], sh[1], sh[2], sh[3]
			s := l.cfg["strides"].([]int)[0]
			var oh, ow, pt, pl int
			if l.cfg["padding"] == "same" {
				oh, ow = (a.h+s-1)/s, (a.w+s-1)/s
				pt = max((oh-1)*s+kh-a.h, 0) / 2
				pl = max((ow-1)*s+kw-a.w, 0) / 2
			} else {
				oh, ow = (a.h-kh)/s+1, (a.w-kw)/s+1
			}
			o := nhwc{a.n, oh, ow, co, make([]float64, a.n*oh*ow*co)}
			b := m.w[l.name+"/bias"]
			for i := 0; i < a.n; i++ {
				for y := 0; y < oh; y++ {
					for xx := 0; xx < ow; xx++ {
						for f := 0; f < co; f++ {
							sum := b[f]
							for dy := 0; dy < kh; dy++ {
								for dx := 0; dx < kw; dx++ {
									iy, ix := y*s-pt+dy, xx*s-pl+dx
									if iy < 0 || iy >= a.h || ix < 0 || ix >= a.w {
										continue
									}
									for c := 0; c < ci; c++ {
										sum += a.at(i, iy, ix, c) * k[((dy*kw+dx)*ci+c)*co+f]
									}
								}
							}
							o.v[((i*oh+y)*ow+xx)*co+f] = sum
						}
					}
				}
			}
			vals[l.name] = o
		case "BatchNormalization":
			a := x.(nhwc)
			o := a
			o.v = make([]float64, len(a.v))
			g, be, mu, va := m.w[l.name+"/gamma"], m.w[l.name+"/beta"], m.w[l.name+"/moving_mean"], m.w[l.name+"/moving_variance"]
			for j, v := range a.v {
				c := j % a.c
				o.v[j] = (v-mu[c])/math.Sqrt(va[c]+1e-3)*g[c] + be[c]
			}
			vals[l.name] = o
		case "Activation":
			a := x.(nhwc)
			o := a
			o.v = make([]float64, len(a.v))
			for j, v := range a.v {
				o.v[j] = max(v, 0)
			}
			vals[l.name] = o
		case "Add":
			a, b := x.(nhwc), vals[l.in[1]].(nhwc)
			o := a
			o.v = make([]float64, len(a.v))
			for j := range a.v {
				o.v[j] = a.v[j] + b.v[j]
			}
			vals[l.name] = o
		case "MaxPooling2D":
			a := x.(nhwc)
			oh, ow := (a.h-3)/2+1, (a.w-3)/2+1
			o := nhwc{a.n, oh, ow, a.c, make([]float64, a.n*oh*ow*a.c)}
			for i := 0; i < a.n; i++ {
				for y := 0; y < oh; y++ {
					for xx := 0; xx < ow; xx++ {
						for c := 0; c < a.c; c++ {
							mx := math.Inf(-1)
							for dy := 0; dy < 3; dy++ {
								for dx := 0; dx < 3; dx++ {
									mx = max(mx, a.at(i, 2*y+dy, 2*xx+dx, c))
								}
							}
							o.v[((i*oh+y)*ow+xx)*a.c+c] = mx
						}
					}
				}
			}
			vals[l.name] = o
		case "GlobalAveragePooling2D":
			a := x.(nhwc)
			o := make([][]float64, a.n)
			for i := range o {
				o[i] = make([]float64, a.c)
				for p := 0; p < a.h*a.w; p++ {
					for c := 0; c < a.c; c++ {
						o[i][c] += a.v[(i*a.h*a.w+p)*a.c+c] / float64(a.h*a.w)
					}
				}
			}
			vals[l.name] = o
		case "Dense":
			a := x.([][]float64)
			k, b := m.w[l.name+"/kernel"], m.w[l.name+"/bias"]
			units := len(b)
			logits := make([][]float64, len(a))
			for i := range a {
				logits[i] = append([]float64(nil), b...)
				for f, v := range a[i] {
					for u := 0; u < units; u++ {
						logits[i][u] += v * k[f*units+u]
					}
				}
			}
			vals["logits"] = logits
			vals[l.name] = logits // the softmax is checked through "logits"
		}
	}
	return vals
}

// asNCHW converts a reference value to the backbone's layout.
func asNCHW(v any) *tensor.Tensor {
	switch a := v.(type) {
	case nhwc:
		t := tensor.New(a.n, a.c, a.h, a.w)
		d := t.Data()
		for i := 0; i < a.n; i++ {
			for c := 0; c < a.c; c++ {
				for p := 0; p < a.h*a.w; p++ {
					d[(i*a.c+c)*a.h*a.w+p] = float32(a.v[(i*a.h*a.w+p)*a.c+c])
				}
			}
		}
		return t
	case [][]float64:
		t := tensor.New(len(a), len(a[0]))
		for i := range a {
			for j, x := range a[i] {
				t.Data()[i*len(a[0])+j] = float32(x)
			}
		}
		return t
	}
	panic("asNCHW")
}

func TestKerasGraph(t *testing.T) {
	m, out := tinyKeras()
	p := m.write(t, t.TempDir(), out)
	b, err := Load(KerasResNet50, filepath.Dir(p)) // a folder holding model.json
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range [][2]int{{37, 30}, {32, 32}} {
		in := nhwc{2, size[0], size[1], 3, nil}
		rng := rand.New(rand.NewPCG(3, uint64(size[0])))
		in.v = make([]float64, in.n*in.h*in.w*3)
		for i := range in.v {
			in.v[i] = float64(float32(2*rng.Float64() - 1))
		}
		ref := m.refForward(in)
		for _, tc := range []struct{ tap, ref string }{
			{"activation", "activation"},
			{"max_pooling2d", "max_pooling2d"},
			{"res2a", "activation_d"},
			{"res2b", "activation_g"},
			{"layer1", "activation_g"},
			{"res3a", "activation_j"},
			{"layer2", "activation_j"},
			{"activation_same", "activation_same"},
			{"avg_pool", "avg_pool"},
			{"logits", "logits"},
		} {
			got, err := b.Forward(asNCHW(in), tc.tap)
			if err != nil {
				t.Fatal(err)
			}
			want := asNCHW(ref[tc.ref])
			if e := relL2(got[tc.tap], want); !(e <= 1e-5) {
				t.Errorf("input %v: %s: shape %v (want %v), relative L2 error %.3g", size, tc.tap, got[tc.tap].Shape(), want.Shape(), e)
			}
		}
		probs, err := b.Forward(asNCHW(in), "fc1000")
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, v := range probs["fc1000"].Data() {
			sum += float64(v)
		}
		if math.Abs(sum-2) > 1e-5 {
			t.Errorf("softmax rows sum to %v over 2 images", sum)
		}
	}
}

// TestKerasGraphErrors checks that bad models give errors naming the
// problem, not panics.
func TestKerasGraphErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(m *kModel)
		errHas []string
	}{
		{"missing and extra weights", func(m *kModel) {
			i := indexOf(m.order, "res2a_branch2b/kernel")
			m.order = append(m.order[:i], m.order[i+1:]...)
			m.weight("stray/kernel", 1, 0, 2)
		}, []string{"1 missing", "res2a_branch2b/kernel", "1 unexpected", "stray/kernel"}},
		{"mis-shaped", func(m *kModel) { m.weight("bn_conv1/gamma", 1, 0, 9) }, []string{"mis-shaped", "bn_conv1/gamma"}},
		{"unsupported class", func(m *kModel) {
			m.layers[len(m.layers)-1].class = "LSTM"
		}, []string{"fc1000", "LSTM", "not supported"}},
		{"unsupported activation", func(m *kModel) {
			for i := range m.layers {
				if m.layers[i].name == "activation" {
					m.layers[i].cfg = map[string]any{"activation": "gelu"}
				}
			}
		}, []string{"layer activation", "gelu"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, out := tinyKeras()
			tc.edit(m)
			dir := t.TempDir()
			p := m.write(t, dir, out)
			_, err := Load(KerasResNet50, p)
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range tc.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestKerasNotInstalled(t *testing.T) {
	t.Setenv("RP_WEIGHTS_DIR", t.TempDir())
	_, err := Load(KerasResNet50, "")
	if !errors.Is(err, weights.ErrNotInstalled) || !strings.Contains(err.Error(), "make weights") {
		t.Errorf("error %v: want ErrNotInstalled mentioning `make weights`", err)
	}
}
