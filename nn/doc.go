// Package nn holds the inference layers that rp's backbones are built from:
// convolution, batch normalisation, pooling, linear, padding, upsampling,
// concatenation, softmax and ReLU, each matching PyTorch's eval-mode
// semantics.
//
// Tensors flow through the public API in NCHW layout (batch × channels ×
// height × width), as *tensor.Tensor. Weights are given in PyTorch's layout
// (a convolution's weight is O×(I/groups)×KH×KW, a linear layer's O×I) and are
// copied and packed once, at construction, into the form the compute kernels
// want; layers are immutable afterwards, so one layer may run Forward from
// several goroutines at once.
//
// Convolutions and linear layers run on simd.Sgemm: a convolution unfolds
// its input (im2col) tile by tile into a scratch buffer of a few megabytes
// and multiplies each tile by the weight matrix; a 1×1 stride-1 convolution
// without padding is a plain GEMM over the input, with no copy. A convolution
// can fold the batch normalisation that follows it into its weights and
// apply its bias, a residual addition and a ReLU to its output as the GEMM
// stores each tile (simd.SgemmPackedEpilogue). Stride-1 convolutions with a
// multiple of 8 output channels per group and either several groups
// (ResNeXt's grouped 3×3) or at most 32 outputs (DenseNet's 3×3) run on a
// direct kernel instead (simd.Conv8), with no unfolding. Other 3×3
// stride-1 convolutions with at least 64 input and output channels (the
// bottlenecks of the ResNets) run by Winograd's minimal filtering: F(4×4,
// 3×3) on large outputs (36 GEMMs on transformed tiles, a quarter of the
// direct arithmetic), F(2×2, 3×3) on small ones (16 GEMMs, 16/36 of it),
// within a few float32 roundings of the direct result (SetWinograd turns
// this off).
//
// Forward returns a new tensor; ForwardInto writes into one the caller
// provides, such as a slice of a larger buffer or a tensor from Temp, which
// recycles the storage of tensors given back with Release, so that a
// network's forward pass in the steady state allocates (and page-faults)
// almost nothing.
//
// Errors and panics follow package tensor: a constructor given inconsistent
// weights returns an error naming the shapes; Forward given an input of the
// wrong shape is a programmer error and panics with a message naming both
// shapes. Forward never modifies its input; it returns a new tensor.
//
// The package knows nothing of file formats or backbones, and holds no
// training code: batch normalisation always uses its running statistics.
package nn
