package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSynthCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "set")
	var out, errb bytes.Buffer
	args := []string{"synth", "-o", dir, "-categories", "brushed_metal", "-size", "64", "-train", "2", "-test-good", "1", "-test-defect", "1", "-q"}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("rp synth exited %d: %s", code, errb.String())
	}
	if errb.Len() != 0 {
		t.Errorf("-q still printed %q", errb.String())
	}
	if !strings.Contains(out.String(), filepath.Join(dir, "brushed_metal")) {
		t.Errorf("output %q does not name the data set", out.String())
	}
	for _, p := range []string{"train/good/000.png", "test/good/000.png", "test/scratch/000.png", "ground_truth/scratch/000_mask.png"} {
		if _, err := os.Stat(filepath.Join(dir, "brushed_metal", p)); err != nil {
			t.Error(err)
		}
	}
	// A second run into the same folder is refused with a clear message.
	errb.Reset()
	if code := run(args, &out, &errb); code == 0 || !strings.Contains(errb.String(), "not empty") {
		t.Errorf("second run: exit %d, stderr %q", code, errb.String())
	}
	// Unknown categories name the valid ones.
	errb.Reset()
	bad := []string{"synth", "-o", t.TempDir(), "-categories", "marble", "-q"}
	if code := run(bad, &out, &errb); code == 0 || !strings.Contains(errb.String(), "brushed_metal") {
		t.Errorf("unknown category: exit %d, stderr %q", code, errb.String())
	}
}
