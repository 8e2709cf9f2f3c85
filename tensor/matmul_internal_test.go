package tensor

import "testing"

// TestGemmOperandNoCopy checks that row-major and transposed matrices, with
// or without padding, reach Sgemm without a copy, and that other layouts are
// copied to row-major.
func TestGemmOperandNoCopy(t *testing.T) {
	for _, tc := range []struct {
		name  string
		t     *Tensor
		copy  bool
		trans bool
		ld    int
	}{
		{"rowmajor", New(3, 4), false, false, 4},
		{"transposed", New(4, 3).Transpose(0, 1), false, true, 3},
		{"batched transposed", New(2, 4, 3).Transpose(1, 2), false, true, 3},
		{"padded", New(3, 9).Narrow(1, 2, 4), false, false, 9},
		{"padded transposed", New(4, 9).Narrow(1, 1, 3).Transpose(0, 1), false, true, 9},
		{"one row", New(3, 5).Narrow(0, 1, 1), false, false, 5},
		{"one strided row", New(5, 4).Select(1, 2).Unsqueeze(0), false, true, 4},
		{"one column", New(4, 5).Narrow(1, 2, 1), false, false, 5},
		{"strided columns", New(3, 4, 2).Select(2, 0), true, false, 4},
		{"broadcast rows", New(1, 4).Expand(3, 4), true, false, 4},
	} {
		op := newGemmOperand(tc.t)
		if copied := op.t != tc.t; copied != tc.copy || op.trans != tc.trans || op.ld != tc.ld {
			t.Errorf("%s (shape %v strides %v): copied %v trans %v ld %d; want %v %v %d",
				tc.name, tc.t.shape, tc.t.strides, copied, op.trans, op.ld, tc.copy, tc.trans, tc.ld)
		}
	}
}
