//go:build !amd64 || purego

package simd

func detectLevel() Level { return Generic }
