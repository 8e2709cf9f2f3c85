// Package tensor provides N-dimensional float32 arrays: a shape, strides and
// an offset over a shared []float32, so that reshapes, transposes, slices and
// broadcasts are views that copy nothing. Elementwise operations broadcast as
// NumPy does; matrix products run on the SIMD GEMM of package simd.
//
// The package is organised by concept: tensor.go (the type, constructors,
// element access), view.go (Reshape, Permute, Transpose, Narrow, Select,
// Expand, Squeeze, Unsqueeze), elementwise.go (Add, Sub, Mul, Div and the
// unary operations), reduce.go (Sum, Mean, Max, Min, ArgMax, ArgMin),
// matmul.go (MatMul), join.go (Concat, Stack, IndexSelect, Gather),
// random.go (seeded fills), format.go (String) and binary.go (encoding).
//
// Operations written as functions, such as Add(a, b), return a new contiguous
// tensor; methods ending in InPlace, such as a.AddInPlace(b), overwrite their
// receiver, which may be a view, and return it.
//
// A shape mismatch is a programmer error and panics with a message naming both
// shapes, as gonum/mat does, for example
//
//	tensor: Add: shapes [2 3] and [4 3] do not broadcast
//
// Anything that reads data from outside the program (FromBytes,
// UnmarshalBinary) returns an error instead.
//
// Results are reproducible: reductions combine elements in index order
// whatever the memory layout, and matrix products give the same bits on any
// number of workers, as simd.Sgemm does.
package tensor
