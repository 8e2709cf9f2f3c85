package tensor_test

import (
	"testing"

	"github.com/reconpatch/rp/tensor"
)

func TestString(t *testing.T) {
	for _, tc := range []struct {
		x    *tensor.Tensor
		want string
	}{
		{tensor.Scalar(2.5), "2.5"},
		{tensor.New(0, 3), "[]"},
		{tensor.FromSlice([]float32{1, -2.5, 0.1}, 3), "[   1 -2.5  0.1]"},
		{tensor.FromSlice(seq(6), 2, 3), "[[0 1 2]\n [3 4 5]]"},
		{tensor.FromSlice(seq(6), 2, 3).Transpose(0, 1), "[[0 3]\n [1 4]\n [2 5]]"},
		{tensor.FromSlice(seq(8), 2, 2, 2), "[[[0 1]\n  [2 3]]\n\n [[4 5]\n  [6 7]]]"},
		{tensor.Arange(0, 2000, 1), "[   0    1    2 ... 1997 1998 1999]"},
		{tensor.Arange(0, 2000, 1).Reshape(40, 50), "[[   0    1    2 ...   47   48   49]\n [  50   51   52 ...   97   98   99]\n [ 100  101  102 ...  147  148  149]\n ...\n [1850 1851 1852 ... 1897 1898 1899]\n [1900 1901 1902 ... 1947 1948 1949]\n [1950 1951 1952 ... 1997 1998 1999]]"},
	} {
		if got := tc.x.String(); got != tc.want {
			t.Errorf("String of %v:\n%s\nwant\n%s", tc.x.Shape(), got, tc.want)
		}
	}
}
