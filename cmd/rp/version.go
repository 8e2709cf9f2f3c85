package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/reconpatch/rp/simd"
)

func runVersion(args []string, stdout, stderr io.Writer) error {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	fmt.Fprintf(stdout, "rp %s %s/%s %s; simd %s (best %s), gemm kernel %s, %d threads\n",
		v, runtime.GOOS, runtime.GOARCH, runtime.Version(), simd.CurrentLevel(), simd.BestLevel(), simd.KernelName(), simd.Threads())
	return nil
}
