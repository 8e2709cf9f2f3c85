package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconpatch/rp/reconpatch"
)

// TestAddNormalUsage checks the argument errors, which need no model.
func TestAddNormalUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"add-normal"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "Usage: rp add-normal") {
		t.Errorf("no arguments: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"add-normal", "-model", "m.rpm", "-mode", "merge", "x.png"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "merge") {
		t.Errorf("bad mode: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	dir := t.TempDir()
	if code := run([]string{"add-normal", "-model", "m.rpm", dir}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "no images") {
		t.Errorf("empty folder: exit %d, %q", code, errb.String())
	}
}

func TestImageFiles(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"b/2.png", "b/1.jpg", "a.png", "notes.txt", ".hidden/x.png"} {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := imageFiles([]string{dir, filepath.Join(dir, "a.png")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "a.png"), filepath.Join(dir, "b/1.jpg"), filepath.Join(dir, "b/2.png")}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("imageFiles = %v, want %v", got, want)
	}
	if _, err := imageFiles([]string{filepath.Join(dir, "nope")}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing path: %v", err)
	}
}

// TestAddNormalCommand trains a tiny PatchCore model and adds the test set's
// good images: to a new file in append mode, then over the model itself in
// coreset mode; both files load with a larger bank.
func TestAddNormalCommand(t *testing.T) {
	dir, data := tinySet(t, 2)
	var out, errb bytes.Buffer
	model := filepath.Join(dir, "m.rpm")
	args := []string{"train", "-data", data, "-o", model, "-method", "patchcore", "-resize", "128", "-crop", "128", "-coreset", "0.05", "-q"}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("train exited %d: %s", code, errb.String())
	}
	m0, err := reconpatch.LoadModel(model)
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(data, "test", "good")
	added := filepath.Join(dir, "m2.rpm")
	out.Reset()
	if code := run([]string{"add-normal", "-model", model, "-o", added, "-mode", "append", "-q", good}, &out, &errb); code != 0 {
		t.Fatalf("add-normal exited %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "wrote "+added) {
		t.Errorf("add-normal output %q", out.String())
	}
	m2, err := reconpatch.LoadModel(added)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Bank.Len() <= m0.Bank.Len() || m2.Stats != m0.Stats {
		t.Errorf("bank %d → %d rows, stats %+v → %+v: want a larger bank, the same stats", m0.Bank.Len(), m2.Bank.Len(), m0.Stats, m2.Stats)
	}
	// Without -o the model is replaced.
	if code := run([]string{"add-normal", "-model", model, "-q", good}, &out, &errb); code != 0 {
		t.Fatalf("add-normal exited %d: %s", code, errb.String())
	}
	m3, err := reconpatch.LoadModel(model)
	if err != nil {
		t.Fatal(err)
	}
	if m3.Bank.Len() != m2.Bank.Len() {
		t.Errorf("coreset mode: bank %d rows, want %d (as append)", m3.Bank.Len(), m2.Bank.Len())
	}
}
