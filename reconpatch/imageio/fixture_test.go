package imageio

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The fixtures are written by scripts/gen_image_fixtures.py (PIL 9.4,
// torchvision 0.14); testdata/manifest.json lists the cases.

type fixtureCase struct {
	Kind    string   `json:"kind"`
	Src     string   `json:"src"`
	Want    string   `json:"want"`
	Exact   bool     `json:"exact"`
	PILMode string   `json:"pil_mode"`
	Note    string   `json:"note"`
	W       int      `json:"w"`
	H       int      `json:"h"`
	Resize  int      `json:"resize"`
	Crop    int      `json:"crop"`
	Name    string   `json:"name"`
	Norm    string   `json:"norm"`
	Srcs    []string `json:"srcs"`
	Shape   []int    `json:"shape"`
	Decoded string   `json:"decoded"`
	Size    []int    `json:"size"`
}

func manifest(t testing.TB) []fixtureCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Cases []fixtureCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m.Cases
}

func casesOf(t testing.TB, kind string) []fixtureCase {
	var out []fixtureCase
	for _, c := range manifest(t) {
		if c.Kind == kind {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %q cases in testdata/manifest.json", kind)
	}
	return out
}

func testdata(name string) string { return filepath.Join("testdata", name) }

// mustDecode decodes a fixture file. Reference outputs are 8-bit RGB or L
// PNGs, whose decoding involves no conversion rule.
func mustDecode(t testing.TB, name string) RGB {
	t.Helper()
	img, err := DecodeFile(testdata(name), 0)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// diffStats compares two images: the number of differing channel values,
// the largest difference, and the fraction of values equal.
type diffStats struct {
	n, differ, max int
}

func (d diffStats) exactRate() float64 { return 1 - float64(d.differ)/float64(max(d.n, 1)) }

func compare(t testing.TB, got, want RGB) diffStats {
	t.Helper()
	if got.W != want.W || got.H != want.H {
		t.Fatalf("size %d×%d, want %d×%d", got.W, got.H, want.W, want.H)
	}
	d := diffStats{n: len(want.Pix)}
	for i, w := range want.Pix {
		e := int(got.Pix[i]) - int(w)
		if e < 0 {
			e = -e
		}
		if e != 0 {
			d.differ++
			d.max = max(d.max, e)
		}
	}
	return d
}

func readF32(t testing.TB, name string, n int) []float32 {
	t.Helper()
	b, err := os.ReadFile(testdata(name))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 4*n {
		t.Fatalf("%s: %d bytes, want %d", name, len(b), 4*n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func prod(s []int) int {
	n := 1
	for _, v := range s {
		n *= v
	}
	return n
}
