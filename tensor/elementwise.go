package tensor

import (
	"fmt"
	"math"
	"slices"
)

// Binary operations broadcast their operands as NumPy does: shapes are
// aligned at their last dimension, missing leading dimensions count as 1,
// and a dimension of size 1 stretches to match the other operand. Two shapes
// broadcast if every aligned pair of dimensions is equal or contains a 1.

// Add returns a + b elementwise, broadcast to their common shape. It panics if
// the shapes do not broadcast.
func Add(a, b *Tensor) *Tensor { return broadcastBinary("Add", &addOp, a, b) }

// Sub returns a - b elementwise, broadcast to their common shape. It panics if
// the shapes do not broadcast.
func Sub(a, b *Tensor) *Tensor { return broadcastBinary("Sub", &subOp, a, b) }

// Mul returns a · b elementwise, broadcast to their common shape. It panics if
// the shapes do not broadcast.
func Mul(a, b *Tensor) *Tensor { return broadcastBinary("Mul", &mulOp, a, b) }

// Div returns a / b elementwise, broadcast to their common shape, with IEEE
// semantics for division by zero. It panics if the shapes do not broadcast.
func Div(a, b *Tensor) *Tensor { return broadcastBinary("Div", &divOp, a, b) }

// AddInPlace sets t = t + b elementwise and returns t. The shape of b must
// broadcast to t's shape, and t must not be a broadcast view. b may share
// memory with t.
func (t *Tensor) AddInPlace(b *Tensor) *Tensor { return binaryInPlace("AddInPlace", &addOp, t, b) }

// SubInPlace sets t = t - b elementwise and returns t; see AddInPlace.
func (t *Tensor) SubInPlace(b *Tensor) *Tensor { return binaryInPlace("SubInPlace", &subOp, t, b) }

// MulInPlace sets t = t · b elementwise and returns t; see AddInPlace.
func (t *Tensor) MulInPlace(b *Tensor) *Tensor { return binaryInPlace("MulInPlace", &mulOp, t, b) }

// DivInPlace sets t = t / b elementwise and returns t; see AddInPlace.
func (t *Tensor) DivInPlace(b *Tensor) *Tensor { return binaryInPlace("DivInPlace", &divOp, t, b) }

// AddScalar returns t + c elementwise.
func AddScalar(t *Tensor, c float32) *Tensor { return unary(t, addScalar(c)) }

// MulScalar returns t · c elementwise.
func MulScalar(t *Tensor, c float32) *Tensor { return unary(t, mulScalar(c)) }

// AddScalarInPlace sets t = t + c elementwise and returns t.
func (t *Tensor) AddScalarInPlace(c float32) *Tensor {
	return unaryInPlace("AddScalarInPlace", t, addScalar(c))
}

// MulScalarInPlace sets t = t · c elementwise and returns t.
func (t *Tensor) MulScalarInPlace(c float32) *Tensor {
	return unaryInPlace("MulScalarInPlace", t, mulScalar(c))
}

// Neg returns -t elementwise.
func Neg(t *Tensor) *Tensor { return unary(t, negRow) }

// Exp returns eˣ elementwise.
func Exp(t *Tensor) *Tensor { return unary(t, expRow) }

// Log returns the natural logarithm elementwise (NaN below zero, -Inf at zero).
func Log(t *Tensor) *Tensor { return unary(t, logRow) }

// Sqrt returns the square root elementwise (NaN below zero).
func Sqrt(t *Tensor) *Tensor { return unary(t, sqrtRow) }

// Abs returns |t| elementwise.
func Abs(t *Tensor) *Tensor { return unary(t, absRow) }

// ReLU returns max(t, 0) elementwise; NaN stays NaN.
func ReLU(t *Tensor) *Tensor { return unary(t, clampRow(0, float32(math.Inf(1)))) }

// Clamp returns t with every element limited to [lo, hi]; NaN stays NaN. It
// panics if lo > hi.
func Clamp(t *Tensor, lo, hi float32) *Tensor {
	checkClamp("Clamp", lo, hi)
	return unary(t, clampRow(lo, hi))
}

// ClampInPlace limits every element of t to [lo, hi] and returns t; see
// Clamp.
func (t *Tensor) ClampInPlace(lo, hi float32) *Tensor {
	checkClamp("ClampInPlace", lo, hi)
	return unaryInPlace("ClampInPlace", t, clampRow(lo, hi))
}

// Apply returns f(t) elementwise. f is called once per element, in row-major
// order.
func Apply(t *Tensor, f func(float32) float32) *Tensor { return unary(t, applyRow(f)) }

// ApplyInPlace sets t = f(t) elementwise and returns t. f is called once per
// element, in row-major order.
func (t *Tensor) ApplyInPlace(f func(float32) float32) *Tensor {
	return unaryInPlace("ApplyInPlace", t, applyRow(f))
}

// binaryOp is an elementwise operation z = x ∘ y on contiguous slices, with
// kernels for a vector and a vector, a vector and a scalar, and a scalar and
// a vector; len(dst) is the length of every vector.
type binaryOp struct {
	vv func(dst, x, y []float32)
	vs func(dst, x []float32, y float32)
	sv func(dst []float32, x float32, y []float32)
}

var addOp = binaryOp{
	vv: func(dst, x, y []float32) {
		x, y = x[:len(dst)], y[:len(dst)]
		for i := range dst {
			dst[i] = x[i] + y[i]
		}
	},
	vs: func(dst, x []float32, y float32) {
		x = x[:len(dst)]
		for i := range dst {
			dst[i] = x[i] + y
		}
	},
	sv: func(dst []float32, x float32, y []float32) {
		y = y[:len(dst)]
		for i := range dst {
			dst[i] = x + y[i]
		}
	},
}

var subOp = binaryOp{
	vv: func(dst, x, y []float32) {
		x, y = x[:len(dst)], y[:len(dst)]
		for i := range dst {
			dst[i] = x[i] - y[i]
		}
	},
	vs: func(dst, x []float32, y float32) {
		x = x[:len(dst)]
		for i := range dst {
			dst[i] = x[i] - y
		}
	},
	sv: func(dst []float32, x float32, y []float32) {
		y = y[:len(dst)]
		for i := range dst {
			dst[i] = x - y[i]
		}
	},
}

var mulOp = binaryOp{
	vv: func(dst, x, y []float32) {
		x, y = x[:len(dst)], y[:len(dst)]
		for i := range dst {
			dst[i] = x[i] * y[i]
		}
	},
	vs: func(dst, x []float32, y float32) {
		x = x[:len(dst)]
		for i := range dst {
			dst[i] = x[i] * y
		}
	},
	sv: func(dst []float32, x float32, y []float32) {
		y = y[:len(dst)]
		for i := range dst {
			dst[i] = x * y[i]
		}
	},
}

var divOp = binaryOp{
	vv: func(dst, x, y []float32) {
		x, y = x[:len(dst)], y[:len(dst)]
		for i := range dst {
			dst[i] = x[i] / y[i]
		}
	},
	vs: func(dst, x []float32, y float32) {
		x = x[:len(dst)]
		for i := range dst {
			dst[i] = x[i] / y
		}
	},
	sv: func(dst []float32, x float32, y []float32) {
		y = y[:len(dst)]
		for i := range dst {
			dst[i] = x / y[i]
		}
	},
}

func broadcastBinary(name string, op *binaryOp, a, b *Tensor) *Tensor {
	if slices.Equal(a.shape, b.shape) && a.IsContiguous() && b.IsContiguous() {
		out := New(a.shape...)
		op.vv(out.data, a.Data(), b.Data())
		return out
	}
	shape, ok := broadcastShape(a.shape, b.shape)
	if !ok {
		panic(fmt.Sprintf("tensor: %s: shapes %v and %v do not broadcast", name, a.shape, b.shape))
	}
	out := New(shape...)
	binaryRows(op, out, a, b)
	return out
}

func binaryInPlace(name string, op *binaryOp, t, b *Tensor) *Tensor {
	if _, ok := broadcastStrides(b.shape, b.strides, t.shape); !ok {
		panic(fmt.Sprintf("tensor: %s: shape %v does not broadcast to %v", name, b.shape, t.shape))
	}
	checkWritable(name, t)
	b = readOnlyCopy(t, b)
	if slices.Equal(t.shape, b.shape) && t.IsContiguous() && b.IsContiguous() {
		op.vv(t.Data(), t.Data(), b.Data())
		return t
	}
	binaryRows(op, t, t, b)
	return t
}

// binaryRows sets dst = a ∘ b, where a and b broadcast to dst's shape.
func binaryRows(op *binaryOp, dst, a, b *Tensor) {
	aStrides, _ := broadcastStrides(a.shape, a.strides, dst.shape)
	bStrides, _ := broadcastStrides(b.shape, b.strides, dst.shape)
	var bufD, bufA, bufB []float32
	w := newRowWalker(dst.shape, dst.strides, aStrides, bStrides)
	w.walk([]int{dst.offset, a.offset, b.offset}, func(offs, steps []int, n int) {
		d0, a0, b0 := offs[0], offs[1], offs[2]
		ds, as, bs := steps[0], steps[1], steps[2]
		if ds == 1 {
			d := dst.data[d0 : d0+n]
			switch {
			case as == 1 && bs == 1:
				op.vv(d, a.data[a0:a0+n], b.data[b0:b0+n])
				return
			case as == 1 && bs == 0:
				op.vs(d, a.data[a0:a0+n], b.data[b0])
				return
			case as == 0 && bs == 1:
				op.sv(d, a.data[a0], b.data[b0:b0+n])
				return
			}
		}
		if bufD == nil {
			m := min(n, chunk)
			bufD, bufA, bufB = make([]float32, m), make([]float32, m), make([]float32, m)
		}
		for lo := 0; lo < n; lo += len(bufD) {
			m := min(len(bufD), n-lo)
			gather(bufA[:m], a.data, a0+lo*as, as)
			gather(bufB[:m], b.data, b0+lo*bs, bs)
			op.vv(bufD[:m], bufA[:m], bufB[:m])
			scatter(dst.data, d0+lo*ds, ds, bufD[:m])
		}
	})
}

// unary returns f(t), where f maps a contiguous slice to another of the
// same length.
func unary(t *Tensor, f func(dst, src []float32)) *Tensor {
	out := New(t.shape...)
	if t.IsContiguous() {
		f(out.data, t.Data())
	} else {
		mapRows(out, t, f)
	}
	return out
}

func unaryInPlace(name string, t *Tensor, f func(dst, src []float32)) *Tensor {
	checkWritable(name, t)
	if t.IsContiguous() {
		f(t.Data(), t.Data())
	} else {
		mapRows(t, t, f)
	}
	return t
}

func addScalar(c float32) func(dst, src []float32) {
	return func(dst, src []float32) { addOp.vs(dst, src, c) }
}

func mulScalar(c float32) func(dst, src []float32) {
	return func(dst, src []float32) { mulOp.vs(dst, src, c) }
}

func negRow(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = -src[i]
	}
}

func expRow(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = float32(math.Exp(float64(src[i])))
	}
}

func logRow(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = float32(math.Log(float64(src[i])))
	}
}

func sqrtRow(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = float32(math.Sqrt(float64(src[i])))
	}
}

func absRow(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(math.Float32bits(src[i]) &^ (1 << 31))
	}
}

func clampRow(lo, hi float32) func(dst, src []float32) {
	return func(dst, src []float32) {
		src = src[:len(dst)]
		for i := range dst {
			dst[i] = min(max(src[i], lo), hi)
		}
	}
}

func checkClamp(name string, lo, hi float32) {
	if !(lo <= hi) {
		panic(fmt.Sprintf("tensor: %s: lo %v > hi %v", name, lo, hi))
	}
}

func applyRow(f func(float32) float32) func(dst, src []float32) {
	return func(dst, src []float32) {
		src = src[:len(dst)]
		for i := range dst {
			dst[i] = f(src[i])
		}
	}
}
