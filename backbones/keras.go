package backbones

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/reconpatch/rp/nn"
	"github.com/reconpatch/rp/tensor"
	"github.com/reconpatch/rp/weights"
)

// Keras is a Keras model read from a TensorFlow.js layers model and compiled
// into a program of nn layers by walking its layer graph: Conv2D (any
// kernel, stride, dilation, groups; "valid" or "same" padding), a
// BatchNormalization folded into the Conv2D before it (or standalone),
// Activation/ReLU (relu, linear, softmax), Add, Concatenate on channels,
// ZeroPadding2D, Max/AveragePooling2D, Global{Average,Max}Pooling2D,
// Flatten, Dense and Dropout, all channels_last. An Add whose summand is a
// convolution (after its batch norm) is fused into that convolution, and a
// ReLU after it too, as a ResNet block ends.
//
// Activations flow as NCHW tensors, like every other backbone: the Keras
// layout (NHWC) only shows in the kernels, which are transposed from
// H×W×In×Out at load, and in Flatten, which orders features as Keras does.
//
// Taps are layer names whose output survives fusion (the ReLU ending a
// block, pools, the classifier), residual block names ("res3d": the output
// of the block whose convolutions are res3d_branch2a…c, after its add and
// ReLU; "conv3_block4" for newer Keras naming), torchvision's stage names
// for the last block of each stage ("layer1" = last block of stage 2 …
// "layer4" = stage 5), and "logits", the classifier's output before its
// softmax.
type Keras struct {
	name   string
	norm   Normalization
	ops    []*kerasOp
	values int            // value 0 is the input
	named  map[string]int // tap name → value
	taps   []string
}

// kerasOpKind is what a program step computes.
type kerasOpKind uint8

const (
	kConv kerasOpKind = iota
	kPad
	kMaxPool
	kAvgPool
	kGlobalAvg
	kGlobalMax
	kDense
	kBatchNorm
	kAdd
	kReLU
	kSoftmax
	kConcat
	kFlatten
)

// kerasOp is one program step: out = f(in...).
type kerasOp struct {
	kind  kerasOpKind
	layer string // the Keras layer whose output this step produces
	in    []int
	out   int

	conv  *nn.Conv2d // kConv: in[1], if present, is added before the activation
	same  *samePad   // kConv, kMaxPool, kAvgPool with "same" padding computed per input size
	pad   nn.ZeroPad2d
	pool  [2][2]int // kernel, stride
	ppad  [2]int    // kMaxPool, kAvgPool: padding of a folded ZeroPadding2D (valid pools)
	dense *nn.Linear
	bn    *nn.BatchNorm2d
	keep  bool // kGlobalAvg, kGlobalMax: N×C×1×1 rather than N×C
}

// samePad is TensorFlow's "same" padding of one window: output ⌈in/stride⌉,
// the padding split with the smaller half before.
type samePad struct {
	kernel, stride, dilation [2]int
}

// pads returns the (before, after) padding of the two spatial dimensions
// for an h×w input.
func (s *samePad) pads(h, w int) (ph, pw [2]int) {
	one := func(in, k, st, d int) [2]int {
		out := (in + st - 1) / st
		total := max((out-1)*st+(k-1)*d+1-in, 0)
		return [2]int{total / 2, total - total/2}
	}
	return one(h, s.kernel[0], s.stride[0], s.dilation[0]), one(w, s.kernel[1], s.stride[1], s.dilation[1])
}

// kexpr is the value of a layer while the program is built: either a
// materialised value or a convolution still open to fusion.
type kexpr struct {
	id   int // the value, or -1 while pending
	p    *pendingConv
	rank int // 4 (N×C×H×W) or 2 (N×F)
	ch   int // channels or features; -1 when only known at run time
}

// pendingConv is a convolution that following layers may still extend: a
// batch norm folds into it, an Add makes the other summand its residual, a
// ReLU becomes its activation.
type pendingConv struct {
	tail     string // the layer whose output it computes
	uses     int    // consumers of tail
	conv     *nn.Conv2d
	same     *samePad
	input    int
	residual int // -1 for none
	act      nn.Activation
	bnDone   bool
}

// kerasBuilder compiles a TFJSModel.
type kerasBuilder struct {
	*builder
	m     *weights.TFJSModel
	k     *Keras
	uses  map[string]int
	vals  map[string]*kexpr
	chain map[string]string // fused layer → the layer it was fused into, for error messages
}

// NewKeras compiles the TF.js layers model m into a backbone named name. It
// returns an error naming the layer for a layer class, configuration or
// graph shape it does not support, and one error listing every missing,
// unexpected and mis-shaped weight.
func NewKeras(name string, m *weights.TFJSModel) (*Keras, error) {
	k := &Keras{name: name, norm: CaffeNormalization, named: map[string]int{}}
	kb := &kerasBuilder{builder: &builder{sd: m.Weights}, m: m, k: k, uses: map[string]int{}, vals: map[string]*kexpr{}, chain: map[string]string{}}
	if err := kb.compile(); err != nil {
		return nil, fmt.Errorf("backbones: %s: %s: %w", name, m.Path, err)
	}
	if err := kb.finish(name, nil); err != nil {
		return nil, err
	}
	return k, nil
}

func (kb *kerasBuilder) compile() error {
	m := kb.m
	if len(m.Inputs) != 1 || len(m.Outputs) != 1 {
		return fmt.Errorf("the model has %d inputs and %d outputs; want one of each", len(m.Inputs), len(m.Outputs))
	}
	for _, l := range m.Layers {
		if len(l.Inbound) > 1 {
			return fmt.Errorf("layer %s is called %d times; shared layers are not supported", l.Name, len(l.Inbound))
		}
		for _, node := range l.Inbound {
			for _, r := range node {
				if r.Node != 0 || r.Tensor != 0 {
					return fmt.Errorf("layer %s takes output %d of call %d of %s; only single-output layers called once are supported", l.Name, r.Tensor, r.Node, r.Layer)
				}
				kb.uses[r.Layer]++
			}
		}
	}
	out := m.Outputs[0].Layer
	kb.uses[out]++
	for _, l := range m.Layers {
		if err := kb.layer(l); err != nil {
			return fmt.Errorf("layer %s (%s): %w", l.Name, l.ClassName, err)
		}
	}
	for _, l := range m.Layers { // values nobody consumed
		if e := kb.vals[l.Name]; e != nil && e.id < 0 {
			kb.materialize(e)
		}
	}
	kb.aliases(out)
	return nil
}

// newValue allocates a value id.
func (kb *kerasBuilder) newValue() int {
	kb.k.values++
	return kb.k.values - 1
}

// emit appends a step producing layer's output and names the value.
func (kb *kerasBuilder) emit(op *kerasOp) int {
	op.out = kb.newValue()
	kb.k.ops = append(kb.k.ops, op)
	kb.name(op.layer, op.out)
	return op.out
}

func (kb *kerasBuilder) name(layer string, id int) {
	if _, ok := kb.k.named[layer]; !ok {
		kb.k.taps = append(kb.k.taps, layer)
	}
	kb.k.named[layer] = id
}

// materialize closes a pending convolution into a program step.
func (kb *kerasBuilder) materialize(e *kexpr) int {
	if e.id >= 0 {
		return e.id
	}
	p := e.p
	op := &kerasOp{kind: kConv, layer: p.tail, in: []int{p.input}, conv: p.conv, same: p.same}
	if p.conv != nil {
		op.conv = p.conv.WithActivation(p.act)
	}
	if p.residual >= 0 {
		op.in = append(op.in, p.residual)
	}
	e.id, e.p = kb.emit(op), nil
	return e.id
}

// input returns the materialised value of input i of l and its expression.
func (kb *kerasBuilder) input(l *weights.Layer, i int) (int, *kexpr) {
	e := kb.vals[l.Inbound[0][i].Layer]
	return kb.materialize(e), e
}

// pendingFor returns the pending convolution behind l's only input when l
// is its only consumer, else nil.
func (kb *kerasBuilder) pendingFor(e *kexpr) *pendingConv {
	if e.id < 0 && e.p.uses == 1 {
		return e.p
	}
	return nil
}

func channelsLast(df string) error {
	if df != "" && df != "channels_last" {
		return fmt.Errorf("data_format %q is not supported (channels_last only)", df)
	}
	return nil
}

// layer compiles one layer.
func (kb *kerasBuilder) layer(l *weights.Layer) error {
	if l.ClassName == "InputLayer" {
		if l.Name != kb.m.Inputs[0].Layer {
			return fmt.Errorf("a second input layer")
		}
		ch := -1
		if l.Input != nil && len(l.Input.BatchInputShape) == 4 {
			ch = l.Input.BatchInputShape[3]
		}
		if ch != 3 && ch != -1 {
			return fmt.Errorf("input shape %v does not have 3 channels last", l.Input.BatchInputShape)
		}
		kb.vals[l.Name] = &kexpr{id: 0, rank: 4, ch: 3}
		kb.k.values = 1
		return nil
	}
	if len(l.Inbound) == 0 || len(l.Inbound[0]) == 0 {
		return fmt.Errorf("no inputs")
	}
	nin := len(l.Inbound[0])
	in0 := kb.vals[l.Inbound[0][0].Layer]
	if in0 == nil {
		return fmt.Errorf("input %s is not computed before it", l.Inbound[0][0].Layer)
	}
	multi := l.ClassName == "Add" || l.ClassName == "Concatenate"
	if !multi && nin != 1 {
		return fmt.Errorf("%d inputs; want 1", nin)
	}
	need4 := func() error {
		if in0.rank != 4 {
			return fmt.Errorf("input is not a 4-D feature map")
		}
		return nil
	}
	set := func(e *kexpr) { kb.vals[l.Name] = e }
	switch l.ClassName {
	case "Dropout", "SpatialDropout2D":
		return kb.identity(l, in0)
	case "Activation", "ReLU":
		if l.ClassName == "ReLU" && reluHasOptions(l.Config) {
			return fmt.Errorf("ReLU with max_value, negative_slope or threshold is not supported")
		}
		switch l.Activation.Activation {
		case "linear":
			return kb.identity(l, in0)
		case "relu":
			if p := kb.pendingFor(in0); p != nil && p.act == nn.ActivationNone {
				kb.extend(l, in0, p)
				p.act = nn.ActivationReLU
				p.bnDone = true // a batch norm after the ReLU cannot fold
				return nil
			}
			id, _ := kb.input(l, 0)
			set(&kexpr{id: kb.emit(&kerasOp{kind: kReLU, layer: l.Name, in: []int{id}}), rank: in0.rank, ch: in0.ch})
			return nil
		case "softmax":
			id, _ := kb.input(l, 0)
			set(&kexpr{id: kb.emit(&kerasOp{kind: kSoftmax, layer: l.Name, in: []int{id}}), rank: in0.rank, ch: in0.ch})
			return nil
		}
		return fmt.Errorf("activation %q is not supported", l.Activation.Activation)
	case "Conv2D":
		return kb.conv2D(l, in0)
	case "BatchNormalization":
		return kb.batchNorm(l, in0)
	case "Add":
		return kb.add(l)
	case "Concatenate":
		var axis struct {
			Axis *int `json:"axis"`
		}
		json.Unmarshal(l.Config, &axis)
		if axis.Axis != nil && *axis.Axis != -1 && *axis.Axis != 3 {
			return fmt.Errorf("concatenation on axis %d (channels, -1 or 3, only)", *axis.Axis)
		}
		op := &kerasOp{kind: kConcat, layer: l.Name}
		ch := 0
		for i := range nin {
			if kb.vals[l.Inbound[0][i].Layer] == nil {
				return fmt.Errorf("input %s is not computed before it", l.Inbound[0][i].Layer)
			}
			id, e := kb.input(l, i)
			if e.rank != 4 {
				return fmt.Errorf("input %s is not a 4-D feature map", l.Inbound[0][i].Layer)
			}
			op.in = append(op.in, id)
			if e.ch < 0 || ch < 0 {
				ch = -1
			} else {
				ch += e.ch
			}
		}
		set(&kexpr{id: kb.emit(op), rank: 4, ch: ch})
		return nil
	case "ZeroPadding2D":
		if err := need4(); err != nil {
			return err
		}
		if err := channelsLast(l.ZeroPad.DataFormat); err != nil {
			return err
		}
		p := l.ZeroPad.Padding
		id, _ := kb.input(l, 0)
		op := &kerasOp{kind: kPad, layer: l.Name, in: []int{id}, pad: nn.ZeroPad2d{Top: p[0][0], Bottom: p[0][1], Left: p[1][0], Right: p[1][1]}}
		set(&kexpr{id: kb.emit(op), rank: 4, ch: in0.ch})
		return nil
	case "MaxPooling2D", "AveragePooling2D":
		if err := need4(); err != nil {
			return err
		}
		c := l.Pool
		if err := channelsLast(c.DataFormat); err != nil {
			return err
		}
		kind := kMaxPool
		if l.ClassName == "AveragePooling2D" {
			kind = kAvgPool
		}
		id, _ := kb.input(l, 0)
		op := &kerasOp{kind: kind, layer: l.Name, in: []int{id}, pool: [2][2]int{c.PoolSize, c.Strides}}
		switch c.Padding {
		case "valid", "":
			// ZeroPadding2D → MaxPooling2D over values that cannot be
			// negative (a ReLU's): padding with zeros is padding with −∞,
			// which the pool does without copying its input.
			pad := kb.foldablePad(id)
			if kind == kMaxPool && pad != nil && kb.nonNegative(pad.in[0]) && 2*pad.pad.Top <= c.PoolSize[0] && 2*pad.pad.Left <= c.PoolSize[1] {
				op.in[0] = pad.in[0]
				op.ppad = [2]int{pad.pad.Top, pad.pad.Left}
			}
		case "same":
			op.same = &samePad{kernel: c.PoolSize, stride: c.Strides, dilation: [2]int{1, 1}}
		default:
			return fmt.Errorf("padding %q is not supported", c.Padding)
		}
		set(&kexpr{id: kb.emit(op), rank: 4, ch: in0.ch})
		return nil
	case "GlobalAveragePooling2D", "GlobalMaxPooling2D":
		if err := need4(); err != nil {
			return err
		}
		if err := channelsLast(l.GlobalPool.DataFormat); err != nil {
			return err
		}
		kind := kGlobalAvg
		if l.ClassName == "GlobalMaxPooling2D" {
			kind = kGlobalMax
		}
		id, _ := kb.input(l, 0)
		op := &kerasOp{kind: kind, layer: l.Name, in: []int{id}, keep: l.GlobalPool.KeepDims}
		rank := 2
		if op.keep {
			rank = 4
		}
		set(&kexpr{id: kb.emit(op), rank: rank, ch: in0.ch})
		return nil
	case "Flatten":
		var df struct {
			DataFormat string `json:"data_format"`
		}
		json.Unmarshal(l.Config, &df)
		if err := channelsLast(df.DataFormat); err != nil {
			return err
		}
		id, _ := kb.input(l, 0)
		if in0.rank == 2 {
			kb.name(l.Name, id)
			set(&kexpr{id: id, rank: 2, ch: in0.ch})
			return nil
		}
		set(&kexpr{id: kb.emit(&kerasOp{kind: kFlatten, layer: l.Name, in: []int{id}}), rank: 2, ch: -1})
		return nil
	case "Dense":
		return kb.dense(l, in0)
	}
	return fmt.Errorf("layer class %s is not supported", l.ClassName)
}

// reluHasOptions reports a ReLU layer that is not the plain rectifier.
func reluHasOptions(cfg json.RawMessage) bool {
	var c struct {
		MaxValue      *float64 `json:"max_value"`
		NegativeSlope *float64 `json:"negative_slope"`
		Threshold     *float64 `json:"threshold"`
	}
	json.Unmarshal(cfg, &c)
	return c.MaxValue != nil || (c.NegativeSlope != nil && *c.NegativeSlope != 0) || (c.Threshold != nil && *c.Threshold != 0)
}

// identity makes l's output its input's.
func (kb *kerasBuilder) identity(l *weights.Layer, in *kexpr) error {
	if p := kb.pendingFor(in); p != nil {
		kb.extend(l, in, p)
		return nil
	}
	id := kb.materialize(in)
	kb.name(l.Name, id)
	kb.vals[l.Name] = &kexpr{id: id, rank: in.rank, ch: in.ch}
	return nil
}

// extend makes l's output the pending convolution p of in.
func (kb *kerasBuilder) extend(l *weights.Layer, in *kexpr, p *pendingConv) {
	kb.chain[p.tail] = l.Name
	p.tail, p.uses = l.Name, kb.uses[l.Name]
	kb.vals[l.Name] = in
}

// foldablePad returns the ZeroPadding2D step that computes value id if the
// layer being compiled is its only consumer and it pads both sides of each
// dimension alike, so that the consumer can pad instead; otherwise nil.
func (kb *kerasBuilder) foldablePad(id int) *kerasOp {
	op := kb.producer(id)
	if op == nil || op.kind != kPad || kb.uses[op.layer] != 1 {
		return nil
	}
	if p := op.pad; p.Top != p.Bottom || p.Left != p.Right {
		return nil
	}
	return op
}

// nonNegative reports whether value id is the output of a rectifier.
func (kb *kerasBuilder) nonNegative(id int) bool {
	op := kb.producer(id)
	return op != nil && (op.kind == kReLU || op.kind == kConv && op.conv != nil && op.conv.Options().Activation == nn.ActivationReLU)
}

// producer returns the step that computes value id, or nil for the input.
func (kb *kerasBuilder) producer(id int) *kerasOp {
	for _, op := range kb.k.ops {
		if op.out == id {
			return op
		}
	}
	return nil
}

func (kb *kerasBuilder) conv2D(l *weights.Layer, in *kexpr) error {
	c := l.Conv2D
	if in.rank != 4 {
		return fmt.Errorf("input is not a 4-D feature map")
	}
	if err := channelsLast(c.DataFormat); err != nil {
		return err
	}
	if in.ch < 0 || in.ch%c.Groups != 0 || c.Filters%c.Groups != 0 {
		return fmt.Errorf("%d input channels and %d filters do not split into %d groups", in.ch, c.Filters, c.Groups)
	}
	opts := nn.Conv2dOptions{Stride: c.Strides, Dilation: c.DilationRate, Groups: c.Groups}
	var same *samePad
	switch c.Padding {
	case "valid", "":
	case "same":
		sp := &samePad{kernel: c.KernelSize, stride: c.Strides, dilation: c.DilationRate}
		if c.Strides == [2]int{1, 1} && (c.KernelSize[0]-1)*c.DilationRate[0]%2 == 0 && (c.KernelSize[1]-1)*c.DilationRate[1]%2 == 0 {
			opts.Padding = [2]int{(c.KernelSize[0] - 1) * c.DilationRate[0] / 2, (c.KernelSize[1] - 1) * c.DilationRate[1] / 2}
		} else {
			same = sp
		}
	default:
		return fmt.Errorf("padding %q is not supported", c.Padding)
	}
	var act nn.Activation
	switch c.Activation {
	case "linear", "":
	case "relu":
		act = nn.ActivationReLU
	default:
		return fmt.Errorf("activation %q is not supported", c.Activation)
	}
	kh, kw := c.KernelSize[0], c.KernelSize[1]
	k := kb.get(l.Name+"/kernel", kh, kw, in.ch/c.Groups, c.Filters)
	var bias *tensor.Tensor
	if c.UseBias {
		bias = kb.get(l.Name+"/bias", c.Filters)
	}
	id := kb.materialize(in)
	if pad := kb.foldablePad(id); pad != nil && same == nil {
		// ZeroPadding2D → Conv2D: the convolution pads instead, without
		// copying its input.
		id = pad.in[0]
		opts.Padding[0] += pad.pad.Top
		opts.Padding[1] += pad.pad.Left
	}
	var conv *nn.Conv2d
	if k != nil && (bias != nil || !c.UseBias) {
		conv = kb.foldConv(l.Name, hwioToOIHW(k), bias, nil, opts, nn.ActivationNone)
	}
	p := &pendingConv{tail: l.Name, uses: kb.uses[l.Name], conv: conv, same: same, input: id, residual: -1, act: act, bnDone: act != nn.ActivationNone}
	kb.vals[l.Name] = &kexpr{id: -1, p: p, rank: 4, ch: c.Filters}
	return nil
}

// hwioToOIHW transposes a Keras kernel, KH×KW×I×O, to PyTorch's O×I×KH×KW.
func hwioToOIHW(k *tensor.Tensor) *tensor.Tensor {
	s := k.Shape()
	kh, kw, ci, co := s[0], s[1], s[2], s[3]
	src := k.Contiguous().Data()
	dst := make([]float32, len(src))
	for y := range kh {
		for x := range kw {
			for i := range ci {
				row := src[((y*kw+x)*ci+i)*co:][:co]
				for o, v := range row {
					dst[((o*ci+i)*kh+y)*kw+x] = v
				}
			}
		}
	}
	return tensor.FromSlice(dst, co, ci, kh, kw)
}

func (kb *kerasBuilder) batchNorm(l *weights.Layer, in *kexpr) error {
	c := l.BatchNorm
	if in.rank != 4 {
		return fmt.Errorf("batch normalisation of a non-4-D value is not supported")
	}
	if len(c.Axis) != 1 || (c.Axis[0] != 3 && c.Axis[0] != -1) {
		return fmt.Errorf("axis %v is not the channel axis of channels_last", c.Axis)
	}
	if in.ch < 0 {
		return fmt.Errorf("unknown channel count")
	}
	ch := in.ch
	var gamma, beta *tensor.Tensor
	ok := true
	if c.Scale {
		gamma = kb.get(l.Name+"/gamma", ch)
		ok = ok && gamma != nil
	}
	if c.Center {
		beta = kb.get(l.Name+"/beta", ch)
		ok = ok && beta != nil
	}
	mean := kb.get(l.Name+"/moving_mean", ch)
	variance := kb.get(l.Name+"/moving_variance", ch)
	var bn *nn.BatchNorm2d
	if ok && mean != nil && variance != nil {
		var err error
		if bn, err = nn.NewBatchNorm2d(gamma, beta, mean, variance, c.Epsilon); err != nil {
			kb.fail(fmt.Errorf("%s: %w", l.Name, err))
		}
	}
	if p := kb.pendingFor(in); p != nil && !p.bnDone && p.residual < 0 {
		if p.conv != nil && bn != nil {
			folded, err := p.conv.FoldBatchNorm(bn)
			if err != nil {
				kb.fail(fmt.Errorf("%s: %w", l.Name, err))
			}
			p.conv = folded
		} else {
			p.conv = nil
		}
		p.bnDone = true
		kb.extend(l, in, p)
		return nil
	}
	id := kb.materialize(in)
	kb.vals[l.Name] = &kexpr{id: kb.emit(&kerasOp{kind: kBatchNorm, layer: l.Name, in: []int{id}, bn: bn}), rank: 4, ch: ch}
	return nil
}

func (kb *kerasBuilder) add(l *weights.Layer) error {
	refs := l.Inbound[0]
	if len(refs) < 2 {
		return fmt.Errorf("%d inputs; want 2 or more", len(refs))
	}
	es := make([]*kexpr, len(refs))
	for i, r := range refs {
		es[i] = kb.vals[r.Layer]
		if es[i] == nil {
			return fmt.Errorf("input %s is not computed before it", r.Layer)
		}
		if es[i].rank != es[0].rank || es[i].ch != es[0].ch {
			return fmt.Errorf("inputs %s and %s differ in shape", refs[0].Layer, r.Layer)
		}
	}
	if len(refs) == 2 {
		for i := range 2 {
			p := kb.pendingFor(es[i])
			if p == nil || p.residual >= 0 || p.act != nn.ActivationNone {
				continue
			}
			// A refers to one layer twice (x + x): keep it simple.
			if refs[0].Layer == refs[1].Layer {
				break
			}
			other := kb.materialize(es[1-i])
			p.residual = other
			kb.extend(l, es[i], p)
			return nil
		}
	}
	op := &kerasOp{kind: kAdd, layer: l.Name}
	for i := range refs {
		op.in = append(op.in, kb.materialize(es[i]))
	}
	kb.vals[l.Name] = &kexpr{id: kb.emit(op), rank: es[0].rank, ch: es[0].ch}
	return nil
}

func (kb *kerasBuilder) dense(l *weights.Layer, in *kexpr) error {
	c := l.Dense
	if in.rank != 2 {
		return fmt.Errorf("input is not flat (N×features); add a Flatten or a global pool")
	}
	features := in.ch
	if features < 0 { // after Flatten: as the kernel says, checked at run time
		if k := kb.sd.Get(l.Name + "/kernel"); k != nil && k.Dims() == 2 {
			features = k.Dim(0)
		} else {
			features = 0
		}
	}
	k := kb.get(l.Name+"/kernel", features, c.Units)
	var bias *tensor.Tensor
	if c.UseBias {
		bias = kb.get(l.Name+"/bias", c.Units)
	}
	var lin *nn.Linear
	if k != nil && (bias != nil || !c.UseBias) {
		var err error
		if lin, err = nn.NewLinear(transpose2D(k), bias); err != nil {
			kb.fail(fmt.Errorf("%s: %w", l.Name, err))
		}
	}
	id := kb.materialize(in)
	op := &kerasOp{kind: kDense, layer: l.Name, in: []int{id}, dense: lin}
	switch c.Activation {
	case "linear", "":
		kb.vals[l.Name] = &kexpr{id: kb.emit(op), rank: 2, ch: c.Units}
	case "softmax", "relu":
		op.layer = l.Name + "/logits"
		pre := kb.emit(op)
		kind := kSoftmax
		if c.Activation == "relu" {
			kind = kReLU
		}
		kb.vals[l.Name] = &kexpr{id: kb.emit(&kerasOp{kind: kind, layer: l.Name, in: []int{pre}}), rank: 2, ch: c.Units}
	default:
		return fmt.Errorf("activation %q is not supported", c.Activation)
	}
	return nil
}

// transpose2D returns the transpose of an R×C tensor.
func transpose2D(t *tensor.Tensor) *tensor.Tensor {
	r, c := t.Dim(0), t.Dim(1)
	src := t.Contiguous().Data()
	dst := make([]float32, len(src))
	for i := range r {
		for j := range c {
			dst[j*r+i] = src[i*c+j]
		}
	}
	return tensor.FromSlice(dst, c, r)
}

var (
	// res3d_branch2c (keras-applications 1.0.7 and earlier).
	oldBlockConv = regexp.MustCompile(`^res(\d+)([a-z]+)_branch2[a-z]$`)
	// conv3_block4_3_conv (keras-applications 1.0.8 and later).
	newBlockConv = regexp.MustCompile(`^conv(\d+)_(block\d+)_\d+_conv$`)
)

// aliases names the residual blocks, torchvision's stages and the logits.
func (kb *kerasBuilder) aliases(output string) {
	k := kb.k
	type block struct {
		name  string
		stage int
		id    int
	}
	var blocks []block
	for _, l := range kb.m.Layers {
		if l.ClassName != "Add" {
			continue
		}
		name, stage := kb.blockOf(l)
		if name == "" {
			continue
		}
		end := l.Name
		if kb.uses[l.Name] == 1 {
			for _, c := range kb.m.Layers {
				if len(c.Inbound) == 1 && len(c.Inbound[0]) == 1 && c.Inbound[0][0].Layer == l.Name &&
					c.Activation != nil && c.Activation.Activation == "relu" {
					end = c.Name
				}
			}
		}
		id, ok := k.named[end]
		if !ok {
			continue
		}
		blocks = append(blocks, block{name, stage, id})
	}
	last := map[int]int{}
	for _, b := range blocks {
		if _, ok := k.named[b.name]; !ok {
			kb.name(b.name, b.id)
		}
		last[b.stage] = b.id
	}
	for s := 2; s <= 5; s++ {
		if id, ok := last[s]; ok {
			kb.name(fmt.Sprintf("layer%d", s-1), id)
		}
	}
	// logits: the classifier before its softmax.
	if id, ok := k.named[output+"/logits"]; ok {
		kb.name("logits", id)
	} else if ol := kb.m.Layer(output); ol != nil && ol.Activation != nil && ol.Activation.Activation == "softmax" {
		if id, ok := k.named[ol.Inbound[0][0].Layer]; ok {
			kb.name("logits", id)
		}
	} else if id, ok := k.named[output]; ok {
		kb.name("logits", id)
	}
	// Keep internal names out of the list: "<dense>/logits" is "logits".
	k.taps = slices.DeleteFunc(k.taps, func(n string) bool { return strings.HasSuffix(n, "/logits") })
	for n := range k.named {
		if strings.HasSuffix(n, "/logits") {
			delete(k.named, n)
		}
	}
}

// blockOf names the residual block an Add ends, from the convolution behind
// either summand (through its batch norm): "res3d" or "conv3_block4", and
// its stage.
func (kb *kerasBuilder) blockOf(add *weights.Layer) (string, int) {
	for _, r := range add.Inbound[0] {
		l := kb.m.Layer(r.Layer)
		for l != nil && l.ClassName == "BatchNormalization" && len(l.Inbound) == 1 {
			l = kb.m.Layer(l.Inbound[0][0].Layer)
		}
		if l == nil || l.ClassName != "Conv2D" {
			continue
		}
		if m := oldBlockConv.FindStringSubmatch(l.Name); m != nil {
			var s int
			fmt.Sscan(m[1], &s)
			return "res" + m[1] + m[2], s
		}
		if m := newBlockConv.FindStringSubmatch(l.Name); m != nil {
			var s int
			fmt.Sscan(m[1], &s)
			return "conv" + m[1] + "_" + m[2], s
		}
	}
	return "", 0
}

// Name returns the backbone's name.
func (k *Keras) Name() string { return k.name }

// Normalization returns the Caffe-style preprocessing of Keras's ResNet50:
// BGR, ImageNet mean subtracted, no std.
func (k *Keras) Normalization() Normalization { return k.norm }

// Taps lists the tap names: layer names in the order the program computes
// them, then block names, stage aliases and "logits".
func (k *Keras) Taps() []string { return slices.Clone(k.taps) }

// valueShape is a value's shape while a run is planned: N×C×H×W or N×F.
type valueShape []int

// plan returns the steps needed for the requested values, in order, and
// checks every shape for an input of shape in.
func (k *Keras) plan(in []int, want []int) (steps []*kerasOp, err error) {
	need := make([]bool, k.values)
	for _, v := range want {
		need[v] = true
	}
	keep := make([]bool, len(k.ops))
	for i := len(k.ops) - 1; i >= 0; i-- {
		op := k.ops[i]
		if need[op.out] {
			keep[i] = true
			for _, v := range op.in {
				need[v] = true
			}
		}
	}
	shapes := make([]valueShape, k.values)
	shapes[0] = in
	for i, op := range k.ops {
		if !keep[i] {
			continue
		}
		s, err := op.outShape(shapes)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", op.layer, err)
		}
		shapes[op.out] = s
		steps = append(steps, op)
	}
	return steps, nil
}

// outShape computes the step's output shape from its inputs' or reports
// why it cannot run.
func (op *kerasOp) outShape(shapes []valueShape) (valueShape, error) {
	x := shapes[op.in[0]]
	want4 := func() error {
		if len(x) != 4 {
			return fmt.Errorf("input shape %v is not 4-D", x)
		}
		return nil
	}
	switch op.kind {
	case kConv:
		if err := want4(); err != nil {
			return nil, err
		}
		h, w := x[2], x[3]
		if op.same != nil {
			ph, pw := op.same.pads(h, w)
			h, w = h+ph[0]+ph[1], w+pw[0]+pw[1]
		}
		oh, ow := op.conv.OutputSize(h, w)
		if oh < 1 || ow < 1 {
			return nil, fmt.Errorf("input shape %v is smaller than the kernel", x)
		}
		out := valueShape{x[0], op.conv.OutChannels(), oh, ow}
		if len(op.in) == 2 && !slices.Equal(shapes[op.in[1]], out) {
			return nil, fmt.Errorf("the summands' shapes %v and %v differ", out, shapes[op.in[1]])
		}
		return out, nil
	case kPad:
		if err := want4(); err != nil {
			return nil, err
		}
		p := op.pad
		return valueShape{x[0], x[1], x[2] + p.Top + p.Bottom, x[3] + p.Left + p.Right}, nil
	case kMaxPool, kAvgPool:
		if err := want4(); err != nil {
			return nil, err
		}
		k, s := op.pool[0], op.pool[1]
		var oh, ow int
		if op.same != nil {
			ph, pw := op.same.pads(x[2], x[3])
			if ph[0] != ph[1] || pw[0] != pw[1] {
				return nil, fmt.Errorf("\"same\" padding of input shape %v is asymmetric (%v, %v): not supported", x, ph, pw)
			}
			oh, ow = (x[2]+s[0]-1)/s[0], (x[3]+s[1]-1)/s[1]
		} else {
			h, w := x[2]+2*op.ppad[0], x[3]+2*op.ppad[1]
			oh, ow = (h-k[0])/s[0]+1, (w-k[1])/s[1]+1
			if h < k[0] || w < k[1] {
				oh = 0
			}
		}
		if oh < 1 || ow < 1 {
			return nil, fmt.Errorf("input shape %v is smaller than the %v window", x, k)
		}
		return valueShape{x[0], x[1], oh, ow}, nil
	case kGlobalAvg, kGlobalMax:
		if err := want4(); err != nil {
			return nil, err
		}
		if op.keep {
			return valueShape{x[0], x[1], 1, 1}, nil
		}
		return valueShape{x[0], x[1]}, nil
	case kFlatten:
		if err := want4(); err != nil {
			return nil, err
		}
		return valueShape{x[0], x[1] * x[2] * x[3]}, nil
	case kDense:
		if len(x) != 2 || x[1] != op.dense.InFeatures() {
			return nil, fmt.Errorf("input shape %v does not match the kernel's %d input features", x, op.dense.InFeatures())
		}
		return valueShape{x[0], op.dense.OutFeatures()}, nil
	case kBatchNorm, kReLU, kSoftmax:
		return slices.Clone(x), nil
	case kAdd:
		for _, v := range op.in[1:] {
			if !slices.Equal(shapes[v], x) {
				return nil, fmt.Errorf("the summands' shapes %v and %v differ", x, shapes[v])
			}
		}
		return slices.Clone(x), nil
	case kConcat:
		out := slices.Clone(x)
		if len(out) != 4 {
			return nil, fmt.Errorf("input shape %v is not 4-D", x)
		}
		for _, v := range op.in[1:] {
			s := shapes[v]
			if len(s) != 4 || s[0] != x[0] || s[2] != x[2] || s[3] != x[3] {
				return nil, fmt.Errorf("input shapes %v and %v differ outside the channels", x, s)
			}
			out[1] += s[1]
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown step %d", op.kind)
}

// run computes the step.
func (op *kerasOp) run(vals []*tensor.Tensor) *tensor.Tensor {
	x := vals[op.in[0]]
	switch op.kind {
	case kConv:
		padded := false
		if op.same != nil {
			ph, pw := op.same.pads(x.Dim(2), x.Dim(3))
			if ph != [2]int{} || pw != [2]int{} {
				x = nn.ZeroPad2d{Top: ph[0], Bottom: ph[1], Left: pw[0], Right: pw[1]}.Forward(x)
				padded = true
			}
		}
		var res *tensor.Tensor
		if len(op.in) == 2 {
			res = vals[op.in[1]]
		}
		y := op.conv.ForwardInto(convTemp(op.conv, x), x, res)
		if padded {
			nn.Release(x)
		}
		return y
	case kPad:
		return op.pad.Forward(x)
	case kMaxPool, kAvgPool:
		pad := op.ppad
		if op.same != nil {
			ph, pw := op.same.pads(x.Dim(2), x.Dim(3))
			pad = [2]int{ph[0], pw[0]}
		}
		if op.kind == kMaxPool {
			return nn.MaxPool2d{Kernel: op.pool[0], Stride: op.pool[1], Padding: pad}.Forward(x)
		}
		return nn.AvgPool2d{Kernel: op.pool[0], Stride: op.pool[1], Padding: pad, ExcludePad: true}.Forward(x)
	case kGlobalAvg:
		y := nn.GlobalAvgPool2d{}.Forward(x) // N×C
		if op.keep {
			return tensor.FromSlice(y.Data(), y.Dim(0), y.Dim(1), 1, 1)
		}
		return y
	case kGlobalMax:
		n, c, hw := x.Dim(0), x.Dim(1), x.Dim(2)*x.Dim(3)
		src := x.Contiguous().Data()
		y := make([]float32, n*c)
		for p := range y {
			m := float32(math.Inf(-1))
			for _, v := range src[p*hw:][:hw] {
				if v > m || v != v {
					m = v
				}
			}
			y[p] = m
		}
		if op.keep {
			return tensor.FromSlice(y, n, c, 1, 1)
		}
		return tensor.FromSlice(y, n, c)
	case kFlatten: // Keras order: (h, w, c)
		n, c, h, w := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
		src := x.Contiguous().Data()
		y := make([]float32, len(src))
		for i := range n {
			for ch := range c {
				for p := range h * w {
					y[i*c*h*w+p*c+ch] = src[(i*c+ch)*h*w+p]
				}
			}
		}
		return tensor.FromSlice(y, n, c*h*w)
	case kDense:
		return op.dense.Forward(x)
	case kBatchNorm:
		return op.bn.Forward(x)
	case kReLU:
		return nn.ReLU{}.Forward(x)
	case kSoftmax:
		return nn.Softmax{Dim: 1}.Forward(x)
	case kAdd:
		y := x.Contiguous().Clone()
		d := y.Data()
		for _, v := range op.in[1:] {
			for i, a := range vals[v].Contiguous().Data() {
				d[i] += a
			}
		}
		return y
	case kConcat:
		xs := make([]*tensor.Tensor, len(op.in))
		for i, v := range op.in {
			xs[i] = vals[v]
		}
		return nn.ConcatChannels(xs...)
	}
	panic(fmt.Sprintf("backbones: unknown Keras step %d", op.kind))
}

// Forward runs x, N×3×H×W (BGR, mean subtracted), through the steps the
// taps need. Keras ResNet50 at 224: res3d (layer2) N×512×28×28, res4f
// (layer3) N×1024×14×14, logits N×1000.
func (k *Keras) Forward(x *tensor.Tensor, taps ...string) (map[string]*tensor.Tensor, error) {
	if len(taps) == 0 {
		return nil, fmt.Errorf("backbones: %s: no taps requested (available: %s)", k.name, strings.Join(k.taps, ", "))
	}
	want := make([]int, len(taps))
	var unknown []string
	for i, t := range taps {
		v, ok := k.named[t]
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%q", t))
		}
		want[i] = v
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("backbones: %s: unknown tap %s (available: %s)", k.name, strings.Join(unknown, ", "), strings.Join(k.taps, ", "))
	}
	if err := checkInput(k.name, x, 1, 1); err != nil {
		return nil, err
	}
	if x.Dim(0) > 1 && imageByImage {
		return ForwardBatched(k, x, 1, taps...)
	}
	steps, err := k.plan(x.Shape(), want)
	if err != nil {
		return nil, fmt.Errorf("backbones: %s: input shape %v: %w", k.name, x.Shape(), err)
	}
	// Free each value after its last use, unless it is a tap.
	lastUse := make([]int, k.values)
	for i, op := range steps {
		for _, v := range op.in {
			lastUse[v] = i
		}
	}
	keep := make([]bool, k.values)
	for _, v := range want {
		keep[v] = true
	}
	vals := make([]*tensor.Tensor, k.values)
	vals[0] = x
	for i, op := range steps {
		vals[op.out] = op.run(vals)
		for _, v := range op.in {
			if lastUse[v] == i && !keep[v] && v != 0 && vals[v] != nil {
				// Every step returns a tensor of its own: the value's
				// storage can go back to nn.Temp.
				nn.Release(vals[v])
				vals[v] = nil
			}
		}
	}
	out := make(map[string]*tensor.Tensor, len(taps))
	for i, t := range taps {
		out[t] = vals[want[i]]
	}
	return out, nil
}
