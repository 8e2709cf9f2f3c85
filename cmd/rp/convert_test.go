package main

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reconpatch/rp/weights"
)

func TestConvert(t *testing.T) {
	for _, in := range []string{
		"../../backbones/testdata/resnet18_tiny.pth",
		"../../backbones/testdata/densenet_tiny_legacy.pth",
		"../../weights/testdata/tfjs/model.json",
	} {
		t.Run(filepath.Base(in), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.safetensors")
			var stdout, stderr bytes.Buffer
			if code := run([]string{"convert", in, out}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			want, err := weights.Load(in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := weights.LoadSafetensors(out)
			if err != nil {
				t.Fatal(err)
			}
			gn, wn := got.Names(), want.Names()
			slices.Sort(gn) // safetensors stores names sorted
			slices.Sort(wn)
			if !slices.Equal(gn, wn) {
				t.Fatalf("names %v, want %v", gn, wn)
			}
			for _, n := range want.Names() {
				if !slices.Equal(got.Get(n).Shape(), want.Get(n).Shape()) || !slices.Equal(got.Get(n).Data(), want.Get(n).Data()) {
					t.Errorf("%s differs", n)
				}
			}
			if got.Metadata["source"] != filepath.Base(in) {
				t.Errorf("metadata %v", got.Metadata)
			}
		})
	}
}

func TestConvertErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		errHas string
	}{
		{"no args", []string{"convert"}, 2, "usage"},
		{"one arg", []string{"convert", "a.pth"}, 2, "usage"},
		{"missing input", []string{"convert", filepath.Join(dir, "nope.pth"), filepath.Join(dir, "o.safetensors")}, 1, "nope.pth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.errHas) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr.String(), tc.code, tc.errHas)
			}
		})
	}
}
