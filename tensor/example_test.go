package tensor_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/reconpatch/rp/tensor"
)

// Views share memory: transposing, slicing and broadcasting copy nothing.
func Example() {
	x := tensor.Arange(0, 6, 1).Reshape(2, 3) // [2 3]
	xt := x.Transpose(0, 1)                   // [3 2], a view
	fmt.Println(xt)
	fmt.Println(xt.IsContiguous())

	xt.Set(-1, 2, 0) // writes x[0][2]
	fmt.Println(x)
	// Output:
	// [[0 3]
	//  [1 4]
	//  [2 5]]
	// false
	// [[ 0  1 -1]
	//  [ 3  4  5]]
}

func ExampleAdd() {
	a := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3) // [2 3]
	row := tensor.FromSlice([]float32{10, 20, 30}, 3)        // [3] broadcasts over rows
	col := tensor.FromSlice([]float32{100, 200}, 2, 1)       // [2 1] broadcasts over columns
	fmt.Println(tensor.Add(a, row))
	fmt.Println(tensor.Add(a, col))
	fmt.Println(tensor.Add(row, col)) // [3] + [2 1] → [2 3]
	// Output:
	// [[11 22 33]
	//  [14 25 36]]
	// [[101 102 103]
	//  [204 205 206]]
	// [[110 120 130]
	//  [210 220 230]]
}

func ExampleTensor_SubInPlace() {
	// Standardize the columns of x in place.
	x := tensor.FromSlice([]float32{1, 10, 3, 30}, 2, 2)
	mean := tensor.Mean(x, 0, true) // [1 2]
	x.SubInPlace(mean)
	fmt.Println(x)
	// Output:
	// [[ -1 -10]
	//  [  1  10]]
}

func ExampleTensor_Reshape() {
	x := tensor.Arange(0, 6, 1)
	v := x.Reshape(3, -1) // contiguous: a view
	v.Set(100, 0, 0)
	fmt.Println(v.Shape(), x.At(0))

	t := v.Transpose(0, 1) // [2 3], not contiguous
	c := t.Reshape(6)      // cannot be a view: a copy
	c.Set(-1, 0)
	fmt.Println(c, x.At(0))
	// Output:
	// [3 2] 100
	// [-1  2  4  1  3  5] 100
}

func ExampleTensor_Expand() {
	x := tensor.FromSlice([]float32{1, 2, 3}, 3)
	e := x.Expand(2, 3) // stride 0 along the new dimension
	fmt.Println(e)
	fmt.Println(e.Strides())
	// Output:
	// [[1 2 3]
	//  [1 2 3]]
	// [0 1]
}

func ExampleTensor_Narrow() {
	x := tensor.Arange(0, 12, 1).Reshape(3, 4)
	fmt.Println(x.Narrow(1, 1, 2)) // columns 1 and 2
	fmt.Println(x.Select(0, 2))    // row 2
	// Output:
	// [[ 1  2]
	//  [ 5  6]
	//  [ 9 10]]
	// [ 8  9 10 11]
}

func ExampleMatMul() {
	a := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	b := tensor.FromSlice([]float32{1, 0, 1, 0, 1, 1}, 2, 3)
	// a·bᵀ: the transposed view goes to the GEMM without a copy.
	fmt.Println(tensor.MatMul(a, b.Transpose(0, 1)))

	// A batch of two [2 3] matrices times one [3 1] matrix.
	batch := tensor.Stack(0, a, b)                               // [2 2 3]
	ones := tensor.Ones(3, 1)                                    // [3 1]
	fmt.Println(tensor.MatMul(batch, ones).Squeeze(-1).String()) // [2 2]
	// Output:
	// [[ 4  5]
	//  [10 11]]
	// [[ 6 15]
	//  [ 2  2]]
}

func ExampleSum() {
	x := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	fmt.Println(tensor.Sum(x, 0, false))
	fmt.Println(tensor.Sum(x, 1, true))
	fmt.Println(tensor.SumAll(x), tensor.MeanAll(x))
	// Output:
	// [5 7 9]
	// [[ 6]
	//  [15]]
	// 21 3.5
}

func ExampleArgMax() {
	x := tensor.FromSlice([]float32{3, 9, 1, 7, 2, 8}, 2, 3)
	idx := tensor.ArgMax(x, 1, true) // float32 indices, shape [2 1]
	fmt.Println(idx)
	fmt.Println(tensor.Gather(x, 1, idx)) // the maxima
	fmt.Println(tensor.ArgMinAll(x))
	// Output:
	// [[1]
	//  [2]]
	// [[9]
	//  [8]]
	// 2
}

func ExampleConcat() {
	a := tensor.Ones(2, 2)
	b := tensor.Zeros(2, 1)
	fmt.Println(tensor.Concat(1, a, b))
	fmt.Println(tensor.IndexSelect(tensor.Arange(0, 5, 1), 0, []int{4, 0, 4}))
	// Output:
	// [[1 1 0]
	//  [1 1 0]]
	// [4 0 4]
}

func ExampleRandNormal() {
	x := tensor.RandNormal(rand.New(rand.NewPCG(1, 2)), 0, 1, 2, 3)
	y := tensor.RandNormal(rand.New(rand.NewPCG(1, 2)), 0, 1, 2, 3)
	fmt.Println(x.Shape(), tensor.Equal(x, y))
	// Output:
	// [2 3] true
}
