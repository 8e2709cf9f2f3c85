package weights

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reconpatch/rp/tensor"
)

// expectation is one section of testdata/expected.json, written by
// scripts/gen_weights_fixtures.py from torch and numpy.
type expectation struct {
	Names    []string          `json:"names"`
	Metadata map[string]string `json:"metadata"`
	Tensors  map[string]struct {
		DType  DType     `json:"dtype"`
		Shape  []int     `json:"shape"`
		Values []float64 `json:"values"`
	} `json:"tensors"`
}

func expected(t testing.TB, section string) *expectation {
	t.Helper()
	b, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	var e expectation
	if err := json.Unmarshal(all[section], &e); err != nil {
		t.Fatalf("section %s: %v", section, err)
	}
	return &e
}

// checkAgainst compares every name, shape, dtype and value of sd with e.
func checkAgainst(t *testing.T, sd *StateDict, e *expectation) {
	t.Helper()
	if !slices.Equal(sd.Names(), e.Names) {
		t.Fatalf("names\n got %q\nwant %q", sd.Names(), e.Names)
	}
	for _, n := range e.Names {
		want := e.Tensors[n]
		got := sd.Get(n)
		if !slices.Equal(got.Shape(), want.Shape) {
			t.Errorf("%s: shape %v, want %v", n, got.Shape(), want.Shape)
			continue
		}
		if want.DType != "" && sd.DType(n) != want.DType {
			t.Errorf("%s: dtype %s, want %s", n, sd.DType(n), want.DType)
		}
		if !got.IsContiguous() {
			t.Errorf("%s: not contiguous", n)
		}
		data := got.Data()
		if len(data) != len(want.Values) {
			t.Errorf("%s: %d values, want %d", n, len(data), len(want.Values))
			continue
		}
		bad := 0
		for i, v := range data {
			if w := float32(want.Values[i]); math.Float32bits(v) != math.Float32bits(w) {
				if bad < 3 {
					t.Errorf("%s[%d] = %v, want %v", n, i, v, w)
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d values differ", n, bad, len(data))
		}
	}
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTorch(t *testing.T) {
	e := expected(t, "torch")
	for _, c := range []struct {
		file   string
		format Format
	}{
		{"torch_zip.pth", FormatTorchZip},
		{"torch_legacy.pth", FormatTorchLegacy},
		{"torch_wrapped.pth", FormatTorchZip},
	} {
		t.Run(c.file, func(t *testing.T) {
			p := filepath.Join("testdata", c.file)
			for name, load := range map[string]func(string) (*StateDict, error){"LoadTorch": LoadTorch, "Load": Load} {
				sd, err := load(p)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if sd.Format != c.format || sd.Path != p {
					t.Errorf("%s: format %v path %q, want %v %q", name, sd.Format, sd.Path, c.format, p)
				}
				checkAgainst(t, sd, e)
			}
		})
	}
}

func TestDenseNet(t *testing.T) {
	sd, err := LoadTorch("testdata/densenet_legacy.pth")
	if err != nil {
		t.Fatal(err)
	}
	if !sd.Has("features.denseblock1.denselayer1.norm.1.weight") {
		t.Fatalf("fixture has no old-style names: %q", sd.Names())
	}
	if err := RemapDenseNet(sd); err != nil {
		t.Fatal(err)
	}
	checkAgainst(t, sd, expected(t, "densenet"))
	// Idempotent on new names.
	if err := RemapDenseNet(sd); err != nil {
		t.Fatal(err)
	}
	checkAgainst(t, sd, expected(t, "densenet"))

	for in, want := range map[string]string{
		"features.denseblock1.denselayer1.norm.1.weight":              "features.denseblock1.denselayer1.norm1.weight",
		"features.denseblock4.denselayer16.conv.2.weight":             "features.denseblock4.denselayer16.conv2.weight",
		"features.denseblock2.denselayer3.norm.2.running_var":         "features.denseblock2.denselayer3.norm2.running_var",
		"features.denseblock2.denselayer3.relu.1.bias":                "features.denseblock2.denselayer3.relu1.bias",
		"features.denseblock2.denselayer3.norm.3.weight":              "features.denseblock2.denselayer3.norm.3.weight",
		"features.denseblock2.denselayer3.norm.1.num_batches_tracked": "features.denseblock2.denselayer3.norm.1.num_batches_tracked",
		"features.transition1.norm.weight":                            "features.transition1.norm.weight",
		"features.denseblock1.denselayer1.norm1.weight":               "features.denseblock1.denselayer1.norm1.weight",
	} {
		if got := DenseNetKey(in); got != want {
			t.Errorf("DenseNetKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRenameCollision(t *testing.T) {
	sd := NewStateDict()
	sd.Set("a.norm.1.weight", tensor.New(1))
	sd.Set("a.norm1.weight", tensor.New(1))
	err := sd.Rename(func(s string) string { return strings.Replace(s, "norm.1", "norm1", 1) })
	if err == nil || !strings.Contains(err.Error(), "a.norm1.weight") {
		t.Fatalf("err = %v", err)
	}
	if !slices.Equal(sd.Names(), []string{"a.norm.1.weight", "a.norm1.weight"}) {
		t.Errorf("failed rename changed names: %q", sd.Names())
	}
}

func TestSafetensorsFixture(t *testing.T) {
	e := expected(t, "safetensors")
	sd, err := Load("testdata/tiny.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if sd.Format != FormatSafetensors {
		t.Errorf("format %v", sd.Format)
	}
	checkAgainst(t, sd, e)
	if fmt.Sprint(sd.Metadata) != fmt.Sprint(e.Metadata) {
		t.Errorf("metadata %v, want %v", sd.Metadata, e.Metadata)
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	src, err := LoadTorch("testdata/torch_zip.pth")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	meta := map[string]string{"b": "2", "a": "x\"y<>"}
	p := filepath.Join(dir, "out.safetensors")
	if err := SaveSafetensors(p, src, meta, F32); err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(p)
	hlen := int(b1[0]) | int(b1[1])<<8
	if hlen%8 != 0 || b1[8] != '{' {
		t.Errorf("header length %d not a multiple of 8, or no '{'", hlen)
	}
	got, err := LoadSafetensors(p)
	if err != nil {
		t.Fatal(err)
	}
	names := src.Names()
	slices.Sort(names)
	if !slices.Equal(got.Names(), names) {
		t.Errorf("names %q, want sorted %q", got.Names(), names)
	}
	if fmt.Sprint(got.Metadata) != fmt.Sprint(meta) {
		t.Errorf("metadata %v, want %v", got.Metadata, meta)
	}
	for _, n := range names {
		if !slices.Equal(got.Get(n).Shape(), src.Get(n).Shape()) || !slices.Equal(got.Get(n).Data(), src.Get(n).Data()) {
			t.Errorf("%s differs after the round trip", n)
		}
		if got.DType(n) != F32 {
			t.Errorf("%s: dtype %s", n, got.DType(n))
		}
	}
	// Deterministic: saving again, even from the reloaded (re-ordered) dict,
	// gives the same bytes; no temporary files are left behind.
	if err := SaveSafetensors(p, got, meta, F32); err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(p)
	if !bytes.Equal(b1, b2) {
		t.Error("second save differs")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("folder holds %d entries after saving", len(ents))
	}

	// F16 and BF16 round to nearest even.
	for _, dt := range []DType{F16, BF16} {
		var buf bytes.Buffer
		if err := WriteSafetensors(&buf, src, nil, dt); err != nil {
			t.Fatal(err)
		}
		back, err := readSafetensors("mem", bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			for i, v := range src.Get(n).Data() {
				want := HalfToFloat32(Float32ToHalf(v))
				if dt == BF16 {
					want = math.Float32frombits(uint32(Float32ToBFloat16(v)) << 16)
				}
				if g := back.Get(n).Data()[i]; g != want {
					t.Fatalf("%s %s[%d] = %v, want %v", dt, n, i, g, want)
				}
			}
			if back.DType(n) != dt {
				t.Errorf("%s: dtype %s", n, back.DType(n))
			}
		}
	}
	if err := WriteSafetensors(io.Discard, src, nil, I64); err == nil {
		t.Error("writing I64 succeeded")
	}
	bad := NewStateDict()
	bad.Set("__metadata__", tensor.New(1))
	if err := SaveSafetensors(filepath.Join(dir, "bad.safetensors"), bad, nil, F32); err == nil {
		t.Error("saving a tensor named __metadata__ succeeded")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("folder holds %d entries after a failed save", len(ents))
	}
}

func TestHalf(t *testing.T) {
	// Every binary16 value converts exactly and back.
	for h := 0; h < 1<<16; h++ {
		f := HalfToFloat32(uint16(h))
		if f != f {
			if g := Float32ToHalf(f); g&0x7c00 != 0x7c00 || g&0x3ff == 0 {
				t.Fatalf("NaN %#04x came back as %#04x", h, g)
			}
			continue
		}
		if g := Float32ToHalf(f); g != uint16(h) {
			t.Fatalf("%#04x → %v → %#04x", h, f, g)
		}
	}
	// Rounding to nearest, ties to even: compare with the two neighbours.
	for _, f := range []float32{1.0 + 1.0/2048, 1.0 + 3.0/2048, 65519, 65520, 1e-8, 2.98e-8, 2.99e-8, -3.1e-5, 0.1, 70000, -1e-30} {
		h := Float32ToHalf(f)
		if h&0x7fff == 0x7c00 {
			if math.Abs(float64(f)) < 65520 {
				t.Errorf("Float32ToHalf(%v) overflowed", f)
			}
			continue
		}
		d := math.Abs(float64(HalfToFloat32(h)) - float64(f))
		for _, n := range []uint16{h - 1, h + 1} {
			if n&0x7c00 == 0x7c00 {
				continue
			}
			dn := math.Abs(float64(HalfToFloat32(n)) - float64(f))
			if dn < d || (dn == d && h&1 == 1) {
				t.Errorf("Float32ToHalf(%v) = %#04x (%v); %#04x (%v) is nearer or even", f, h, HalfToFloat32(h), n, HalfToFloat32(n))
			}
		}
	}
	if h := Float32ToHalf(65520); h != 0x7c00 {
		t.Errorf("65520 → %#04x, want +Inf", h)
	}
	if b := Float32ToBFloat16(1 + 1.0/256); b != 0x3f80 { // tie → even
		t.Errorf("bf16 tie → %#04x", b)
	}
	if b := Float32ToBFloat16(1 + 3.0/256); b != 0x3f82 {
		t.Errorf("bf16 tie → %#04x", b)
	}
	if b := Float32ToBFloat16(float32(math.NaN())); b&0x7f80 != 0x7f80 || b&0x7f == 0 {
		t.Errorf("bf16 NaN → %#04x", b)
	}
}

func TestTFJS(t *testing.T) {
	m, err := LoadTFJS("testdata/tfjs/model.json")
	if err != nil {
		t.Fatal(err)
	}
	checkAgainst(t, m.Weights, expected(t, "tfjs"))
	if m.Weights.Format != FormatTFJS || m.Name != "tiny" || m.ClassName != "Model" || m.KerasVersion != "2.2.4-tf" {
		t.Errorf("model %q %q %q %v", m.Name, m.ClassName, m.KerasVersion, m.Weights.Format)
	}
	var names, classes []string
	for _, l := range m.Layers {
		names = append(names, l.Name)
		classes = append(classes, l.ClassName)
	}
	if want := []string{"input_1", "pad", "conv1", "bn1", "act1", "conv2", "add", "pool", "gap", "fc"}; !slices.Equal(names, want) {
		t.Errorf("layers %q", names)
	}
	if fmt.Sprint(m.Inputs) != "[{input_1 0 0}]" || fmt.Sprint(m.Outputs) != "[{fc 0 0}]" {
		t.Errorf("inputs %v outputs %v", m.Inputs, m.Outputs)
	}
	if got := m.Layer("add").InputNames(); !slices.Equal(got, []string{"conv2", "act1"}) {
		t.Errorf("add inputs %q", got)
	}
	if got := m.Layer("input_1").InputNames(); got != nil {
		t.Errorf("input inputs %q", got)
	}
	c := m.Layer("conv1").Conv2D
	if c == nil || *c != (Conv2DConfig{Filters: 4, KernelSize: [2]int{3, 3}, Strides: [2]int{1, 1}, Padding: "valid",
		DataFormat: "channels_last", DilationRate: [2]int{1, 1}, Groups: 1, Activation: "linear", UseBias: true}) {
		t.Errorf("conv1 %+v", c)
	}
	if c := m.Layer("conv2").Conv2D; c == nil || c.UseBias || c.Padding != "same" {
		t.Errorf("conv2 %+v", c)
	}
	if bn := m.Layer("bn1").BatchNorm; bn == nil || !slices.Equal(bn.Axis, []int{3}) || bn.Epsilon != 0.001 || !bn.Center || !bn.Scale {
		t.Errorf("bn1 %+v", bn)
	}
	if a := m.Layer("act1").Activation; a == nil || a.Activation != "relu" {
		t.Errorf("act1 %+v", a)
	}
	if z := m.Layer("pad").ZeroPad; z == nil || z.Padding != [2][2]int{{1, 1}, {1, 1}} {
		t.Errorf("pad %+v", z)
	}
	if p := m.Layer("pool").Pool; p == nil || p.PoolSize != [2]int{2, 2} || p.Strides != [2]int{2, 2} || p.Padding != "valid" {
		t.Errorf("pool %+v", p)
	}
	if g := m.Layer("gap").GlobalPool; g == nil || g.DataFormat != "channels_last" {
		t.Errorf("gap %+v", g)
	}
	if d := m.Layer("fc").Dense; d == nil || d.Units != 3 || d.Activation != "softmax" || !d.UseBias {
		t.Errorf("fc %+v", d)
	}
	if in := m.Layer("input_1").Input; in == nil || !slices.Equal(in.BatchInputShape, []int{-1, 8, 8, 2}) || in.DType != "float32" {
		t.Errorf("input %+v", in)
	}
	if m.Layer("add").Conv2D != nil || m.Layer("nope") != nil {
		t.Error("unexpected typed config or layer")
	}
	for l, w := range map[string][]string{
		"conv1": {"conv1/kernel", "conv1/bias"},
		"bn1":   {"bn1/gamma", "bn1/beta", "bn1/moving_mean", "bn1/moving_variance"},
		"conv2": {"conv2/kernel"},
		"fc":    {"fc/kernel", "fc/bias"},
		"add":   nil,
	} {
		if got := m.Layer(l).Weights; !slices.Equal(got, w) {
			t.Errorf("%s weights %q, want %q", l, got, w)
		}
	}
	// Load on model.json and on its folder gives the weights.
	for _, p := range []string{"testdata/tfjs/model.json", "testdata/tfjs"} {
		sd, err := Load(p)
		if err != nil || sd.Len() != 9 {
			t.Errorf("Load(%s): %v", p, err)
		}
	}
}

func TestCheckNames(t *testing.T) {
	sd := NewStateDict()
	sd.Path = "m.pth"
	sd.Set("conv.weight", tensor.New(4, 3, 3, 3))
	sd.Set("bn.num_batches_tracked", tensor.New())
	sd.Set("fc.weight", tensor.New(10, 4))
	sd.Set("extra.a", tensor.New(1))
	sd.Set("extra.b", tensor.New(2))
	want := []Want{
		{"conv.weight", []int{4, 3, 3, 3}},
		{"fc.weight", []int{5, 4}},
		{"fc.bias", []int{5}},
		{"bn.weight", []int{4}},
	}
	err := CheckNames(sd, want, IsNumBatchesTracked)
	var me *MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("err = %v", err)
	}
	if len(me.Missing) != 2 || len(me.Unexpected) != 2 || len(me.Misshaped) != 1 {
		t.Errorf("%+v", me)
	}
	msg := err.Error()
	for _, s := range []string{"m.pth", "2 missing, 2 unexpected, 1 mis-shaped", "missing fc.bias [5]", "missing bn.weight [4]",
		"unexpected extra.a", "unexpected extra.b", "mis-shaped fc.weight: have [10 4], want [5 4]"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error lacks %q:\n%s", s, msg)
		}
	}
	if strings.Contains(msg, "num_batches_tracked") {
		t.Errorf("ignored name reported:\n%s", msg)
	}
	if err := CheckNames(sd, want, nil); !strings.Contains(err.Error(), "unexpected bn.num_batches_tracked") {
		t.Errorf("without ignore: %v", err)
	}
	ok := []Want{{"conv.weight", []int{4, 3, 3, 3}}, {"fc.weight", []int{10, 4}}, {"extra.a", []int{1}}, {"extra.b", []int{2}}}
	if err := CheckNames(sd, ok, IsNumBatchesTracked); err != nil {
		t.Errorf("matching dict: %v", err)
	}
}

func TestStateDict(t *testing.T) {
	sd := NewStateDict()
	sd.Set("a", tensor.New(2))
	sd.Set("b", tensor.New(3))
	sd.Set("a", tensor.New(4))
	if !slices.Equal(sd.Names(), []string{"a", "b"}) || sd.Get("a").Size() != 4 || sd.NumValues() != 7 {
		t.Errorf("names %q", sd.Names())
	}
	sd.Delete("a")
	sd.Delete("zz")
	if !slices.Equal(sd.Names(), []string{"b"}) || sd.Get("a") != nil || sd.Has("a") || sd.DType("b") != F32 {
		t.Errorf("after delete %q", sd.Names())
	}
}

func TestSniff(t *testing.T) {
	for file, want := range map[string]Format{
		"torch_zip.pth": FormatTorchZip, "torch_legacy.pth": FormatTorchLegacy,
		"tiny.safetensors": FormatSafetensors, "tfjs/model.json": FormatTFJS, "tfjs": FormatTFJS,
	} {
		if got, err := Sniff(filepath.Join("testdata", file)); got != want || err != nil {
			t.Errorf("Sniff(%s) = %v, %v; want %v", file, got, err, want)
		}
	}
	dir := t.TempDir()
	// A safetensors header of 128 bytes starts with 0x80, as pickles do.
	st := filepath.Join(dir, "h128.safetensors")
	sd := NewStateDict()
	sd.Set("a_name_long_enough_for_a_128_byte_header_xxxxxxxxxxxxxxxxxxxxxxxxxxx", tensor.FromSlice([]float32{1, 2}, 2))
	if err := SaveSafetensors(st, sd, nil, F32); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(st); b[0] != 0x80 || b[1] != 0 {
		t.Fatalf("header length %d, want 128", b[0])
	}
	if got, err := Load(st); err != nil || got.Get(sd.Names()[0]).Data()[1] != 2 {
		t.Errorf("Load(h128) = %v", err)
	}
	junk := filepath.Join(dir, "junk.bin")
	os.WriteFile(junk, []byte("hello world, not weights"), 0o644)
	if _, err := Load(junk); err == nil || !strings.Contains(err.Error(), "junk.bin") {
		t.Errorf("Load(junk) = %v", err)
	}
	if _, err := Load(dir); err == nil {
		t.Error("Load of a folder without model.json succeeded")
	}
	if _, err := LoadTorch(filepath.Join("testdata", "tiny.safetensors")); err == nil {
		t.Error("LoadTorch of safetensors succeeded")
	}
}

func TestDefaultDir(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("RP_WEIGHTS_DIR", dir)
	if d, err := DefaultDir(); d != dir || err != nil {
		t.Errorf("DefaultDir = %q, %v", d, err)
	}
	_, err := FindKerasResNet50()
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "make weights") {
		t.Errorf("FindKerasResNet50 = %v", err)
	}
	t.Setenv("RP_WEIGHTS_DIR", "")
	d, err := DefaultDir()
	if c, cerr := os.UserCacheDir(); cerr == nil && (err != nil || d != filepath.Join(c, "rp", "weights")) {
		t.Errorf("DefaultDir = %q, %v", d, err)
	}
}

// TestKerasResNet50 checks the real model if scripts/install-weights.sh has
// installed it (make test does).
func TestKerasResNet50(t *testing.T) {
	p, err := FindKerasResNet50()
	if errors.Is(err, ErrNotInstalled) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadTFJS(p)
	if err != nil {
		t.Fatal(err)
	}
	if n := m.Weights.NumValues(); n != 25636712 {
		t.Errorf("%d values, want 25636712", n)
	}
	if m.Weights.Len() != 320 || len(m.Layers) != 177 {
		t.Errorf("%d tensors, %d layers; want 320, 177", m.Weights.Len(), len(m.Layers))
	}
	count := map[string]int{}
	for _, l := range m.Layers {
		count[l.ClassName]++
		for _, w := range l.Weights {
			for _, v := range m.Weights.Get(w).Data() {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("%s holds %v", w, v)
				}
			}
		}
		switch l.ClassName {
		case "Conv2D":
			k := m.Weights.Get(l.Name + "/kernel")
			if k == nil || k.Dims() != 4 || k.Shape()[3] != l.Conv2D.Filters || k.Shape()[0] != l.Conv2D.KernelSize[0] || len(l.Weights) != 2 {
				t.Errorf("%s: kernel %v, config %+v, weights %q", l.Name, k, l.Conv2D, l.Weights)
			}
		case "BatchNormalization":
			if len(l.Weights) != 4 {
				t.Errorf("%s: weights %q", l.Name, l.Weights)
			}
			for _, v := range m.Weights.Get(l.Name + "/moving_variance").Data() {
				if v <= 0 {
					t.Fatalf("%s: moving variance %v", l.Name, v)
				}
			}
		}
	}
	want := map[string]int{"Conv2D": 53, "BatchNormalization": 53, "Activation": 49, "Add": 16, "ZeroPadding2D": 2,
		"InputLayer": 1, "MaxPooling2D": 1, "GlobalAveragePooling2D": 1, "Dense": 1}
	if fmt.Sprint(count) != fmt.Sprint(want) {
		t.Errorf("layer classes %v, want %v", count, want)
	}
	c1 := m.Layer("conv1")
	if c1 == nil || c1.Conv2D.Filters != 64 || c1.Conv2D.KernelSize != [2]int{7, 7} || c1.Conv2D.Strides != [2]int{2, 2} ||
		!slices.Equal(m.Weights.Get("conv1/kernel").Shape(), []int{7, 7, 3, 64}) || !slices.Equal(c1.InputNames(), []string{"conv1_pad"}) {
		t.Errorf("conv1 %+v", c1)
	}
	if got := m.Layer("add").InputNames(); !slices.Equal(got, []string{"bn2a_branch2c", "bn2a_branch1"}) {
		t.Errorf("add inputs %q", got)
	}
	if fc := m.Layer("fc1000"); fc == nil || fc.Dense.Units != 1000 || !slices.Equal(m.Weights.Get("fc1000/kernel").Shape(), []int{2048, 1000}) {
		t.Errorf("fc1000 %+v", fc)
	}
	if fmt.Sprint(m.Inputs) != "[{input_1 0 0}]" || fmt.Sprint(m.Outputs) != "[{fc1000 0 0}]" {
		t.Errorf("inputs %v outputs %v", m.Inputs, m.Outputs)
	}
	for _, n := range []string{"res5c_branch2c", "bn5c_branch2c", "res2a_branch1", "bn_conv1", "max_pooling2d", "avg_pool", "pool1_pad"} {
		if m.Layer(n) == nil {
			t.Errorf("no layer %s", n)
		}
	}
}

// TestSafetensorsPerTensor writes tensors in mixed element types and reads
// back each one's type and values (F16 rounded, F32 exact).
func TestSafetensorsPerTensor(t *testing.T) {
	sd := NewStateDict()
	exact := tensor.FromSlice([]float32{1.0000001, -3.25, 1e-30}, 3)
	half := tensor.FromSlice([]float32{1.0000001, -3.25, 65504}, 3)
	sd.Set("exact", exact)
	sd.SetAs("half", half, F16)
	path := filepath.Join(t.TempDir(), "mixed.safetensors")
	if err := SaveSafetensors(path, sd, map[string]string{"k": "v"}, PerTensor); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.DType("exact") != F32 || got.DType("half") != F16 {
		t.Fatalf("dtypes %s, %s; want F32, F16", got.DType("exact"), got.DType("half"))
	}
	for i, v := range got.Get("exact").Data() {
		if v != exact.Data()[i] {
			t.Errorf("exact[%d] = %v, want %v", i, v, exact.Data()[i])
		}
	}
	if h := got.Get("half").Data(); h[0] != 1 || h[1] != -3.25 || h[2] != 65504 {
		t.Errorf("half = %v, want [1 -3.25 65504]", h)
	}
}
