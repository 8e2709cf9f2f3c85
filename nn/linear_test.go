package nn

import (
	"strings"
	"testing"

	"github.com/reconpatch/rp/tensor"
)

func TestLinearTorch(t *testing.T) {
	fx := loadFixture(t, "linear.bin")
	for _, c := range fx.Cases {
		l, err := NewLinear(fx.get(t, c, "w"), fx.opt(c, "b"))
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		checkClose(t, c.Name, l.Forward(fx.get(t, c, "x")), fx.get(t, c, "y"))
	}
}

func TestLinearErrors(t *testing.T) {
	for _, tc := range []struct {
		w, b *tensor.Tensor
		want string
	}{
		{nil, nil, "nil weight"},
		{tensor.New(3), nil, "weight shape [3] is not 2-D"},
		{tensor.New(3, 4), tensor.New(4), "bias shape [4] does not match weight shape [3 4]"},
	} {
		if _, err := NewLinear(tc.w, tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
	l, err := NewLinear(tensor.New(3, 4), nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.InFeatures() != 4 || l.OutFeatures() != 3 {
		t.Errorf("features %d→%d", l.InFeatures(), l.OutFeatures())
	}
	mustPanic(t, "features", func() { l.Forward(tensor.New(2, 5)) }, "[2 5]", "[3 4]")
}
