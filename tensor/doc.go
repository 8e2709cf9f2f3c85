// Package tensor provides N-dimensional float32 arrays: a shape, strides and
// an offset over a shared []float32, so that reshapes, transposes, slices and
// broadcasts are views that copy nothing. Elementwise operations broadcast as
// NumPy does; matrix products run on the SIMD GEMM of package simd.
//
// A shape mismatch is a programmer error and panics with a message naming
// both shapes, as gonum/mat does. Anything that reads data from outside the
// program returns an error instead.
package tensor
