package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/reconpatch/rp/backbones"
	"github.com/reconpatch/rp/internal/bench"
	"github.com/reconpatch/rp/nn"
	"github.com/reconpatch/rp/simd"
)

func runBench(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: rp bench gemm|backbone [flags]\n\nExamples:\n  rp bench gemm -n 2048 -threads 2 -json   # GFLOP/s beside the FMA peak measured in the same process\n  rp bench backbone -backbone wide_resnet50_2 -size 224 -batch 8 -threads 2 -json   # ms per image to ReConPatch's taps")
		return errUsage
	}
	switch args[0] {
	case "gemm":
		return runBenchGemm(args[1:], stdout, stderr)
	case "backbone":
		return runBenchBackbone(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "rp bench: unknown benchmark %q (want gemm or backbone)\n", args[0])
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
	if err := setLevel(*level); err != nil {
		return err
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

// setLevel forces the SIMD level named by a -kernel flag (empty: keep the best).
func setLevel(name string) error {
	if name == "" {
		return nil
	}
	l, err := simd.ParseLevel(name)
	if err != nil {
		return err
	}
	_, err = simd.SetLevel(l)
	return err
}

func runBenchBackbone(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rp bench backbone", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("backbone", "wide_resnet50_2", "backbone: "+strings.Join(backbones.Names(), ", "))
	weightsPath := fs.String("weights", "", "weight file (default: random weights; keras_resnet50: the installed model)")
	size := fs.Int("size", 224, "input height and width")
	batch := fs.Int("batch", 1, "images per forward pass")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "worker threads")
	runs := fs.Int("runs", 7, "timed passes after one warm-up; the median is reported")
	level := fs.String("kernel", "", "force a SIMD level: avx512, avx2 or generic (default: the best this CPU has)")
	winograd := fs.Bool("winograd", true, "run 3×3 stride-1 convolutions by Winograd's F(4×4, 3×3) or F(2×2, 3×3); false: on the direct arithmetic")
	asJSON := fs.Bool("json", false, "print one JSON object")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed passes to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := setLevel(*level); err != nil {
		return err
	}
	var prof io.WriteCloser
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		prof = f
	}
	defer nn.SetWinograd(nn.SetWinograd(*winograd))
	res, err := bench.Backbone(*name, *weightsPath, *size, *batch, *threads, *runs, prof)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	algo := "direct"
	if res.Winograd {
		algo = "Winograd"
	}
	fmt.Fprintf(stdout, "%s to %s, %d×%d, batch %d, threads %d, kernel %s, 3×3 %s: %.1f ms/image median (best %.1f), %.2f GFLOP/image, %.1f GFLOP/s\n",
		res.Backbone, strings.Join(res.Taps, "+"), res.Size, res.Size, res.Batch, res.Threads, res.Kernel, algo, res.MSPerImage, res.BestMS, res.GFLOPPerImage, res.GFLOPS)
	return nil
}
