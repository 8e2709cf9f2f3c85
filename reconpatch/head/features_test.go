package head_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/reconpatch/rp/reconpatch/head"
	"github.com/reconpatch/rp/tensor"
)

// TestFeatureSources checks both in-memory sources on the same rows: float32
// exactly, float16 within half precision (relative 2⁻¹¹).
func TestFeatureSources(t *testing.T) {
	const n, d = 50, 7
	rng := rand.New(rand.NewPCG(1, 2))
	data := tensor.RandNormal(rng, 0, 3, n, d).Data()
	f32, err := head.NewFloat32Features(d)
	if err != nil {
		t.Fatal(err)
	}
	f16, err := head.NewFloat16Features(d)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 10 { // appended image by image, 10 rows each
		if err := f32.Append(data[i*d : (i+10)*d]); err != nil {
			t.Fatal(err)
		}
		if err := f16.Append(data[i*d : (i+10)*d]); err != nil {
			t.Fatal(err)
		}
	}
	wrapped, err := head.Float32FeaturesOf(data, d)
	if err != nil {
		t.Fatal(err)
	}
	fromT, err := head.Float32FeaturesFromTensor(tensor.FromSlice(data, 5, 10, d))
	if err != nil {
		t.Fatal(err)
	}
	bits, err := head.Float16FeaturesOf(f16.Bits(), d)
	if err != nil {
		t.Fatal(err)
	}
	idx := []int{49, 0, 17, 17, 3}
	want := make([]float32, 0, len(idx)*d)
	for _, i := range idx {
		want = append(want, data[i*d:(i+1)*d]...)
	}
	for _, tc := range []struct {
		name string
		src  head.FeatureSource
		tol  float64
	}{
		{"float32", f32, 0},
		{"float32 wrapped", wrapped, 0},
		{"float32 tensor", fromT, 0},
		{"float16", f16, 1.0 / 2048},
		{"float16 bits", bits, 1.0 / 2048},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.src.Len() != n || tc.src.Dim() != d {
				t.Fatalf("Len %d Dim %d", tc.src.Len(), tc.src.Dim())
			}
			got := make([]float32, len(want))
			if err := tc.src.Rows(idx, got); err != nil {
				t.Fatal(err)
			}
			for i, w := range want {
				if math.Abs(float64(got[i]-w)) > tc.tol*math.Abs(float64(w)) {
					t.Fatalf("value %d: %v, want %v", i, got[i], w)
				}
			}
			for _, bad := range [][]int{{-1}, {n}} {
				if err := tc.src.Rows(bad, got); err == nil || !strings.Contains(err.Error(), "out of range") {
					t.Errorf("Rows(%v): %v", bad, err)
				}
			}
			if err := tc.src.Rows(idx, got[:d]); err == nil {
				t.Error("short dst: no error")
			}
		})
	}
}

func TestFeatureSourceErrors(t *testing.T) {
	f32, _ := head.NewFloat32Features(4)
	f16, _ := head.NewFloat16Features(4)
	for _, tc := range []struct {
		name string
		err  func() error
		want string
	}{
		{"float32 width", func() error { _, err := head.NewFloat32Features(0); return err }, "width 0"},
		{"float16 width", func() error { _, err := head.NewFloat16Features(-1); return err }, "width -1"},
		{"float32 of", func() error { _, err := head.Float32FeaturesOf(make([]float32, 5), 4); return err }, "not rows of 4"},
		{"float16 of", func() error { _, err := head.Float16FeaturesOf(make([]uint16, 5), 4); return err }, "not rows of 4"},
		{"0-d tensor", func() error { _, err := head.Float32FeaturesFromTensor(tensor.Scalar(1)); return err }, "0-d"},
		{"float32 append", func() error { return f32.Append(make([]float32, 3)) }, "not rows of 4"},
		{"float16 append", func() error { return f16.Append(make([]float32, 6)) }, "not rows of 4"},
		{"float16 overflow", func() error { return f16.Append([]float32{1, 2, 7e4, 3}) }, "not a finite half"},
		{"float16 NaN", func() error { return f16.Append([]float32{1, float32(math.NaN()), 2, 3}) }, "not a finite half"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.err(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if f16.Len() != 0 || f32.Len() != 0 {
		t.Errorf("failed appends added rows: %d, %d", f16.Len(), f32.Len())
	}
}

// TestFloat16Values checks the conversion on special values: exact small
// integers, subnormals (6.1e-5 is just below the smallest normal half),
// the largest half, round to nearest even.
func TestFloat16Values(t *testing.T) {
	in := []float32{0, float32(math.Copysign(0, -1)), 1, -2.5, 65504, 1.0 / (1 << 24), 6.1e-5, 1 + 1.0/2048, 1 + 3.0/2048, 0.1}
	want := []float32{0, float32(math.Copysign(0, -1)), 1, -2.5, 65504, 1.0 / (1 << 24), 1023.0 / (1 << 24), 1, 1 + 4.0/2048, 0.099975586}
	f, _ := head.NewFloat16Features(1)
	if err := f.Append(in); err != nil {
		t.Fatal(err)
	}
	idx := make([]int, len(in))
	for i := range idx {
		idx[i] = i
	}
	got := make([]float32, len(in))
	if err := f.Rows(idx, got); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Errorf("%v → %v, want %v", in[i], got[i], want[i])
		}
	}
	if !slices.Equal(f.Bits()[:3], []uint16{0, 0x8000, 0x3c00}) {
		t.Errorf("bits %x", f.Bits()[:3])
	}
}
