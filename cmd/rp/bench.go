package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"

	"github.com/reconpatch/rp/internal/bench"
	"github.com/reconpatch/rp/simd"
)

func runBench(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: rp bench gemm [flags]\n\nExample:\n  rp bench gemm -n 2048 -threads 2 -json   # GFLOP/s beside the FMA peak measured in the same process")
		return errUsage
	}
	switch args[0] {
	case "gemm":
		return runBenchGemm(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "rp bench: unknown benchmark %q (want gemm)\n", args[0])
	return errUsage
}

func runBenchGemm(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rp bench gemm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 2048, "matrix size: C (n×n) = A (n×n) · B (n×n)")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "worker threads")
	runs := fs.Int("runs", 7, "timed runs after one warm-up; the median is reported")
	level := fs.String("kernel", "", "force a SIMD level: avx512, avx2 or generic (default: the best this CPU has)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *level != "" {
		l, err := simd.ParseLevel(*level)
		if err != nil {
			return err
		}
		if _, err := simd.SetLevel(l); err != nil {
			return err
		}
	}
	if *threads > runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(*threads)
	}
	res, err := bench.Gemm(*n, *threads, *runs)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return enc.Encode(res)
	}
	fmt.Fprintf(stdout, "sgemm n=%d threads=%d kernel=%s (%s): %.1f GFLOP/s median (%.2f ms), best %.1f; peak %.1f GFLOP/s → %.1f%% of peak\n",
		res.N, res.Threads, res.Kernel, res.Tile, res.GFLOPS, res.MedianMS, res.BestGFLOPS, res.PeakGFLOPS, 100*res.Efficiency)
	return nil
}
