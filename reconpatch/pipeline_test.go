package reconpatch

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconpatch/rp/reconpatch/dataset"
	"github.com/reconpatch/rp/reconpatch/imageio"
	"github.com/reconpatch/rp/reconpatch/render"
	"github.com/reconpatch/rp/reconpatch/synth"
	"github.com/reconpatch/rp/weights"
)

// synthSet writes a small synthetic data set and opens it.
func synthSet(t *testing.T, category string) *dataset.Dataset {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end model test; skipped with -short")
	}
	if _, err := weights.FindKerasResNet50(); err != nil {
		t.Skipf("needs the Keras ResNet-50 (make weights): %v", err)
	}
	dir := t.TempDir()
	sum, err := synth.Generate(dir, synth.Config{Seed: 3, Size: 128, Categories: []string{category}, Train: 10, TestGood: 3, TestPerDefect: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.Open(sum.Categories[0].Dir)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func smallOptions(m Method) Options {
	o := DefaultOptions(m)
	o.Resize, o.Crop = 128, 128
	o.CoresetRatio = 0.05
	o.HoldOut = 0.2
	o.Head.Epochs, o.Head.StepsPerEpoch, o.Head.Batch = 2, 3, 256
	return o
}

// TestFitSaveLoadEvaluate trains both methods on a small synthetic set,
// checks that a saved and reloaded model gives bit-identical scores, and
// that the evaluation finds the defects (the set is easy: a detector that
// ranks defects at random would fail).
func TestFitSaveLoadEvaluate(t *testing.T) {
	ds := synthSet(t, "brushed_metal")
	ctx := context.Background()
	for _, method := range []Method{MethodPatchCore, MethodReConPatch} {
		t.Run(string(method), func(t *testing.T) {
			m, err := Fit(ctx, ds, smallOptions(method), nil)
			if err != nil {
				t.Fatal(err)
			}
			if (m.fWeight != nil) != (method == MethodReConPatch) {
				t.Fatalf("head present = %v for %s", m.fWeight != nil, method)
			}
			if m.Stats.HeldOut != 2 || !(m.Stats.ImageThreshold > m.Stats.ImageMedian) {
				t.Errorf("stats %+v: want 2 held-out images and a threshold above the median", m.Stats)
			}
			path := filepath.Join(t.TempDir(), "m.rpm")
			if err := m.Save(path); err != nil {
				t.Fatal(err)
			}
			back, err := LoadModel(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := back.UseBackbone(""); err != nil {
				t.Fatal(err)
			}
			paths := samplePaths(ds.Test[:3])
			p1, err := m.Predict(ctx, paths, nil)
			if err != nil {
				t.Fatal(err)
			}
			p2, err := back.Predict(ctx, paths, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range p1 {
				if p1[i].Score != p2[i].Score || len(p1[i].Map) != len(p2[i].Map) {
					t.Fatalf("%s: score %v before saving, %v after", paths[i], p1[i].Score, p2[i].Score)
				}
				for j := range p1[i].Map {
					if p1[i].Map[j] != p2[i].Map[j] {
						t.Fatalf("%s: map[%d] %v before saving, %v after", paths[i], j, p1[i].Map[j], p2[i].Map[j])
					}
				}
			}
			ev, err := Evaluate(ctx, back, ds, nil)
			if err != nil {
				t.Fatal(err)
			}
			o := ev.Overall
			if o.Images != len(ds.Test) || o.ImageAUROC == nil || o.PixelAUROC == nil || o.AUPRO == nil {
				t.Fatalf("overall metrics %+v", o)
			}
			t.Logf("%s: image AUROC %.3f, pixel AUROC %.3f, AUPRO %.3f", method, *o.ImageAUROC, *o.PixelAUROC, *o.AUPRO)
			if *o.PixelAUROC < 0.8 || *o.ImageAUROC < 0.7 {
				t.Errorf("%s: image AUROC %.3f, pixel AUROC %.3f: the defects of this easy set should be found", method, *o.ImageAUROC, *o.PixelAUROC)
			}
			if len(ev.Types) != 3 {
				t.Errorf("%d defect types, want 3", len(ev.Types))
			}
			for _, v := range []*float64{o.ImageAUROC, o.PixelAUROC, o.AUPRO, o.ImageF1Max, o.PixelF1Max} {
				if v == nil || math.IsNaN(*v) || *v < 0 || *v > 1 {
					t.Errorf("metric %v out of [0, 1]", v)
				}
			}
			if method == MethodPatchCore {
				checkMaskThreshold(t, back, ds, o)
			}
		})
	}
}

// checkMaskThreshold rewrites ds's masks with their defective pixels at
// grey level 100: Dataset.MaskThreshold 100 must then give the metrics of
// the original masks (want), and 101 must find no defective pixel.
func checkMaskThreshold(t *testing.T, m *Model, ds *dataset.Dataset, want Metrics) {
	t.Helper()
	soft := *ds
	soft.Test = append([]dataset.Sample(nil), ds.Test...)
	dir := t.TempDir()
	for i, s := range soft.Test {
		if s.MaskPath == "" {
			continue
		}
		mk, err := imageio.Load(s.MaskPath, imageio.Preprocess{})
		if err != nil {
			t.Fatal(err)
		}
		g := image.NewGray(image.Rect(0, 0, mk.W, mk.H))
		for j := range g.Pix {
			if mk.Pix[3*j] >= 128 {
				g.Pix[j] = 100
			}
		}
		soft.Test[i].MaskPath = filepath.Join(dir, fmt.Sprintf("%d_mask.png", i))
		if err := render.WritePNG(soft.Test[i].MaskPath, g); err != nil {
			t.Fatal(err)
		}
	}
	soft.MaskThreshold = 100
	ev, err := Evaluate(context.Background(), m, &soft, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.Overall; *got.PixelAUROC != *want.PixelAUROC || *got.AUPRO != *want.AUPRO {
		t.Errorf("masks at grey 100, threshold 100: pixel AUROC %v, AUPRO %v; want %v, %v", *got.PixelAUROC, *got.AUPRO, *want.PixelAUROC, *want.AUPRO)
	}
	soft.MaskThreshold = 101
	if ev, err = Evaluate(context.Background(), m, &soft, nil); err != nil {
		t.Fatal(err)
	}
	if ev.Overall.AUPRO != nil {
		t.Errorf("masks at grey 100, threshold 101: AUPRO %v, want none (no defective pixel)", *ev.Overall.AUPRO)
	}
}

func TestLoadModelRefuses(t *testing.T) {
	dir := t.TempDir()
	// A safetensors file that is not a model.
	plain := filepath.Join(dir, "plain.safetensors")
	sd := weights.NewStateDict()
	if err := weights.SaveSafetensors(plain, sd, map[string]string{"x": "y"}, weights.F32); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadModel(plain); err == nil || !strings.Contains(err.Error(), "not an rp model") {
		t.Errorf("plain safetensors: %v", err)
	}
	// A model of a newer format version.
	m := &Model{Options: DefaultOptions(MethodPatchCore), FeatureDim: 2}
	var err error
	if m.Bank, err = NewMemoryBank([]float32{1, 2, 3, 4}, 2, 2, Float32); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "m.rpm")
	if err := m.Save(good); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadModel(good); err != nil {
		t.Fatalf("loading a valid model: %v", err)
	}
	loaded, _ := weights.LoadSafetensors(good)
	newer := filepath.Join(dir, "newer.rpm")
	meta := loaded.Metadata
	meta["rp"] = strings.Replace(meta["rp"], `"version":1`, `"version":99`, 1)
	if err := weights.SaveSafetensors(newer, loaded, meta, weights.PerTensor); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadModel(newer); err == nil || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("newer version: %v", err)
	}
	// Missing file.
	if _, err := LoadModel(filepath.Join(dir, "none.rpm")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestUseBackboneRefusesOtherWeights checks that a model trained with one
// set of backbone weights refuses another.
func TestUseBackboneRefusesOtherWeights(t *testing.T) {
	if _, err := weights.FindKerasResNet50(); err != nil {
		t.Skipf("needs the Keras ResNet-50 (make weights): %v", err)
	}
	m := &Model{Options: DefaultOptions(MethodPatchCore), WeightsSHA256: strings.Repeat("0", 64)}
	err := m.UseBackbone("")
	if err == nil || !strings.Contains(err.Error(), "not the ones this model was trained with") {
		t.Fatalf("UseBackbone with other weights: %v", err)
	}
}

// TestEnsemble fits a two-member ensemble (the Keras ResNet-50 tapped at
// two depths), checks that its scores are the mean of the members'
// modified z-scores, and that it survives a save and load bit for bit.
func TestEnsemble(t *testing.T) {
	ds := synthSet(t, "brushed_metal")
	ctx := context.Background()
	a := smallOptions(MethodPatchCore)
	b := a
	b.Features.Layers = []string{"layer1", "layer2"}
	e, err := FitEnsemble(ctx, ds, []Options{a, b}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Members()) != 2 || !(e.Stats.ImageThreshold > e.Stats.ImageMedian) {
		t.Fatalf("%d members, stats %+v", len(e.Members()), e.Stats)
	}
	paths := samplePaths(ds.Test[:4])
	got, err := e.Predict(ctx, paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want [4]float64
	for _, mem := range e.Members() {
		ps, err := mem.Predict(ctx, paths, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range ps {
			want[i] += (float64(p.Score) - mem.Stats.ImageMedian) / (MADScale * mem.Stats.ImageMAD) / 2
		}
	}
	for i := range got {
		if math.Abs(float64(got[i].Score)-want[i]) > 1e-4*(1+math.Abs(want[i])) {
			t.Errorf("%s: ensemble score %v, mean z-score %v", paths[i], got[i].Score, want[i])
		}
	}
	path := filepath.Join(t.TempDir(), "e.rpm")
	if err := e.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.UseBackbone(""); err != nil {
		t.Fatal(err)
	}
	again, err := back.Predict(ctx, paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i].Score != again[i].Score || got[i].Map[100] != again[i].Map[100] {
			t.Fatalf("%s: %v before saving, %v after", paths[i], got[i].Score, again[i].Score)
		}
	}
	if _, err := FitEnsemble(ctx, ds, []Options{a}, nil); err == nil {
		t.Error("a one-member ensemble was accepted")
	}
	c := b
	c.Crop = 112
	if _, err := FitEnsemble(ctx, ds, []Options{a, c}, nil); err == nil || !strings.Contains(err.Error(), "preprocesses") {
		t.Errorf("members with different crops: %v", err)
	}
}
