package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/reconpatch/rp/weights"
)

// tinySet writes a small synthetic brushed-metal set (8 training images,
// testGood good and one image per defect type, 128×128) for the end-to-end
// command tests, and returns the temporary folder and the data set's root.
// It skips the test with -short or without the Keras ResNet-50.
func tinySet(t *testing.T, testGood int) (dir, data string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end model test; skipped with -short")
	}
	if _, err := weights.FindKerasResNet50(); err != nil {
		t.Skipf("needs the Keras ResNet-50 (make weights): %v", err)
	}
	dir = t.TempDir()
	var out, errb bytes.Buffer
	args := []string{"synth", "-o", dir, "-categories", "brushed_metal", "-size", "128", "-train", "8",
		"-test-good", strconv.Itoa(testGood), "-test-defect", "1", "-q"}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("synth: %s", errb.String())
	}
	return dir, filepath.Join(dir, "brushed_metal")
}

// TestTrainEvalCommands runs rp synth, rp train and rp eval -json on a tiny
// set and checks the JSON fields users rely on.
func TestTrainEvalCommands(t *testing.T) {
	dir, data := tinySet(t, 2)
	var out, errb bytes.Buffer
	model := filepath.Join(dir, "m.rpm")
	args := []string{"train", "-data", data, "-o", model, "-method", "reconpatch", "-epochs", "1", "-steps-per-epoch", "2",
		"-resize", "128", "-crop", "128", "-coreset", "0.05", "-q"}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("train exited %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "wrote "+model) {
		t.Errorf("train output %q", out.String())
	}
	js := filepath.Join(dir, "m.json")
	out.Reset()
	if code := run([]string{"eval", "-model", model, "-data", data, "-json", js, "-q"}, &out, &errb); code != 0 {
		t.Fatalf("eval exited %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "overall") {
		t.Errorf("eval output %q", out.String())
	}
	raw, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Overall map[string]any            `json:"overall"`
		Types   map[string]map[string]any `json:"types"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"image_auroc", "pixel_auroc", "aupro", "image_f1max", "pixel_f1max"} {
		v, ok := got.Overall[k].(float64)
		if !ok || v < 0 || v > 1 {
			t.Errorf("overall %s = %v", k, got.Overall[k])
		}
		for typ, m := range got.Types {
			if _, ok := m[k]; !ok {
				t.Errorf("type %s lacks %s", typ, k)
			}
		}
	}
	if len(got.Types) != 3 {
		t.Errorf("%d defect types in the JSON, want 3", len(got.Types))
	}
	// A missing data folder is a clear error, not a panic.
	errb.Reset()
	if code := run([]string{"train", "-data", filepath.Join(dir, "nope"), "-o", model, "-q"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "nope") {
		t.Errorf("train on a missing folder: exit %d, %q", code, errb.String())
	}
}
