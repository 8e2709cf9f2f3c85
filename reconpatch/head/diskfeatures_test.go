package head_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reconpatch/rp/reconpatch/head"
	"github.com/reconpatch/rp/tensor"
)

// appendSource is a store that grows by Append.
type appendSource interface {
	head.FeatureSource
	Append(rows []float32) error
}

// TestDiskFeatures checks that a disk store gives back what the in-memory
// stores give for the same appended rows: float32 bit for bit, float16 the
// same rounded values, for scattered rows, repeated rows and runs of
// consecutive rows longer than one read (1 MiB).
func TestDiskFeatures(t *testing.T) {
	const n, d = 1200, 300 // 1.4 MB of float32 rows
	rng := rand.New(rand.NewPCG(3, 4))
	data := tensor.RandNormal(rng, 0, 3, n, d).Data()
	scattered := []int{1199, 0, 17, 17, 3, 4, 5, 600}
	run := make([]int, n) // every row in order: runs of 873 rows per read
	for i := range run {
		run[i] = i
	}
	for _, tc := range []struct {
		name string
		half bool
		mem  func() (appendSource, error)
	}{
		{"float32", false, func() (appendSource, error) { return head.NewFloat32Features(d) }},
		{"float16", true, func() (appendSource, error) { return head.NewFloat16Features(d) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			disk, err := head.NewDiskFeatures(t.TempDir(), d, tc.half)
			if err != nil {
				t.Fatal(err)
			}
			defer disk.Close()
			mem, err := tc.mem()
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i += 100 { // appended image by image
				if err := disk.Append(data[i*d : (i+100)*d]); err != nil {
					t.Fatal(err)
				}
				if err := mem.Append(data[i*d : (i+100)*d]); err != nil {
					t.Fatal(err)
				}
			}
			elem := int64(4)
			if tc.half {
				elem = 2
			}
			if disk.Len() != n || disk.Dim() != d || disk.Half() != tc.half || disk.Bytes() != n*d*elem {
				t.Fatalf("Len %d Dim %d Half %v Bytes %d", disk.Len(), disk.Dim(), disk.Half(), disk.Bytes())
			}
			for _, idx := range [][]int{scattered, run, run[500:502]} {
				got := make([]float32, len(idx)*d)
				want := make([]float32, len(idx)*d)
				if err := disk.Rows(idx, got); err != nil {
					t.Fatal(err)
				}
				if err := mem.Rows(idx, want); err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%d rows from %d: value %d is %v, want %v", len(idx), idx[0], i, got[i], want[i])
					}
				}
			}
			got := make([]float32, d)
			for _, bad := range [][]int{{-1}, {n}} {
				if err := disk.Rows(bad, got); err == nil || !strings.Contains(err.Error(), "out of range") {
					t.Errorf("Rows(%v): %v", bad, err)
				}
			}
			if err := disk.Rows(scattered, got); err == nil {
				t.Error("short dst: no error")
			}
		})
	}
}

// TestDiskFeaturesFile checks the life of the file: created in the cache
// folder, gone after Close (at once on Unix), and the store unusable after
// Close.
func TestDiskFeaturesFile(t *testing.T) {
	dir := t.TempDir()
	f, err := head.NewDiskFeatures(dir, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(f.Path()) != dir || !strings.HasPrefix(filepath.Base(f.Path()), "rp-features-") {
		t.Errorf("file %s, want rp-features-* in %s", f.Path(), dir)
	}
	if err := f.Append([]float32{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Close: stat %s: %v", f.Path(), err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("files left in the cache folder: %v", left)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := f.Rows([]int{0}, make([]float32, 2)); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Rows after Close: %v", err)
	}
	if err := f.Append([]float32{1, 2}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Append after Close: %v", err)
	}
}

func TestDiskFeaturesErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := head.NewDiskFeatures(dir, 0, false); err == nil || !strings.Contains(err.Error(), "width 0") {
		t.Errorf("width 0: %v", err)
	}
	if _, err := head.NewDiskFeatures(filepath.Join(dir, "missing"), 4, false); err == nil || !strings.Contains(err.Error(), "feature cache") {
		t.Errorf("missing folder: %v", err)
	}
	f, err := head.NewDiskFeatures(dir, 4, true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct {
		name string
		rows []float32
		want string
	}{
		{"partial row", make([]float32, 6), "not rows of 4"},
		{"overflow", []float32{1, 2, 3, 4, 1, 2, 7e4, 3}, "row 1 of the batch) is not a finite half"},
		{"NaN", []float32{float32(math.NaN()), 2, 3, 4}, "not a finite half"},
	} {
		if err := f.Append(tc.rows); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error mentioning %q", tc.name, err, tc.want)
		}
	}
	if f.Len() != 0 {
		t.Errorf("failed appends added %d rows", f.Len())
	}
	// A failed append leaves no trace: the next one is read back.
	if err := f.Append([]float32{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 4)
	if err := f.Rows([]int{0}, got); err != nil || !slices.Equal(got, []float32{1, 2, 3, 4}) {
		t.Errorf("row 0 = %v, %v", got, err)
	}
}
