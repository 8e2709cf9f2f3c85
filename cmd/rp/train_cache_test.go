package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainCacheFlagErrors checks that bad memory and cache settings are
// refused with a message naming them, before any work.
func TestTrainCacheFlagErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-mem-limit", "4XB"}, `size "4XB"`},
		{[]string{"-mem-limit", "0"}, `size "0"`},
		{[]string{"-mem-limit", "-1GiB"}, `size "-1GiB"`},
		{[]string{"-mem-limit", "1.5GiB"}, `size "1.5GiB"`},
		{[]string{"-feature-cache", "ram"}, "auto, memory or disk"},
	} {
		var out, errb bytes.Buffer
		args := append([]string{"train", "-data", dir, "-o", filepath.Join(dir, "m.rpm")}, tc.args...)
		if code := run(args, &out, &errb); code == 0 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, %q; want an error mentioning %s", tc.args, code, errb.String(), tc.want)
		}
	}
}

// TestTrainDiskCache trains with the features forced to disk in a cache
// folder of its own and a small memory limit: the model is written and the
// folder is left empty.
func TestTrainDiskCache(t *testing.T) {
	dir, data := tinySet(t, 1)
	cache := filepath.Join(dir, "cache")
	if err := os.Mkdir(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "m.rpm")
	var out, errb bytes.Buffer
	args := []string{"train", "-data", data, "-o", model, "-epochs", "1", "-steps-per-epoch", "2", "-resize", "128", "-crop", "128",
		"-coreset", "0.05", "-feature-cache", "disk", "-cache-dir", cache, "-mem-limit", "512MiB"}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("train exited %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "feature cache: ") || !strings.Contains(errb.String(), "on disk in "+cache) {
		t.Errorf("the log does not say the features were cached in %s:\n%s", cache, errb.String())
	}
	if _, err := os.Stat(model); err != nil {
		t.Error(err)
	}
	if left, _ := os.ReadDir(cache); len(left) != 0 {
		t.Errorf("files left in the cache folder: %v", left)
	}
}
