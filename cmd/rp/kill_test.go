package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reconpatch/rp/reconpatch"
)

// r18Set writes a small synthetic brushed-metal set (8 training images of
// size×size, 2 good test images and one per defect type) and a resnet18
// with random weights, which loads far faster than the Keras ResNet-50 and
// needs no `make weights`. It returns the data set's root and the weights.
func r18Set(t *testing.T, size int) (data, weightsPath string) {
	t.Helper()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	args := []string{"synth", "-o", dir, "-categories", "brushed_metal", "-size", strconv.Itoa(size), "-train", "8",
		"-test-good", "2", "-test-defect", "1", "-q"}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("synth: %s", errb.String())
	}
	weightsPath, _ = randomResNet18(t)
	return filepath.Join(dir, "brushed_metal"), weightsPath
}

// r18TrainArgs are the arguments of rp train for a PatchCore model on the
// resnet18 of r18Set, keeping the fraction coreset of the patches.
func r18TrainArgs(data, weightsPath, out string, size int, coreset string) []string {
	s := strconv.Itoa(size)
	return []string{"train", "-data", data, "-o", out, "-method", "patchcore", "-backbone", "resnet18",
		"-weights", weightsPath, "-resize", s, "-crop", s, "-coreset", coreset, "-q"}
}

// buildRP builds the rp binary into a temporary folder.
func buildRP(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build rp with: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "rp")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestTrainKilled kills `rp train` (SIGKILL) while it retrains over an
// existing model, at seeded random moments and just after the model file's
// temporary copy appears, and checks that the model path always holds the
// old model or a complete new one, never a partial file.
func TestTrainKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds rp and trains models; skipped with -short")
	}
	const size = 96
	t0 := time.Now()
	bin := buildRP(t)
	t.Logf("built rp in %v", time.Since(t0).Round(time.Millisecond))
	data, wpath := r18Set(t, size)
	dir := t.TempDir()
	model := filepath.Join(dir, "m.rpm")

	// The old model: a small bank. Its training time bounds the delays.
	start := time.Now()
	if out, err := exec.Command(bin, r18TrainArgs(data, wpath, model, size, "0.05")...).CombinedOutput(); err != nil {
		t.Fatalf("rp train: %v\n%s", err, out)
	}
	full := time.Since(start)
	old, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	oldBank := loadBankLen(t, model)

	// The new model keeps every patch: a larger file, slower to write.
	const runs = 4
	rng := rand.New(rand.NewPCG(8, 1))
	var kept, replaced, midWrite int
	for i := range runs {
		cmd := exec.Command(bin, r18TrainArgs(data, wpath, model, size, "1")...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		var how string
		if i%2 == 0 {
			// A random moment of the run (or after it).
			d := time.Duration(rng.Int64N(int64(full) * 5 / 4))
			how = "after " + d.Round(time.Millisecond).String()
			select {
			case <-time.After(d):
			case err := <-exited:
				exited <- err
			}
		} else {
			// Just after the temporary file appears: during the write.
			d := time.Duration(rng.Int64N(int64(3 * time.Millisecond)))
			how = "during the write"
			if !waitForTemp(dir, exited) {
				how = "after the run"
			}
			time.Sleep(d)
		}
		cmd.Process.Kill() // SIGKILL; an error if it has exited
		werr := <-exited
		if tmps, _ := filepath.Glob(filepath.Join(dir, ".rp-tmp-*")); len(tmps) > 0 {
			midWrite++
			how += ", temporary file left"
			for _, p := range tmps {
				os.Remove(p)
			}
		}
		got, err := os.ReadFile(model)
		if err != nil {
			t.Fatalf("run %d killed %s: the model is gone: %v", i, how, err)
		}
		if bytes.Equal(got, old) {
			kept++
			t.Logf("run %d killed %s (%v): the old model", i, how, werr)
			continue
		}
		n := loadBankLen(t, model)
		if n <= oldBank {
			t.Fatalf("run %d killed %s: a model with a bank of %d, neither the old one nor a new one", i, how, n)
		}
		replaced++
		t.Logf("run %d killed %s (%v): a complete new model, bank %d", i, how, werr, n)
		if err := os.WriteFile(model, old, 0o644); err != nil { // start again from the old model
			t.Fatal(err)
		}
	}
	// Unharmed, the same run replaces the model with a complete new one.
	if out, err := exec.Command(bin, r18TrainArgs(data, wpath, model, size, "1")...).CombinedOutput(); err != nil {
		t.Fatalf("rp train: %v\n%s", err, out)
	}
	if n := loadBankLen(t, model); n <= oldBank {
		t.Errorf("after a complete run: a bank of %d, the old model's was %d", n, oldBank)
	}
	t.Logf("%d kills: old model kept %d times, replaced by a complete new one %d times; killed during the write %d times (full run %v)",
		runs, kept, replaced, midWrite, full.Round(time.Millisecond))
}

// waitForTemp polls dir until an rp temporary file appears (true) or the
// process exits (false, and the exit is put back on exited).
func waitForTemp(dir string, exited chan error) bool {
	for {
		select {
		case err := <-exited:
			exited <- err
			return false
		default:
		}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".rp-tmp-") {
				return true
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// loadBankLen loads a model file and returns its bank's size; it fails the
// test if the file does not load.
func loadBankLen(t *testing.T, path string) int {
	t.Helper()
	m, err := reconpatch.LoadModel(path)
	if err != nil {
		t.Fatalf("the model file does not load: %v", err)
	}
	return m.Bank.Len()
}
