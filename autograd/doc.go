// Package autograd is a reverse-mode automatic differentiation tape over
// the float32 tensors of package tensor.
//
// A Tape records each operation as it runs (its value is computed at once);
// Backward then visits the recorded operations in reverse order, each
// propagating the gradient of its output into its inputs, and accumulates
// the gradients of the parameters (leaves made by NewParam) into their Grad
// field, where they add up across Backward calls until ZeroGrad, as in
// PyTorch. Values that need no gradient (data, the EMA network of
// ReConPatch, inference) are made with NewConst, computed on a nil Tape, or
// computed inside Tape.NoGrad; none of these record anything.
//
//	tp := autograd.NewTape()
//	h := tp.ReLU(tp.Linear(x, w1, b1))   // x [N in] → h [N hidden]
//	loss := tp.CrossEntropy(tp.Linear(h, w2, b2), labels)
//	tp.Backward(loss)                    // w1.Grad, b1.Grad, … now hold ∂loss/∂θ
//
// Every operation is a forward/backward pair in one method, with the shapes
// in its doc comment: elementwise arithmetic with NumPy broadcasting (the
// backward sums the gradient back to each input's shape), unary functions,
// reductions, views (Reshape, Transpose, Permute, Narrow), IndexSelect,
// Gather, Concat, MatMul and Linear, the pairwise distance matrices
// PairSqDist and PairDist, Conv2d, BatchNorm (training and evaluation),
// LogSoftmax and CrossEntropy, and Detach. Tape.Func adds a custom
// operation from a value and a backward function.
//
// Matrix products, forward and backward, run on simd.Sgemm, with transposed
// operands passed as transposes rather than copied; gradients of weights
// accumulate with beta = 1. The small trainable layers Linear, Conv2d and
// BatchNorm hold parameters and initialise them as PyTorch does, from a
// seeded rng.
//
// Package autogradtest has the helpers the tests of this and dependent
// packages share: a finite-difference gradient check and the reader of the
// PyTorch fixtures written by scripts/gen_autograd_fixtures.py.
package autograd
