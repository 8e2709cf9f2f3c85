package reconpatch

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconpatch/rp/tensor"
	"github.com/reconpatch/rp/weights"
)

// smallModels saves three small but complete model files into dir — a
// PatchCore model, a ReConPatch model with a head and a float16 bank, and
// an ensemble of the two — and returns their paths.
func smallModels(t testing.TB, dir string) (patchcore, reconpatch, ensemble string) {
	t.Helper()
	pc := &Model{Options: DefaultOptions(MethodPatchCore), WeightsSHA256: strings.Repeat("ab", 32),
		Grid: Grid{2, 2}, InputH: 8, InputW: 8, FeatureDim: 3,
		Stats: Stats{HeldOut: 2, ImageMedian: 1, ImageMAD: 0.5, PixelMedian: 0.5, PixelMAD: 0.25, ThresholdZ: DefaultThresholdZ}}
	var err error
	if pc.Bank, err = NewMemoryBank([]float32{1, 2, 3, 4, 5, 6}, 2, 3, Float32); err != nil {
		t.Fatal(err)
	}
	rc := &Model{Options: DefaultOptions(MethodReConPatch), Grid: Grid{2, 2}, InputH: 8, InputW: 8, FeatureDim: 3, Stats: pc.Stats}
	rc.Options.BankHalf = true
	if err := rc.setHead([]float32{1, 0, 0, 0, 1, 0}, []float32{0.5, -0.5}); err != nil {
		t.Fatal(err)
	}
	if rc.Bank, err = NewMemoryBank([]float32{1, 2, 3, 4, 5, 6}, 3, 2, Float16); err != nil {
		t.Fatal(err)
	}
	e := &Model{Options: pc.Options, InputH: 8, InputW: 8, Stats: pc.Stats, members: []*Model{pc, rc}}
	patchcore, reconpatch, ensemble = filepath.Join(dir, "pc.rpm"), filepath.Join(dir, "rc.rpm"), filepath.Join(dir, "ens.rpm")
	for _, s := range []struct {
		m    *Model
		path string
	}{{pc, patchcore}, {rc, reconpatch}, {e, ensemble}} {
		if err := s.m.Save(s.path); err != nil {
			t.Fatal(err)
		}
	}
	return patchcore, reconpatch, ensemble
}

// rewriteHeader saves a copy of the model file src whose JSON header edit
// has changed, and returns its path.
func rewriteHeader(t *testing.T, src string, edit func(h map[string]any)) string {
	t.Helper()
	sd, err := weights.LoadSafetensors(src)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal([]byte(sd.Metadata["rp"]), &h); err != nil {
		t.Fatal(err)
	}
	edit(h)
	js, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	meta := sd.Metadata
	meta["rp"] = string(js)
	out := filepath.Join(t.TempDir(), "edited.rpm")
	if err := weights.SaveSafetensors(out, sd, meta, weights.PerTensor); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLoadModelRefusesBadHeaders: a model file whose header is of a newer
// format, inconsistent with its tensors or out of range is refused with an
// error naming the file and the reason.
func TestLoadModelRefusesBadHeaders(t *testing.T) {
	pc, rc, ens := smallModels(t, t.TempDir())
	for _, p := range []string{pc, rc, ens} {
		if _, err := LoadModel(p); err != nil {
			t.Fatalf("loading a valid model: %v", err)
		}
	}
	opt := func(h map[string]any) map[string]any { return h["options"].(map[string]any) }
	cases := []struct {
		name string
		file string
		edit func(h map[string]any)
		want string
	}{
		{"newer version", pc, func(h map[string]any) { h["version"] = FormatVersion + 1 }, "upgrade rp"},
		// A newer version may change the rest of the header: the version
		// is what the error says.
		{"newer version, other fields", pc, func(h map[string]any) { h["version"] = 7; h["grid"] = "14x14"; h["options"] = []int{1} }, "model format version 7"},
		{"newer ensemble", ens, func(h map[string]any) { h["version"] = 2 }, "model format version 2"},
		{"newer ensemble member", ens, func(h map[string]any) { h["members"].([]any)[1].(map[string]any)["version"] = 2 }, "model format version 2"},
		{"version 0", pc, func(h map[string]any) { h["version"] = 0 }, "not a valid version"},
		{"unknown kind", pc, func(h map[string]any) { h["kind"] = "rp-forest" }, `not an rp model (kind "rp-forest")`},
		{"batch 0", pc, func(h map[string]any) { opt(h)["batch"] = 0 }, "batch 0 < 1"},
		{"unknown method", pc, func(h map[string]any) { opt(h)["method"] = "magic" }, `unknown method "magic"`},
		{"negative input", pc, func(h map[string]any) { h["input_h"] = -8 }, "input size 8×-8"},
		{"huge input", pc, func(h map[string]any) { h["input_h"], h["input_w"] = 1<<20, 1<<20 }, "is not between 1×1 and"},
		{"huge crop", pc, func(h map[string]any) { opt(h)["crop"] = 1 << 20 }, "crop 1048576"},
		{"grid over input", pc, func(h map[string]any) { h["grid"] = map[string]any{"H": 9, "W": 2} }, "patch grid 2×9 does not fit"},
		{"negative grid", pc, func(h map[string]any) { h["grid"] = map[string]any{"H": -1, "W": 2} }, "patch grid"},
		{"feature length 0", pc, func(h map[string]any) { h["feature_dim"] = 0 }, "feature length 0"},
		{"feature length vs bank", pc, func(h map[string]any) { h["feature_dim"] = 4 }, "do not match embeddings of 4"},
		{"feature length vs head", rc, func(h map[string]any) { h["feature_dim"] = 2 }, "do not fit features of 2"},
		{"patch size", pc, func(h map[string]any) { opt(h)["features"].(map[string]any)["PatchSize"] = 1001 }, "patch size 1001"},
		{"pretrain dim", pc, func(h map[string]any) { opt(h)["features"].(map[string]any)["PretrainDim"] = 1 << 30 }, "pretrain 1073741824"},
		{"map sigma", pc, func(h map[string]any) { opt(h)["map_sigma"] = 1e9 }, "map sigma 1e+09"},
		{"projection", pc, func(h map[string]any) { opt(h)["projection_dim"] = 1 << 40 }, "coreset projection"},
		{"unknown distance", pc, func(h map[string]any) { opt(h)["score"].(map[string]any)["Distance"] = 9 }, "unknown distance"},
		{"ensemble member size", ens, func(h map[string]any) { h["input_w"] = 16 }, "ensemble member 1 takes 8×8 images, the ensemble 16×8"},
		{"ensemble of one", ens, func(h map[string]any) { h["members"] = h["members"].([]any)[:1] }, "an ensemble of 1 members"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := rewriteHeader(t, c.file, c.edit)
			_, err := LoadModel(p)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("err = %v, want %q and the file name", err, c.want)
			}
		})
	}

	// Tensors missing or of the wrong shape.
	sd, err := weights.LoadSafetensors(rc)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, drop, want string
	}{
		{"no bank", "bank", `no 2-D memory bank "bank"`},
		{"no bias", "f.bias", "incomplete head f"},
		{"no weight", "f.weight", "incomplete head f"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cp := weights.NewStateDict()
			for _, n := range sd.Names() {
				if n != c.drop {
					cp.SetAs(n, sd.Get(n), sd.DType(n))
				}
			}
			p := filepath.Join(t.TempDir(), "m.rpm")
			if err := weights.SaveSafetensors(p, cp, sd.Metadata, weights.PerTensor); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadModel(p); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// TestUseBackboneRefusesOtherWeightsFile: a model refuses backbone weights
// whose sha256 differs from the one recorded at training, naming both, and
// before it reads them as a network (no real weights needed).
func TestUseBackboneRefusesOtherWeightsFile(t *testing.T) {
	pc, _, ens := smallModels(t, t.TempDir())
	other := filepath.Join(t.TempDir(), "other.safetensors")
	if err := os.WriteFile(other, []byte("not the weights the model saw"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(pc)
	if err != nil {
		t.Fatal(err)
	}
	m.Options.Backbone = "resnet18"
	err = m.UseBackbone(other)
	if err == nil || !strings.Contains(err.Error(), "not the ones this model was trained with") ||
		!strings.Contains(err.Error(), other) || !strings.Contains(err.Error(), "sha256 abababababab") {
		t.Errorf("UseBackbone(other weights) = %v", err)
	}
	e, err := LoadModel(ens)
	if err != nil {
		t.Fatal(err)
	}
	e.members[0].Options.Backbone = "resnet18"
	if err := e.UseBackbone(other + ","); err == nil || !strings.Contains(err.Error(), "ensemble member 1") ||
		!strings.Contains(err.Error(), "not the ones this model was trained with") {
		t.Errorf("ensemble UseBackbone(other weights) = %v", err)
	}
}

// FuzzLoadModel loads arbitrary bytes as a model file. Loading may fail,
// but must not panic, hang or allocate without bound; a model that loads
// must be consistent and survive Save and LoadModel again. The seeds are
// the three small models of smallModels.
func FuzzLoadModel(f *testing.F) {
	pc, rc, ens := smallModels(f, f.TempDir())
	for _, p := range []string{pc, rc, ens} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "fuzz.rpm")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := LoadModel(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		checkLoaded(t, m)
	})
}

// FuzzModelHeader loads the tensors of the seed models under an arbitrary
// JSON header: the semantic checks of the loader, which byte-level
// mutations of a whole file seldom reach.
func FuzzModelHeader(f *testing.F) {
	pc, rc, ens := smallModels(f, f.TempDir())
	var sds []*weights.StateDict
	for i, p := range []string{pc, rc, ens} {
		sd, err := weights.LoadSafetensors(p)
		if err != nil {
			f.Fatal(err)
		}
		sds = append(sds, sd)
		f.Add(uint8(i), sd.Metadata["rp"])
	}
	f.Fuzz(func(t *testing.T, which uint8, header string) {
		sd := *sds[int(which)%len(sds)] // shares the tensors, read only
		sd.Metadata = map[string]string{"rp": header}
		if m, err := modelFromStateDict("fuzz.rpm", &sd); err == nil {
			checkLoaded(t, m)
		} else if !strings.Contains(err.Error(), "fuzz.rpm") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}

// checkLoaded checks a loaded model's invariants, scores random features
// with it when it is small, and saves and loads it again.
func checkLoaded(t *testing.T, m *Model) {
	t.Helper()
	models := m.members
	if len(models) == 0 {
		models = []*Model{m}
	}
	for _, mm := range models {
		if mm.Bank == nil || mm.scorer == nil || mm.EmbedDim() != mm.Bank.Dim() || mm.Options.Batch < 1 {
			t.Fatalf("inconsistent model: %+v", mm)
		}
		if mm.Grid.Len() > 0 && mm.Grid.Len()*mm.FeatureDim <= 1<<12 && mm.InputH*mm.InputW <= 1<<12 {
			feats := make([]float32, mm.Grid.Len()*mm.FeatureDim)
			for i := range feats {
				feats[i] = float32(i%7) - 3
			}
			x := Embed(mm.head, tensor.FromSlice(feats, 1, mm.Grid.Len(), mm.FeatureDim))
			sc, err := mm.scorer.Score(x)
			if err != nil {
				t.Fatalf("scoring: %v", err)
			}
			if mm.InputH > 0 && mm.Options.MapSigma <= 16 {
				if mp := sc.Map(0, mm.Grid, mm.Options.mapConfig(mm.InputH, mm.InputW)); len(mp) != mm.InputH*mm.InputW {
					t.Fatalf("map of %d values for %d×%d", len(mp), mm.InputW, mm.InputH)
				}
			}
		}
	}
	// Save's encoding, read back in memory: fuzzing runs this often.
	sd, meta, err := m.encode()
	if err != nil {
		t.Fatalf("encoding a loaded model: %v", err)
	}
	sd.Metadata = meta
	if _, err := modelFromStateDict("again.rpm", sd); err != nil {
		t.Fatalf("loading a saved model: %v", err)
	}
}
