package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/reconpatch/rp/tensor"
)

// TFJSModel is a TensorFlow.js layers model: the Keras layer graph of its
// model.json and the weights of its binary shards.
type TFJSModel struct {
	Path         string // the model.json file
	Format       string // "layers-model"
	GeneratedBy  string // e.g. "keras v2.2.4-tf"
	ConvertedBy  string // e.g. "TensorFlow.js Converter v1.2.6"
	KerasVersion string
	Backend      string

	ClassName string      // the model's Keras class: "Model", "Functional" or "Sequential"
	Name      string      // the model's name
	Layers    []*Layer    // in the topology's order, which is a topological order
	Inputs    []TensorRef // the model's input tensors
	Outputs   []TensorRef // the model's output tensors

	// Weights holds every tensor of the weights manifest, in manifest
	// order, named as there ("conv1/kernel") and with Keras shapes: Conv2D
	// kernels are H×W×In×Out, Dense kernels In×Out.
	Weights *StateDict

	byName map[string]*Layer
}

// Layer returns the layer of that name, or nil.
func (m *TFJSModel) Layer(name string) *Layer { return m.byName[name] }

// TensorRef names an output tensor of a layer: the layer, which of its calls
// (node) produced it, and which of that call's outputs it is.
type TensorRef struct {
	Layer  string
	Node   int
	Tensor int
}

// Layer is one Keras layer. Its class-specific configuration is in Config;
// for the classes a backbone builder needs it is also decoded into the one
// matching typed field, which is nil for other classes.
type Layer struct {
	Name      string
	ClassName string          // Keras class, e.g. "Conv2D", "Add"
	Config    json.RawMessage // the layer's "config" object as stored
	// Inbound lists, for each call of the layer, the tensors it was called
	// on. Most layers are called once; input layers never.
	Inbound [][]TensorRef
	// Weights names the layer's tensors in TFJSModel.Weights, in manifest
	// order ("conv1/kernel", "conv1/bias").
	Weights []string

	Conv2D     *Conv2DConfig          // Conv2D
	BatchNorm  *BatchNormConfig       // BatchNormalization
	Dense      *DenseConfig           // Dense
	Activation *ActivationConfig      // Activation, ReLU (Activation "relu")
	ZeroPad    *ZeroPadding2DConfig   // ZeroPadding2D
	Pool       *Pooling2DConfig       // MaxPooling2D, AveragePooling2D
	GlobalPool *GlobalPooling2DConfig // GlobalAveragePooling2D, GlobalMaxPooling2D
	Input      *InputConfig           // InputLayer
}

// InputNames returns the names of the layers feeding the layer's first call,
// in argument order (the two summands of an Add, for example).
func (l *Layer) InputNames() []string {
	if len(l.Inbound) == 0 {
		return nil
	}
	names := make([]string, len(l.Inbound[0]))
	for i, r := range l.Inbound[0] {
		names[i] = r.Layer
	}
	return names
}

// Conv2DConfig is a Conv2D layer's configuration.
type Conv2DConfig struct {
	Filters      int
	KernelSize   [2]int // rows, columns
	Strides      [2]int
	Padding      string // "valid" or "same"
	DataFormat   string // "channels_last" or "channels_first"
	DilationRate [2]int
	Groups       int    // 1 unless grouped
	Activation   string // "linear" for none
	UseBias      bool
}

// BatchNormConfig is a BatchNormalization layer's configuration.
type BatchNormConfig struct {
	Axis     []int // normalised axes, e.g. [3] or [-1] for channels_last
	Momentum float64
	Epsilon  float64
	Center   bool // has beta
	Scale    bool // has gamma
}

// DenseConfig is a Dense layer's configuration.
type DenseConfig struct {
	Units      int
	Activation string
	UseBias    bool
}

// ActivationConfig is an Activation layer's function, e.g. "relu".
type ActivationConfig struct {
	Activation string
}

// ZeroPadding2DConfig is a ZeroPadding2D layer's configuration.
type ZeroPadding2DConfig struct {
	Padding    [2][2]int // {{top, bottom}, {left, right}}
	DataFormat string
}

// Pooling2DConfig is a MaxPooling2D or AveragePooling2D layer's
// configuration.
type Pooling2DConfig struct {
	PoolSize   [2]int
	Strides    [2]int // PoolSize when the file gives none
	Padding    string
	DataFormat string
}

// GlobalPooling2DConfig is a GlobalAveragePooling2D or GlobalMaxPooling2D
// layer's configuration.
type GlobalPooling2DConfig struct {
	DataFormat string
	KeepDims   bool
}

// InputConfig is an InputLayer's configuration.
type InputConfig struct {
	BatchInputShape []int // -1 for unknown dimensions (the batch)
	DType           string
}

// tfjsQuant is a manifest entry's quantization.
type tfjsQuant struct {
	DType string   `json:"dtype"`
	Scale *float64 `json:"scale"`
	Min   *float64 `json:"min"`
}

// tfjsJSON is model.json.
type tfjsJSON struct {
	Format          string          `json:"format"`
	GeneratedBy     string          `json:"generatedBy"`
	ConvertedBy     string          `json:"convertedBy"`
	ModelTopology   json.RawMessage `json:"modelTopology"`
	WeightsManifest []struct {
		Paths   []string `json:"paths"`
		Weights []struct {
			Name         string     `json:"name"`
			Shape        []int64    `json:"shape"`
			DType        string     `json:"dtype"`
			Quantization *tfjsQuant `json:"quantization"`
		} `json:"weights"`
	} `json:"weightsManifest"`
}

// LoadTFJS reads a TensorFlow.js layers model: modelJSON names its
// model.json, whose weightsManifest lists binary shards (paths relative to
// model.json's folder) that hold the weights back to back in manifest
// order, within each group concatenated across the group's shards.
//
// float32 and int32 weights are read, as are uint8, uint16 and float16
// quantized ones (dequantized as q·scale+min). The shards' total size must
// equal what the manifest declares. The layer graph is checked for unique
// names and inputs that refer to existing layers.
func LoadTFJS(modelJSON string) (*TFJSModel, error) {
	data, err := os.ReadFile(modelJSON)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(modelJSON)
	open := func(rel string) (io.ReadCloser, int64, error) {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return nil, 0, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, err
		}
		return f, fi.Size(), nil
	}
	return parseTFJS(modelJSON, data, open)
}

// shardOpener opens a shard given its manifest path and returns its size.
type shardOpener func(rel string) (io.ReadCloser, int64, error)

func parseTFJS(p string, data []byte, open shardOpener) (*TFJSModel, error) {
	var mj tfjsJSON
	if err := json.Unmarshal(data, &mj); err != nil {
		return nil, &FileError{Path: p, Msg: "invalid model.json", Err: err}
	}
	if mj.Format != "" && mj.Format != "layers-model" {
		return nil, fileErr(p, "format %q is not a layers model", mj.Format)
	}
	if len(mj.ModelTopology) == 0 {
		return nil, fileErr(p, "no modelTopology")
	}
	m := &TFJSModel{Path: p, Format: mj.Format, GeneratedBy: mj.GeneratedBy, ConvertedBy: mj.ConvertedBy}
	if err := m.parseTopology(mj.ModelTopology); err != nil {
		return nil, &FileError{Path: p, Msg: "modelTopology", Err: err}
	}
	sd, err := readTFJSWeights(p, &mj, open)
	if err != nil {
		return nil, err
	}
	m.Weights = sd
	for _, n := range sd.names {
		owner := n
		if i := strings.LastIndexByte(n, '/'); i >= 0 {
			owner = n[:i]
		}
		l := m.byName[owner]
		if l == nil {
			first, _, _ := strings.Cut(n, "/")
			l = m.byName[first]
		}
		if l != nil {
			l.Weights = append(l.Weights, n)
		}
	}
	return m, nil
}

func (m *TFJSModel) parseTopology(raw json.RawMessage) error {
	var top struct {
		KerasVersion string          `json:"keras_version"`
		Backend      string          `json:"backend"`
		ModelConfig  json.RawMessage `json:"model_config"`
		ClassName    string          `json:"class_name"`
		Config       json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		return err
	}
	m.KerasVersion, m.Backend = top.KerasVersion, top.Backend
	if len(top.ModelConfig) > 0 { // {keras_version, backend, model_config: {class_name, config}}
		top.ClassName, top.Config = "", nil
		if err := json.Unmarshal(top.ModelConfig, &top); err != nil {
			return fmt.Errorf("model_config: %v", err)
		}
	}
	m.ClassName = top.ClassName
	switch top.ClassName {
	case "Model", "Functional", "Sequential":
	default:
		return fmt.Errorf("unsupported model class %q", top.ClassName)
	}
	var cfg struct {
		Name         string            `json:"name"`
		Layers       []json.RawMessage `json:"layers"`
		InputLayers  json.RawMessage   `json:"input_layers"`
		OutputLayers json.RawMessage   `json:"output_layers"`
	}
	if t := bytes.TrimSpace(top.Config); len(t) > 0 && t[0] == '[' { // old Sequential: a bare layer list
		if err := json.Unmarshal(t, &cfg.Layers); err != nil {
			return err
		}
	} else if err := json.Unmarshal(top.Config, &cfg); err != nil {
		return err
	}
	m.Name = cfg.Name
	m.byName = map[string]*Layer{}
	for i, lr := range cfg.Layers {
		var lj struct {
			Name         string          `json:"name"`
			ClassName    string          `json:"class_name"`
			Config       json.RawMessage `json:"config"`
			InboundNodes json.RawMessage `json:"inbound_nodes"`
		}
		if err := json.Unmarshal(lr, &lj); err != nil {
			return fmt.Errorf("layer %d: %v", i, err)
		}
		if lj.Name == "" {
			var c struct {
				Name string `json:"name"`
			}
			json.Unmarshal(lj.Config, &c)
			lj.Name = c.Name
		}
		if lj.Name == "" || lj.ClassName == "" {
			return fmt.Errorf("layer %d has no name or class_name", i)
		}
		if m.byName[lj.Name] != nil {
			return fmt.Errorf("two layers named %q", lj.Name)
		}
		l := &Layer{Name: lj.Name, ClassName: lj.ClassName, Config: lj.Config}
		var err error
		if l.Inbound, err = parseInbound(lj.InboundNodes); err != nil {
			return fmt.Errorf("layer %q: inbound_nodes: %v", l.Name, err)
		}
		if top.ClassName == "Sequential" && len(l.Inbound) == 0 && len(m.Layers) > 0 {
			l.Inbound = [][]TensorRef{{{Layer: m.Layers[len(m.Layers)-1].Name}}}
		}
		if err := l.decodeConfig(); err != nil {
			return fmt.Errorf("layer %q (%s): config: %v", l.Name, l.ClassName, err)
		}
		m.byName[l.Name] = l
		m.Layers = append(m.Layers, l)
	}
	if len(m.Layers) == 0 {
		return errors.New("no layers")
	}
	var err error
	if m.Inputs, err = parseRefList(cfg.InputLayers); err != nil {
		return fmt.Errorf("input_layers: %v", err)
	}
	if m.Outputs, err = parseRefList(cfg.OutputLayers); err != nil {
		return fmt.Errorf("output_layers: %v", err)
	}
	if top.ClassName == "Sequential" {
		if len(m.Inputs) == 0 {
			m.Inputs = []TensorRef{{Layer: m.Layers[0].Name}}
		}
		if len(m.Outputs) == 0 {
			m.Outputs = []TensorRef{{Layer: m.Layers[len(m.Layers)-1].Name}}
		}
	}
	var unknown []string
	for _, l := range m.Layers {
		for _, node := range l.Inbound {
			for _, r := range node {
				if m.byName[r.Layer] == nil {
					unknown = append(unknown, fmt.Sprintf("%s (input of %s)", r.Layer, l.Name))
				}
			}
		}
	}
	for _, r := range append(append([]TensorRef(nil), m.Inputs...), m.Outputs...) {
		if m.byName[r.Layer] == nil {
			unknown = append(unknown, fmt.Sprintf("%s (model input or output)", r.Layer))
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("unknown layers referenced: %s", strings.Join(unknown, ", "))
	}
	return nil
}

// parseInbound decodes a layer's inbound_nodes: Keras 2 lists, one per
// call, of [layer, node, tensor, kwargs], or Keras 3 objects whose args
// hold tensors with a keras_history [layer, node, tensor].
func parseInbound(raw json.RawMessage) ([][]TensorRef, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	var nodes []json.RawMessage
	if err := json.Unmarshal(raw, &nodes); err != nil {
		return nil, err
	}
	out := make([][]TensorRef, 0, len(nodes))
	for _, n := range nodes {
		n = bytes.TrimSpace(n)
		var refs []TensorRef
		if len(n) > 0 && n[0] == '[' {
			var entries []json.RawMessage
			if err := json.Unmarshal(n, &entries); err != nil {
				return nil, err
			}
			for _, e := range entries {
				r, err := parseRef(e)
				if err != nil {
					return nil, err
				}
				refs = append(refs, r)
			}
		} else {
			var v any
			if err := json.Unmarshal(n, &v); err != nil {
				return nil, err
			}
			if err := kerasHistory(v, &refs, 0); err != nil {
				return nil, err
			}
		}
		out = append(out, refs)
	}
	return out, nil
}

// kerasHistory collects the keras_history references in a Keras 3 node.
func kerasHistory(v any, refs *[]TensorRef, depth int) error {
	if depth > 64 {
		return errors.New("nested too deeply")
	}
	switch v := v.(type) {
	case map[string]any:
		if h, ok := v["keras_history"]; ok {
			b, _ := json.Marshal(h)
			r, err := parseRef(b)
			if err != nil {
				return err
			}
			*refs = append(*refs, r)
			return nil
		}
		for _, k := range []string{"args", "config"} { // not kwargs: masks and the like
			if c, ok := v[k]; ok {
				if err := kerasHistory(c, refs, depth+1); err != nil {
					return err
				}
			}
		}
	case []any:
		for _, c := range v {
			if err := kerasHistory(c, refs, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// parseRef decodes [layer, node, tensor, ...].
func parseRef(raw json.RawMessage) (TensorRef, error) {
	var e []json.RawMessage
	if err := json.Unmarshal(raw, &e); err != nil || len(e) < 3 {
		return TensorRef{}, fmt.Errorf("bad tensor reference %.60s", raw)
	}
	var r TensorRef
	if err := json.Unmarshal(e[0], &r.Layer); err != nil {
		return r, fmt.Errorf("bad tensor reference %.60s", raw)
	}
	if json.Unmarshal(e[1], &r.Node) != nil || json.Unmarshal(e[2], &r.Tensor) != nil || r.Node < 0 || r.Tensor < 0 {
		return r, fmt.Errorf("bad tensor reference %.60s", raw)
	}
	return r, nil
}

// parseRefList decodes input_layers/output_layers: a list of references,
// or a single one.
func parseRefList(raw json.RawMessage) ([]TensorRef, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	if r, err := parseRef(t); err == nil {
		return []TensorRef{r}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(t, &list); err != nil {
		return nil, err
	}
	out := make([]TensorRef, len(list))
	for i, e := range list {
		r, err := parseRef(e)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// decodeConfig fills the typed configuration field for known classes.
func (l *Layer) decodeConfig() error {
	var c layerConfigJSON
	switch l.ClassName {
	case "Conv2D", "BatchNormalization", "Dense", "Activation", "ReLU", "ZeroPadding2D",
		"MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "InputLayer":
	default:
		return nil
	}
	if err := json.Unmarshal(l.Config, &c); err != nil {
		return err
	}
	boolOr := func(b *bool, def bool) bool {
		if b == nil {
			return def
		}
		return *b
	}
	var err error
	switch l.ClassName {
	case "Conv2D":
		cc := &Conv2DConfig{Filters: c.Filters, Padding: stringOf(c.Padding), DataFormat: c.DataFormat,
			Groups: 1, Activation: stringOf(c.Activation), UseBias: boolOr(c.UseBias, true)}
		if c.Groups != nil {
			cc.Groups = *c.Groups
		}
		if cc.KernelSize, err = intPair(c.KernelSize, [2]int{0, 0}); err != nil {
			return fmt.Errorf("kernel_size: %v", err)
		}
		if cc.Strides, err = intPair(c.Strides, [2]int{1, 1}); err != nil {
			return fmt.Errorf("strides: %v", err)
		}
		if cc.DilationRate, err = intPair(c.DilationRate, [2]int{1, 1}); err != nil {
			return fmt.Errorf("dilation_rate: %v", err)
		}
		if cc.Filters <= 0 || cc.KernelSize[0] <= 0 || cc.KernelSize[1] <= 0 || cc.Strides[0] <= 0 || cc.Strides[1] <= 0 ||
			cc.DilationRate[0] <= 0 || cc.DilationRate[1] <= 0 || cc.Groups <= 0 {
			return fmt.Errorf("invalid filters, kernel_size, strides, dilation_rate or groups")
		}
		l.Conv2D = cc
	case "BatchNormalization":
		bn := &BatchNormConfig{Momentum: c.Momentum, Epsilon: c.Epsilon, Center: boolOr(c.Center, true), Scale: boolOr(c.Scale, true)}
		if bn.Axis, err = intList(c.Axis, []int{-1}); err != nil {
			return fmt.Errorf("axis: %v", err)
		}
		l.BatchNorm = bn
	case "Dense":
		l.Dense = &DenseConfig{Units: c.Units, Activation: stringOf(c.Activation), UseBias: boolOr(c.UseBias, true)}
		if c.Units <= 0 {
			return fmt.Errorf("invalid units %d", c.Units)
		}
	case "Activation":
		l.Activation = &ActivationConfig{Activation: stringOf(c.Activation)}
	case "ReLU":
		l.Activation = &ActivationConfig{Activation: "relu"}
	case "ZeroPadding2D":
		zp := &ZeroPadding2DConfig{DataFormat: c.DataFormat}
		if zp.Padding, err = padding2D(c.Padding); err != nil {
			return fmt.Errorf("padding: %v", err)
		}
		l.ZeroPad = zp
	case "MaxPooling2D", "AveragePooling2D":
		p := &Pooling2DConfig{Padding: stringOf(c.Padding), DataFormat: c.DataFormat}
		if p.PoolSize, err = intPair(c.PoolSize, [2]int{2, 2}); err != nil {
			return fmt.Errorf("pool_size: %v", err)
		}
		if p.Strides, err = intPair(c.Strides, p.PoolSize); err != nil {
			return fmt.Errorf("strides: %v", err)
		}
		if p.PoolSize[0] <= 0 || p.PoolSize[1] <= 0 || p.Strides[0] <= 0 || p.Strides[1] <= 0 {
			return fmt.Errorf("invalid pool_size or strides")
		}
		l.Pool = p
	case "GlobalAveragePooling2D", "GlobalMaxPooling2D":
		l.GlobalPool = &GlobalPooling2DConfig{DataFormat: c.DataFormat, KeepDims: c.KeepDims}
	case "InputLayer":
		in := &InputConfig{}
		json.Unmarshal(c.DType, &in.DType) // a string in Keras 2, a policy object later
		shape := c.BatchInput
		if shape == nil {
			shape = c.BatchShape
		}
		for _, s := range shape {
			if s == nil {
				in.BatchInputShape = append(in.BatchInputShape, -1)
			} else {
				in.BatchInputShape = append(in.BatchInputShape, *s)
			}
		}
		l.Input = in
	}
	return nil
}

// layerConfigJSON is the union of the config fields the typed configs use.
type layerConfigJSON struct {
	Filters      int             `json:"filters"`
	KernelSize   json.RawMessage `json:"kernel_size"`
	Strides      json.RawMessage `json:"strides"`
	Padding      json.RawMessage `json:"padding"`
	DataFormat   string          `json:"data_format"`
	DilationRate json.RawMessage `json:"dilation_rate"`
	Groups       *int            `json:"groups"`
	Activation   json.RawMessage `json:"activation"`
	UseBias      *bool           `json:"use_bias"`
	Axis         json.RawMessage `json:"axis"`
	Momentum     float64         `json:"momentum"`
	Epsilon      float64         `json:"epsilon"`
	Center       *bool           `json:"center"`
	Scale        *bool           `json:"scale"`
	Units        int             `json:"units"`
	PoolSize     json.RawMessage `json:"pool_size"`
	KeepDims     bool            `json:"keepdims"`
	BatchInput   []*int          `json:"batch_input_shape"`
	BatchShape   []*int          `json:"batch_shape"`
	DType        json.RawMessage `json:"dtype"`
}

// stringOf returns raw as a string, or "" when it is not a JSON string.
func stringOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// intPair decodes n or [a, b]; def when absent or null.
func intPair(raw json.RawMessage, def [2]int) ([2]int, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return def, nil
	}
	var n int
	if json.Unmarshal(t, &n) == nil {
		return [2]int{n, n}, nil
	}
	var l []int
	if err := json.Unmarshal(t, &l); err != nil || len(l) != 2 {
		return def, fmt.Errorf("want an int or two, got %.40s", t)
	}
	return [2]int{l[0], l[1]}, nil
}

// intList decodes n or [a, b, ...]; def when absent or null.
func intList(raw json.RawMessage, def []int) ([]int, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return def, nil
	}
	var n int
	if json.Unmarshal(t, &n) == nil {
		return []int{n}, nil
	}
	var l []int
	if err := json.Unmarshal(t, &l); err != nil {
		return nil, fmt.Errorf("want ints, got %.40s", t)
	}
	return l, nil
}

// padding2D decodes ZeroPadding2D's padding: n, [h, w] or [[top, bottom],
// [left, right]].
func padding2D(raw json.RawMessage) ([2][2]int, error) {
	t := bytes.TrimSpace(raw)
	var p [2][2]int
	if len(t) == 0 || string(t) == "null" {
		return [2][2]int{{1, 1}, {1, 1}}, nil // Keras' default
	}
	var n int
	if json.Unmarshal(t, &n) == nil {
		p = [2][2]int{{n, n}, {n, n}}
	} else if pr, err := intPair(t, [2]int{}); err == nil {
		p = [2][2]int{{pr[0], pr[0]}, {pr[1], pr[1]}}
	} else {
		var l [][]int
		if err := json.Unmarshal(t, &l); err != nil || len(l) != 2 || len(l[0]) != 2 || len(l[1]) != 2 {
			return p, fmt.Errorf("want n, [h, w] or [[top, bottom], [left, right]], got %.40s", t)
		}
		p = [2][2]int{{l[0][0], l[0][1]}, {l[1][0], l[1][1]}}
	}
	for _, r := range p {
		if r[0] < 0 || r[1] < 0 {
			return p, fmt.Errorf("negative padding %.40s", t)
		}
	}
	return p, nil
}

// tfjsElem describes how one manifest dtype is stored and decoded.
type tfjsElem struct {
	size   int
	decode func(dst []float32, src []byte)
}

func tfjsElemOf(dtype string, q *tfjsQuant) (tfjsElem, error) {
	if q != nil {
		switch q.DType {
		case "uint8", "uint16":
			if q.Scale == nil || q.Min == nil {
				return tfjsElem{}, fmt.Errorf("%s quantization without scale and min", q.DType)
			}
			scale, mn := *q.Scale, *q.Min
			if q.DType == "uint8" {
				return tfjsElem{1, func(dst []float32, src []byte) {
					for i := range dst {
						dst[i] = float32(float64(src[i])*scale + mn)
					}
				}}, nil
			}
			return tfjsElem{2, func(dst []float32, src []byte) {
				for i := range dst {
					dst[i] = float32(float64(binary.LittleEndian.Uint16(src[2*i:]))*scale + mn)
				}
			}}, nil
		case "float16":
			return tfjsElem{2, func(dst []float32, src []byte) { F16.decode(dst, src, binary.LittleEndian) }}, nil
		}
		return tfjsElem{}, fmt.Errorf("unsupported quantization dtype %q", q.DType)
	}
	switch dtype {
	case "float32":
		return tfjsElem{4, func(dst []float32, src []byte) { F32.decode(dst, src, binary.LittleEndian) }}, nil
	case "int32":
		return tfjsElem{4, func(dst []float32, src []byte) { I32.decode(dst, src, binary.LittleEndian) }}, nil
	case "bool":
		return tfjsElem{1, func(dst []float32, src []byte) { Bool.decode(dst, src, binary.LittleEndian) }}, nil
	}
	return tfjsElem{}, fmt.Errorf("unsupported dtype %q", dtype)
}

// tfjsDType is the DType recorded for a manifest entry.
func tfjsDType(dtype string) DType {
	switch dtype {
	case "int32":
		return I32
	case "bool":
		return Bool
	}
	return F32
}

// readTFJSWeights reads each manifest group's shards as one stream and
// splits it into the group's weights.
func readTFJSWeights(p string, mj *tfjsJSON, open shardOpener) (*StateDict, error) {
	sd := NewStateDict()
	sd.Path, sd.Format = p, FormatTFJS
	for gi, g := range mj.WeightsManifest {
		type plan struct {
			name  string
			shape []int
			numel int64
			elem  tfjsElem
			dtype DType
		}
		var plans []plan
		var need int64
		for _, w := range g.Weights {
			if w.Name == "" {
				return nil, fileErr(p, "weights group %d: a weight has no name", gi)
			}
			if sd.Has(w.Name) {
				return nil, fileErr(p, "weight %q listed twice", w.Name)
			}
			for _, pl := range plans {
				if pl.name == w.Name {
					return nil, fileErr(p, "weight %q listed twice", w.Name)
				}
			}
			numel, ok := numelCheck(w.Shape, maxElems)
			if !ok {
				return nil, fileErr(p, "weight %q: invalid shape %v", w.Name, w.Shape)
			}
			el, err := tfjsElemOf(w.DType, w.Quantization)
			if err != nil {
				return nil, fileErr(p, "weight %q: %v", w.Name, err)
			}
			shape := make([]int, len(w.Shape))
			for i, s := range w.Shape {
				shape[i] = int(s)
			}
			plans = append(plans, plan{w.Name, shape, numel, el, tfjsDType(w.DType)})
			need += numel * int64(el.size)
			if need > maxElems {
				return nil, fileErr(p, "weights group %d declares more than %d bytes", gi, int64(maxElems))
			}
		}
		var readers []io.Reader
		var have int64
		closeAll := func() {
			for _, r := range readers {
				r.(io.Closer).Close()
			}
		}
		for _, rel := range g.Paths {
			if !filepath.IsLocal(filepath.FromSlash(path.Clean(rel))) || strings.Contains(rel, "\\") {
				closeAll()
				return nil, fileErr(p, "shard path %q leaves the model's folder", rel)
			}
			rc, size, err := open(rel)
			if err != nil {
				closeAll()
				return nil, &FileError{Path: p, Msg: fmt.Sprintf("shard %q", rel), Err: err}
			}
			readers = append(readers, rc)
			have += size
		}
		if have != need {
			closeAll()
			what := "truncated"
			if have > need {
				what = "too long"
			}
			return nil, fileErr(p, "weights group %d %s: manifest needs %d bytes, shards %q hold %d", gi, what, need, g.Paths, have)
		}
		br := io.MultiReader(readers...)
		var buf []byte
		for _, pl := range plans {
			data := make([]float32, pl.numel)
			const chunk = 1 << 16
			for off := 0; off < len(data); off += chunk {
				k := min(chunk, len(data)-off)
				nb := k * pl.elem.size
				if cap(buf) < nb {
					buf = make([]byte, nb)
				}
				if _, err := io.ReadFull(br, buf[:nb]); err != nil {
					closeAll()
					return nil, &FileError{Path: p, Msg: fmt.Sprintf("weight %q: reading shards %q", pl.name, g.Paths), Err: err}
				}
				pl.elem.decode(data[off:off+k], buf[:nb])
			}
			sd.set(pl.name, tensor.FromSlice(data, pl.shape...), pl.dtype)
		}
		closeAll()
	}
	return sd, nil
}
