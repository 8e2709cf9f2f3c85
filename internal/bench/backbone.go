package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/reconpatch/rp/backbones"
	"github.com/reconpatch/rp/nn"
	"github.com/reconpatch/rp/reconpatch"
	"github.com/reconpatch/rp/simd"
	"github.com/reconpatch/rp/tensor"
)

// BackboneResult is one measurement of a backbone's forward pass to the
// taps ReConPatch uses.
type BackboneResult struct {
	Backbone   string   `json:"backbone"`
	Taps       []string `json:"taps"`
	Size       int      `json:"size"`
	Batch      int      `json:"batch"`
	Threads    int      `json:"threads"`
	MSPerImage float64  `json:"ms_per_image"`      // median over runs, divided by the batch
	BestMS     float64  `json:"best_ms_per_image"` // fastest run
	// CPUMS is the process's CPU time per image over the timed runs (0
	// where not measured). On a shared machine with -threads 1 it tracks
	// the work done better than the wall clock does.
	CPUMS         float64 `json:"cpu_ms_per_image"`
	GFLOPPerImage float64 `json:"gflop_per_image"` // convolutions only, from their shapes
	GFLOPS        float64 `json:"gflops"`          // GFLOPPerImage / median time
	Kernel        string  `json:"kernel"`          // dispatch level
	Winograd      bool    `json:"winograd"`        // 3×3 stride-1 convolutions by Winograd's F(4×4) or F(2×2) (nn.SetWinograd)
	Weights       string  `json:"weights"`         // "random" or the file
	Runs          int     `json:"runs"`
	Impl          string  `json:"impl"`
}

// Backbone times the named backbone's forward pass to ReConPatch's default
// taps (reconpatch.DefaultLayers) for a batch of size×size random images on
// the given threads at the current dispatch level: one warm-up pass, then
// runs timed passes (at least one), reporting the median. Without a weight
// file, torchvision backbones get random weights (the time does not depend
// on them); keras_resnet50 is built from its installed model (`make
// weights`), which its layer graph comes from. If prof is not nil, a CPU
// profile of the timed passes is written to it, and it is closed.
func Backbone(name, weightsPath string, size, batch, threads, runs int, prof io.WriteCloser) (BackboneResult, error) {
	if size <= 0 || batch <= 0 || threads <= 0 {
		return BackboneResult{}, fmt.Errorf("bench: backbone needs size, batch and threads > 0, got %d, %d, %d", size, batch, threads)
	}
	runs = max(runs, 1)
	bb, err := loadBackbone(name, weightsPath)
	if err != nil {
		return BackboneResult{}, err
	}
	prev := simd.SetThreads(threads)
	defer simd.SetThreads(prev)
	if threads > runtime.GOMAXPROCS(0) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
	}
	taps := reconpatch.DefaultLayers(name)
	x := tensor.RandNormal(rand.New(rand.NewPCG(2, 3)), 0, 1, batch, 3, size, size)
	f0 := nn.ConvFLOPs()
	if _, err := bb.Forward(x, taps...); err != nil { // warm-up, and the FLOP count
		return BackboneResult{}, err
	}
	flops := float64(nn.ConvFLOPs()-f0) / float64(batch)
	if prof != nil {
		defer prof.Close()
		if err := pprof.StartCPUProfile(prof); err != nil {
			return BackboneResult{}, err
		}
	}
	cpu0 := processCPU()
	times := make([]float64, runs)
	for i := range times {
		start := time.Now()
		if _, err := bb.Forward(x, taps...); err != nil {
			return BackboneResult{}, err
		}
		times[i] = time.Since(start).Seconds() / float64(batch)
	}
	cpu := (processCPU() - cpu0).Seconds() / float64(runs*batch)
	if prof != nil {
		pprof.StopCPUProfile()
	}
	med := median(times)
	res := BackboneResult{
		Backbone: name, Taps: taps, Size: size, Batch: batch, Threads: threads,
		MSPerImage: med * 1e3, BestMS: slices.Min(times) * 1e3, CPUMS: cpu * 1e3,
		GFLOPPerImage: flops / 1e9, GFLOPS: flops / med / 1e9,
		Kernel: simd.CurrentLevel().String(), Winograd: nn.Winograd(), Weights: "random", Runs: runs, Impl: "rp",
	}
	if weightsPath != "" || name == backbones.KerasResNet50 {
		res.Weights = weightsPath
		if res.Weights == "" {
			res.Weights = "installed"
		}
	}
	return res, nil
}

// loadBackbone loads the backbone from weightsPath, or builds it with random
// weights when that is empty (keras_resnet50: from its installed model).
func loadBackbone(name, weightsPath string) (backbones.Backbone, error) {
	if weightsPath != "" || name == backbones.KerasResNet50 {
		return backbones.Load(name, weightsPath)
	}
	sd, err := backbones.RandomStateDict(name, 1)
	if err != nil {
		return nil, err
	}
	return backbones.New(name, sd)
}

// median returns the median of xs (sorted in place); xs is not empty.
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[n/2]
}
