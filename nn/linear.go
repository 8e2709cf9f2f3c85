package nn

import (
	"errors"
	"fmt"

	"github.com/reconpatch/rp/simd"
	"github.com/reconpatch/rp/tensor"
)

// Linear is torch.nn.Linear, y = x·Wᵀ + b over the last dimension of x. It
// is built by NewLinear and is immutable; Forward is safe for concurrent
// use.
type Linear struct {
	in, out int
	wt      []float32 // Wᵀ, I×O row-major: the GEMM's B operand as stored
	bias    []float32 // O, or nil
}

// NewLinear returns a linear layer with weight O×I in PyTorch's layout and
// bias [O], or nil for none. The weight is copied, transposed, once. It
// returns an error naming the shapes if they are inconsistent.
func NewLinear(weight, bias *tensor.Tensor) (*Linear, error) {
	if weight == nil {
		return nil, errors.New("nn: NewLinear: nil weight")
	}
	ws := weight.Shape()
	if len(ws) != 2 || ws[0] == 0 || ws[1] == 0 {
		return nil, fmt.Errorf("nn: NewLinear: weight shape %v is not 2-D O×I", ws)
	}
	l := &Linear{in: ws[1], out: ws[0], wt: make([]float32, ws[0]*ws[1])}
	w := data(weight)
	for o := 0; o < l.out; o++ {
		for i, v := range w[o*l.in : (o+1)*l.in] {
			l.wt[i*l.out+o] = v
		}
	}
	if bias != nil {
		if bs := bias.Shape(); len(bs) != 1 || bs[0] != l.out {
			return nil, fmt.Errorf("nn: NewLinear: bias shape %v does not match weight shape %v: want [%d]", bs, ws, l.out)
		}
		l.bias = append([]float32(nil), data(bias)...)
	}
	return l, nil
}

// InFeatures is the input size, I.
func (l *Linear) InFeatures() int { return l.in }

// OutFeatures is the output size, O.
func (l *Linear) OutFeatures() int { return l.out }

// Forward maps x, …×I (any number of leading dimensions, or just I), to a
// new …×O tensor. It panics if x's last dimension is not I.
func (l *Linear) Forward(x *tensor.Tensor) *tensor.Tensor {
	if x.Dims() == 0 || x.Dim(-1) != l.in {
		panic(fmt.Sprintf("nn: Linear.Forward: input shape %v does not match weight shape [%d %d]: want …×%d", x.Shape(), l.out, l.in, l.in))
	}
	shape := append([]int(nil), x.Shape()...)
	shape[len(shape)-1] = l.out
	out := tensor.New(shape...)
	m := x.Size() / l.in
	y := out.Data()
	// y (m×O) = x (m×I) · Wᵀ (I×O)
	simd.Sgemm(false, false, m, l.out, l.in, 1, data(x), l.in, l.wt, l.out, 0, y, l.out)
	if l.bias != nil {
		for r := 0; r < m; r++ {
			row := y[r*l.out:][:l.out]
			for j, b := range l.bias {
				row[j] += b
			}
		}
	}
	return out
}
