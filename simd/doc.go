// Package simd holds rp's float32 compute kernels: a BLIS-style SGEMM with
// register-blocked micro-kernels in Go assembly (AVX-512 and AVX2+FMA), the
// vector primitives dot, axpy, scale and exp, and the squared-distance matrix
// with a row-wise argmin that nearest-neighbour search is built on.
//
// Every assembly kernel has a pure-Go twin with the same contract. The twin is
// the reference in tests, the code path on other architectures, and the only
// path when the package is built with the purego build tag.
//
// The kernel level is chosen once at start-up from the CPU's features. The
// environment variable RP_SIMD (avx512, avx2 or generic) forces a lower level;
// tests use SetLevel to run every level on one machine.
//
// Matrices are row-major: element (i, j) of a matrix with leading dimension ld
// is at index i*ld + j.
package simd
