package reconpatch

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/reconpatch/rp/backbones"
	"github.com/reconpatch/rp/reconpatch/dataset"
	"github.com/reconpatch/rp/reconpatch/synth"
	"github.com/reconpatch/rp/simd"
	"github.com/reconpatch/rp/weights"
)

// determinismRun is what one training run gives: the model file's bytes
// and the test images' scores and maps.
type determinismRun struct {
	file   []byte
	scores []float32
	maps   [][]float32
}

// TestFitDeterministic checks the guarantee of README.md ("Determinism"):
// the same data, options and seed give a byte-identical model file and
// bit-identical scores; another number of threads gives the same scores
// within 1e-5 relative. It trains ReConPatch for a few epochs on a small
// synthetic set with a resnet18 of random weights (no download needed).
func TestFitDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("trains four models; skipped with -short")
	}
	dir := t.TempDir()
	sum, err := synth.Generate(dir, synth.Config{Seed: 5, Size: 96, Categories: []string{"brushed_metal"}, Train: 8, TestGood: 2, TestPerDefect: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.Open(sum.Categories[0].Dir)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := backbones.RandomStateDict("resnet18", 3)
	if err != nil {
		t.Fatal(err)
	}
	wpath := filepath.Join(dir, "resnet18.safetensors")
	if err := weights.SaveSafetensors(wpath, sd, nil, weights.F32); err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions(MethodReConPatch)
	o.Backbone, o.Weights, o.Features.Layers = "resnet18", wpath, DefaultLayers("resnet18")
	o.Resize, o.Crop = 96, 96
	o.CoresetRatio, o.HoldOut, o.Seed = 0.1, 0.25, 11
	o.Head.Epochs, o.Head.StepsPerEpoch, o.Head.Batch = 3, 3, 256
	paths := samplePaths(ds.Test)

	fit := func(threads int) determinismRun {
		t.Helper()
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
		defer simd.SetThreads(simd.SetThreads(threads))
		ctx := context.Background()
		m, err := Fit(ctx, ds, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "m.rpm")
		if err := m.Save(path); err != nil {
			t.Fatal(err)
		}
		var r determinismRun
		if r.file, err = os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
		preds, err := m.Predict(ctx, paths, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range preds {
			r.scores = append(r.scores, p.Score)
			r.maps = append(r.maps, p.Map)
		}
		return r
	}

	a, b := fit(2), fit(2)
	if !bytes.Equal(a.file, b.file) {
		t.Errorf("two runs with the same seed wrote different model files (%d and %d bytes, first difference at byte %d)",
			len(a.file), len(b.file), firstDiff(a.file, b.file))
	}
	for i := range a.scores {
		if a.scores[i] != b.scores[i] {
			t.Errorf("%s: score %v, then %v", paths[i], a.scores[i], b.scores[i])
		}
		for j := range a.maps[i] {
			if a.maps[i][j] != b.maps[i][j] {
				t.Errorf("%s: map[%d] = %v, then %v", paths[i], j, a.maps[i][j], b.maps[i][j])
				break
			}
		}
	}

	one, four := fit(1), fit(4)
	t.Logf("model files with 1, 2 and 4 threads identical: %v, %v", bytes.Equal(one.file, a.file), bytes.Equal(four.file, a.file))
	for i := range a.scores {
		for _, r := range []struct {
			threads int
			score   float32
		}{{1, one.scores[i]}, {4, four.scores[i]}} {
			if d := math.Abs(float64(r.score - a.scores[i])); d > 1e-5*math.Abs(float64(a.scores[i])) {
				t.Errorf("%s: score %v with %d threads, %v with 2 (relative difference %.2g)", paths[i], r.score, r.threads, a.scores[i], d/math.Abs(float64(a.scores[i])))
			}
		}
	}
}

// firstDiff is the index of the first byte where a and b differ.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
