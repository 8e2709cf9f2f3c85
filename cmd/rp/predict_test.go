package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reconpatch/rp/reconpatch"
	"github.com/reconpatch/rp/reconpatch/render"
)

// TestPredictCommand trains a tiny PatchCore model on a synthetic set and
// runs rp predict on its test folder: JSON lines, output files, scores,
// exit codes.
func TestPredictCommand(t *testing.T) {
	dir, data := tinySet(t, 3)
	var out, errb bytes.Buffer
	model := filepath.Join(dir, "m.rpm")
	if code := run([]string{"train", "-data", data, "-o", model, "-method", "patchcore", "-resize", "128", "-crop", "128", "-coreset", "0.05", "-q"}, &out, &errb); code != 0 {
		t.Fatalf("train exited %d: %s", code, errb.String())
	}

	outDir := filepath.Join(dir, "out")
	test := filepath.Join(data, "test")
	out.Reset()
	errb.Reset()
	if code := run([]string{"predict", "-model", model, "-o", outDir, "-json", "-q", test}, &out, &errb); code != 0 {
		t.Fatalf("predict exited %d: %s", code, errb.String())
	}
	var good, defect []float64
	anomalies := 0
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var raw map[string]any
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		for _, k := range []string{"path", "score", "anomalous", "threshold", "map", "heatmap", "mask", "map_scale"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("line %q lacks %q", sc.Text(), k)
			}
		}
		var rec predictRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Anomalous == nil || rec.Threshold == nil || rec.Map == nil || rec.Heatmap == nil || rec.Mask == nil || rec.MapScale == nil {
			t.Fatalf("line %q has nulls", sc.Text())
		}
		if *rec.Anomalous != (float64(rec.Score) > *rec.Threshold) {
			t.Errorf("%s: anomalous %v with score %g, threshold %g", rec.Path, *rec.Anomalous, rec.Score, *rec.Threshold)
		}
		if *rec.Anomalous {
			anomalies++
		}
		if strings.Contains(filepath.ToSlash(rec.Path), "/good/") {
			good = append(good, float64(rec.Score))
		} else {
			defect = append(defect, float64(rec.Score))
		}
		checkPredictFiles(t, rec)
	}
	if len(good) != 3 || len(defect) != 3 {
		t.Fatalf("%d good and %d defect lines, want 3 and 3", len(good), len(defect))
	}
	if mean(defect) <= mean(good) {
		t.Errorf("defect images score %.4g on average, good ones %.4g", mean(defect), mean(good))
	}
	t.Logf("good %v, defect %v, %d anomalous", good, defect, anomalies)
	// good/000.png and scratch/000.png share a stem: the names keep them apart.
	if ents, _ := os.ReadDir(outDir); len(ents) != 6*3 {
		t.Errorf("%d files in %s, want 18", len(ents), outDir)
	}

	// A table; every image anomalous at -threshold 0 is still exit code 0.
	out.Reset()
	if code := run([]string{"predict", "-model", model, "-threshold", "0", "-q", test}, &out, &errb); code != 0 {
		t.Fatalf("predict -threshold 0 exited %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 7 || lines[0] != "path\tscore\tlabel" {
		t.Fatalf("table %q", out.String())
	}
	for _, l := range lines[1:] {
		if f := strings.Split(l, "\t"); len(f) != 3 || f[2] != "anomalous" {
			t.Errorf("row %q", l)
		}
	}

	// A file that is not an image: an error naming it, the others still
	// scored, exit code 1.
	notes := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notes, []byte("not an image\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(test, "good", "000.png")
	out.Reset()
	errb.Reset()
	code := run([]string{"predict", "-model", model, "-q", notes, img}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), notes) || !strings.Contains(errb.String(), "1 of 2 inputs failed") {
		t.Errorf("predict with a text file: exit %d, stderr %q", code, errb.String())
	}
	if !strings.Contains(out.String(), img+"\t") {
		t.Errorf("the good image was not scored: %q", out.String())
	}
}

// checkPredictFiles decodes the three files of one prediction.
func checkPredictFiles(t *testing.T, rec predictRecord) {
	t.Helper()
	want := image.Rect(0, 0, 128, 128)
	m, ok := decodePNG(t, *rec.Map).(*image.Gray16)
	if !ok || m.Bounds() != want {
		t.Errorf("%s: not a 128×128 16-bit grey PNG", *rec.Map)
	} else {
		peak := uint16(0)
		for y := range 128 {
			for x := range 128 {
				peak = max(peak, m.Gray16At(x, y).Y)
			}
		}
		if peak != 65535 {
			t.Errorf("%s: brightest pixel %d, want 65535", *rec.Map, peak)
		}
	}
	if s, err := render.ReadMapScale(*rec.Map); err != nil || s != *rec.MapScale {
		t.Errorf("%s: stored scale %g (%v), JSON %g", *rec.Map, s, err, *rec.MapScale)
	}
	h := decodePNG(t, *rec.Heatmap)
	if _, ok := h.(*image.RGBA); !ok || h.Bounds() != want {
		t.Errorf("%s: %T %v, want a 128×128 RGB image", *rec.Heatmap, h, h.Bounds())
	}
	mask, ok := decodePNG(t, *rec.Mask).(*image.Gray)
	if !ok || mask.Bounds() != want {
		t.Fatalf("%s: not a 128×128 grey PNG", *rec.Mask)
	}
	for _, v := range mask.Pix {
		if v != 0 && v != 255 {
			t.Fatalf("%s: grey level %d in a mask", *rec.Mask, v)
		}
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// TestCollectInputs checks how rp predict expands its arguments and names
// the output files.
func TestCollectInputs(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a/good/000.png", "a/scratch/000.PNG", "a/readme.txt", "a/.hidden/1.png", "a/.x.png",
		"a/good_000.jpg", "b/000.png", "c.bmp", "empty/readme.md"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	j := func(s string) string { return filepath.Join(dir, s) }
	tests := []struct {
		name   string
		args   []string
		want   [][2]string // path, output name
		failed []string    // in the errors
	}{
		{"folder", []string{j("a")}, [][2]string{
			{j("a/good/000.png"), "good_000"}, {j("a/good_000.jpg"), "good_000-2"}, {j("a/scratch/000.PNG"), "scratch_000"}}, nil},
		{"files and folders, once each", []string{j("c.bmp"), j("b"), j("b/000.png"), j("a/good/000.png")}, [][2]string{
			{j("c.bmp"), "c"}, {j("b/000.png"), "000"}, {j("a/good/000.png"), "000-2"}}, nil},
		{"a named file of any extension", []string{j("a/readme.txt")}, [][2]string{{j("a/readme.txt"), "readme"}}, nil},
		{"errors", []string{j("nope"), j("empty"), j("c.bmp")}, [][2]string{{j("c.bmp"), "c"}}, []string{j("nope"), j("empty") + ": no images"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errs []string
			got := collectInputs(tt.args, func(err error) { errs = append(errs, err.Error()) })
			var pairs [][2]string
			for _, in := range got {
				pairs = append(pairs, [2]string{in.path, in.name})
			}
			if !slices.Equal(pairs, tt.want) {
				t.Errorf("inputs %v\nwant %v", pairs, tt.want)
			}
			if len(errs) != len(tt.failed) {
				t.Fatalf("errors %q, want ones naming %q", errs, tt.failed)
			}
			for i, e := range errs {
				if !strings.Contains(e, tt.failed[i]) {
					t.Errorf("error %q does not name %q", e, tt.failed[i])
				}
			}
		})
	}
}

func TestHeatRange(t *testing.T) {
	amap := []float32{0.5, 2, 1}
	th := func(v float64) *float64 { return &v }
	stats := reconpatch.Stats{HeldOut: 5, PixelMedian: 0.25, PixelThreshold: 1}
	tests := []struct {
		name   string
		st     reconpatch.Stats
		th     *float64
		lo, hi float32
	}{
		{"anomalous map", stats, th(1), 0.25, 2},
		{"normal map: 1.5 × threshold", stats, th(4), 0.25, 6},
		{"no statistics", reconpatch.Stats{}, nil, 0.5, 2},
		{"no statistics, a threshold", reconpatch.Stats{}, th(2), 0.5, 3},
	}
	for _, tt := range tests {
		if lo, hi := heatRange(amap, tt.st, tt.th); lo != tt.lo || hi != tt.hi {
			t.Errorf("%s: [%g, %g], want [%g, %g]", tt.name, lo, hi, tt.lo, tt.hi)
		}
	}
}

func TestPredictUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"predict", "-model", "m.rpm"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "Example:") {
		t.Errorf("no inputs: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"predict", "-model", filepath.Join(t.TempDir(), "none.rpm"), "x.png"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "none.rpm") {
		t.Errorf("missing model: exit %d, %q", code, errb.String())
	}
}
