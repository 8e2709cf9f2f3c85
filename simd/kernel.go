package simd

import "unsafe"

// A gemmKernel is a register-blocked SGEMM micro-kernel and the cache blocking
// the driver uses around it.
//
// fn computes one full mr×nr tile of C:
//
//	C[i*ldc+j] = alpha·Σ_p a[p*mr+i]·b[p*nr+j] + beta·C[i*ldc+j],  0 ≤ p < k
//
// a points at a packed mr×k panel (column p of the panel is mr contiguous
// values), b at a packed k×nr panel (row p is nr contiguous values), c at the
// tile's top-left element. When beta == 0, C is only written, never read, so
// NaNs in the old C do not propagate.
type gemmKernel struct {
	name       string
	mr, nr     int // register tile
	kc, mc, nc int // cache blocks: k depth, rows of A, columns of B
	fn         func(k int, a, b, c *float32, ldc int, alpha, beta float32)
	// ep, if set, is fn followed by an epilogue in the same pass over the
	// tile, as the driver's last depth block needs it (Epilogue):
	//
	//	C[i*ldc+j] = max(floor, fn's value + bias[i] + r[i*ldr+j])
	//
	// summed in that order; max keeps NaN; floor is 0 for a ReLU, −Inf for
	// none. bias (mr values) and r are never nil: ldr 0 with a row of
	// zeros stands for no residual. gemmKernelEpGo is its reference.
	ep func(k int, a, b, c *float32, ldc int, alpha, beta float32, bias, r *float32, ldr int, floor float32)
	// rows[i], where set, are fn and ep for edge tiles of i < mr rows: the
	// same packed panels, only the first i rows computed and stored, each
	// element's sum as fn's.
	rows [16]edgeKernel
	// half, if set, is fn for edge tiles of at most nr/2 columns: only the
	// first nr/2 columns computed and stored.
	half func(k int, a, b, c *float32, ldc int, alpha, beta float32)
}

// edgeKernel is a kernel for edge tiles; see gemmKernel.rows.
type edgeKernel struct {
	fn func(k int, a, b, c *float32, ldc int, alpha, beta float32)
	ep func(k int, a, b, c *float32, ldc int, alpha, beta float32, bias, r *float32, ldr int, floor float32)
}

// gemmKernels holds the kernel of each level; the assembly ones are added by
// kernels_amd64.go.
var gemmKernels = [...]gemmKernel{
	Generic: {name: "generic 4x8", mr: 4, nr: 8, kc: 256, mc: 128, nc: 1024, fn: gemmKernel4x8Go},
	AVX2:    {},
	AVX512:  {},
}

// kernelFor returns the kernel for level l, falling back to the next lower
// level that has one.
func kernelFor(l Level) *gemmKernel {
	for ; l > Generic; l-- {
		if gemmKernels[l].fn != nil {
			return &gemmKernels[l]
		}
	}
	return &gemmKernels[Generic]
}

// gemmKernelGo is the reference micro-kernel for any tile size: the contract
// of gemmKernel written as plain loops with float32 accumulators in the same
// order as the assembly kernels (p ascending).
func gemmKernelGo(mr, nr, k int, a, b, c []float32, ldc int, alpha, beta float32) {
	acc := make([]float32, mr*nr)
	for p := 0; p < k; p++ {
		ap, bp := a[p*mr:p*mr+mr], b[p*nr:p*nr+nr]
		for i, av := range ap {
			row := acc[i*nr : i*nr+nr]
			for j, bv := range bp {
				row[j] += av * bv
			}
		}
	}
	for i := 0; i < mr; i++ {
		crow := c[i*ldc : i*ldc+nr]
		for j := range crow {
			v := alpha * acc[i*nr+j]
			if beta != 0 {
				v += beta * crow[j]
			}
			crow[j] = v
		}
	}
}

// gemmKernelEpGo is the reference of gemmKernel.ep for an mr×nr tile: the
// reference kernel, then the epilogue.
func gemmKernelEpGo(mr, nr, k int, a, b, c []float32, ldc int, alpha, beta float32, bias, r []float32, ldr int, floor float32) {
	gemmKernelGo(mr, nr, k, a, b, c, ldc, alpha, beta)
	for i := 0; i < mr; i++ {
		for j := 0; j < nr; j++ {
			v := c[i*ldc+j] + bias[i] + r[i*ldr+j]
			if v != v {
				continue // NaN stays
			}
			c[i*ldc+j] = max(floor, v)
		}
	}
}

// gemmKernel4x8Go is the generic level's kernel: a 4×8 tile held in local
// variables so the Go compiler keeps the accumulators in registers.
func gemmKernel4x8Go(k int, ap, bp, cp *float32, ldc int, alpha, beta float32) {
	a := unsafe.Slice(ap, 4*k)
	b := unsafe.Slice(bp, 8*k)
	var c [4][8]float32
	for p := 0; p < k; p++ {
		av := a[4*p : 4*p+4 : 4*p+4]
		bv := b[8*p : 8*p+8 : 8*p+8]
		for i := 0; i < 4; i++ {
			x := av[i]
			r := &c[i]
			r[0] += x * bv[0]
			r[1] += x * bv[1]
			r[2] += x * bv[2]
			r[3] += x * bv[3]
			r[4] += x * bv[4]
			r[5] += x * bv[5]
			r[6] += x * bv[6]
			r[7] += x * bv[7]
		}
	}
	out := unsafe.Slice(cp, 3*ldc+8)
	for i := 0; i < 4; i++ {
		row := out[i*ldc : i*ldc+8 : i*ldc+8]
		if beta == 0 {
			for j := range row {
				row[j] = alpha * c[i][j]
			}
		} else {
			for j := range row {
				row[j] = alpha*c[i][j] + beta*row[j]
			}
		}
	}
}
