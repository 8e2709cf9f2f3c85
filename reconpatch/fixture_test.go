package reconpatch

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/reconpatch/rp/tensor"
)

// The references in testdata/fixtures.bin come from
// scripts/gen_reconpatch_fixtures.py (PyTorch 1.13 and scipy); the inputs are
// regenerated here with the same generator.

// fixtureGen is splitmix64, the script's Gen.
type fixtureGen struct{ s uint64 }

func (g *fixtureGen) next() uint64 {
	g.s += 0x9E3779B97F4A7C15
	z := g.s
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// uniform returns n float32 values k/2²³ − 1 in [−1, 1), exact in float32.
func (g *fixtureGen) uniform(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(float64(g.next()>>40)/float64(1<<23) - 1)
	}
	return out
}

func genClustered(seed uint64, n, d, clusters int, spread float64) []float32 {
	g := &fixtureGen{seed}
	centres := make([][]float64, clusters)
	for c := range centres {
		centres[c] = make([]float64, d)
		for j, v := range g.uniform(d) {
			centres[c][j] = 3 * float64(v)
		}
	}
	out := make([]float32, n*d)
	for i := range n {
		c := centres[i%clusters]
		for j, u := range g.uniform(d) {
			out[i*d+j] = float32(c[j] + spread*float64(u))
		}
	}
	return out
}

func genProjection(seed uint64, p, d int) []float32 {
	u := (&fixtureGen{seed}).uniform(p * d)
	w := make([]float32, p*d)
	s := 1 / math.Sqrt(float64(d))
	for i, v := range u {
		w[i] = float32(float64(v) * s)
	}
	return w
}

type fixtureArray struct {
	shape []int
	f32   []float32
	i32   []int
}

type fixtureFile struct {
	Cases  []map[string]any `json:"cases"`
	arrays map[string]fixtureArray
}

func loadFixtures(t testing.TB) *fixtureFile {
	t.Helper()
	raw, err := os.ReadFile("testdata/fixtures.bin")
	if err != nil {
		t.Fatalf("reading fixtures (regenerate with /usr/bin/python3 scripts/gen_reconpatch_fixtures.py): %v", err)
	}
	f, err := parseFixtures(raw)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func parseFixtures(raw []byte) (*fixtureFile, error) {
	r := bytes.NewReader(raw)
	magic := make([]byte, 8)
	if _, err := r.Read(magic); err != nil || string(magic) != "RPRCFIX1" {
		return nil, fmt.Errorf("fixtures: bad magic %q", magic)
	}
	var u32 uint32
	read := func(v any) error { return binary.Read(r, binary.LittleEndian, v) }
	if err := read(&u32); err != nil {
		return nil, err
	}
	meta := make([]byte, u32)
	if _, err := r.Read(meta); err != nil {
		return nil, err
	}
	f := &fixtureFile{arrays: map[string]fixtureArray{}}
	if err := json.Unmarshal(meta, f); err != nil {
		return nil, err
	}
	if err := read(&u32); err != nil {
		return nil, err
	}
	for range u32 {
		var nl uint16
		if err := read(&nl); err != nil {
			return nil, err
		}
		name := make([]byte, nl)
		if _, err := r.Read(name); err != nil {
			return nil, err
		}
		var hdr [2]uint8
		if err := read(&hdr); err != nil {
			return nil, err
		}
		a := fixtureArray{shape: make([]int, hdr[1])}
		size := 1
		for i := range a.shape {
			var s uint32
			if err := read(&s); err != nil {
				return nil, err
			}
			a.shape[i] = int(s)
			size *= int(s)
		}
		switch hdr[0] {
		case 0:
			a.f32 = make([]float32, size)
			if err := read(a.f32); err != nil {
				return nil, err
			}
		case 1:
			v := make([]int32, size)
			if err := read(v); err != nil {
				return nil, err
			}
			a.i32 = make([]int, size)
			for i, x := range v {
				a.i32[i] = int(x)
			}
		default:
			return nil, fmt.Errorf("fixtures: %s: dtype %d", name, hdr[0])
		}
		f.arrays[string(name)] = a
	}
	return f, nil
}

func (f *fixtureFile) array(t testing.TB, name string) fixtureArray {
	t.Helper()
	a, ok := f.arrays[name]
	if !ok {
		t.Fatalf("fixture array %q missing", name)
	}
	return a
}

func (f *fixtureFile) casesOf(kind string) []map[string]any {
	var out []map[string]any
	for _, c := range f.Cases {
		if c["kind"] == kind {
			out = append(out, c)
		}
	}
	return out
}

func num(c map[string]any, key string) int { return int(c[key].(float64)) }

func ints(v any) []int {
	var out []int
	for _, x := range v.([]any) {
		out = append(out, int(x.(float64)))
	}
	return out
}

// relErr is max|got − want| / max|want|, the error measure used against
// the references.
func relErr(got, want []float32) float64 {
	var maxDiff, maxRef float64
	for i := range want {
		maxDiff = max(maxDiff, math.Abs(float64(got[i])-float64(want[i])))
		maxRef = max(maxRef, math.Abs(float64(want[i])))
	}
	if maxRef == 0 {
		return maxDiff
	}
	return maxDiff / maxRef
}

func TestFixtureAggregation(t *testing.T) {
	f := loadFixtures(t)
	for _, c := range f.casesOf("agg") {
		name := c["name"].(string)
		t.Run(name, func(t *testing.T) {
			batch := num(c, "batch")
			cfg := FeatureConfig{PatchSize: num(c, "patch"), PretrainDim: num(c, "pretrain"), TargetDim: num(c, "target")}
			if c["aggregation"] == "concat" {
				cfg.Aggregation = AggregateConcat
			}
			taps := map[string]*tensor.Tensor{}
			for _, l := range c["layers"].([]any) {
				l := l.(map[string]any)
				ln := l["name"].(string)
				ch, h, w := num(l, "c"), num(l, "h"), num(l, "w")
				g := &fixtureGen{uint64(num(l, "seed"))}
				taps[ln] = tensor.FromSlice(g.uniform(batch*ch*h*w), batch, ch, h, w)
				cfg.Layers = append(cfg.Layers, ln)
			}
			got, grid, err := Aggregate(cfg, taps)
			if err != nil {
				t.Fatal(err)
			}
			want := f.array(t, name+"/out")
			wg := ints(c["grid"])
			if grid.H != wg[0] || grid.W != wg[1] {
				t.Fatalf("grid %v, want %v", grid, wg)
			}
			if fmt.Sprint(got.Shape()) != fmt.Sprint(want.shape) {
				t.Fatalf("shape %v, want %v", got.Shape(), want.shape)
			}
			e := relErr(got.Data(), want.f32)
			t.Logf("max |Δ| / max |ref| = %.3g", e)
			if e > 1e-6 {
				t.Errorf("relative error %.3g > 1e-6", e)
			}
		})
	}
}

func TestFixtureCoreset(t *testing.T) {
	f := loadFixtures(t)
	for _, c := range f.casesOf("coreset") {
		name := c["name"].(string)
		t.Run(name, func(t *testing.T) {
			n, d, p := num(c, "n"), num(c, "d"), num(c, "proj")
			x := genClustered(uint64(num(c, "data_seed")), n, d, num(c, "clusters"), c["spread"].(float64))
			cfg := CoresetConfig{Ratio: c["ratio"].(float64), ProjectionDim: p, Starts: ints(c["starts"])}
			if p != d {
				cfg.Projection = genProjection(uint64(num(c, "proj_seed")), p, d)
			}
			for _, m := range []struct {
				method CoresetMethod
				key    string
			}{{CoresetApproximate, "approx"}, {CoresetGreedy, "greedy"}} {
				cfg.Method = m.method
				want := f.array(t, name+"/"+m.key).i32
				for _, prune := range []bool{true, false} {
					got, err := selectCoreset(x, n, d, cfg, prune)
					if err != nil {
						t.Fatal(err)
					}
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("%s (prune %v): indices\n%v\nwant\n%v", m.key, prune, got, want)
					}
				}
			}
		})
	}
}

func TestFixtureMaps(t *testing.T) {
	f := loadFixtures(t)
	for _, c := range f.casesOf("map") {
		name := c["name"].(string)
		t.Run(name, func(t *testing.T) {
			grid, size := ints(c["grid"]), ints(c["size"])
			u := (&fixtureGen{uint64(num(c, "seed"))}).uniform(grid[0] * grid[1])
			for i, v := range u {
				u[i] = float32(math.Abs(float64(v))) * 3
			}
			cfg := MapConfig{Height: size[0], Width: size[1], Nearest: c["mode"] == "nearest",
				Sigma: c["sigma"].(float64), Truncate: c["truncate"].(float64)}
			if c["border"] == "mirror" {
				cfg.Border = BorderMirror
			}
			if want, ok := f.arrays[name+"/up"]; ok {
				noBlur := cfg
				noBlur.Sigma = 0
				up := AnomalyMap(u, Grid{grid[0], grid[1]}, noBlur)
				e := relErr(up, want.f32)
				t.Logf("upsampling: max |Δ| / max |ref| = %.3g", e)
				if e > 1e-6 {
					t.Errorf("upsampling relative error %.3g", e)
				}
			}
			got := AnomalyMap(u, Grid{grid[0], grid[1]}, cfg)
			e := relErr(got, f.array(t, name+"/smooth").f32)
			t.Logf("map: max |Δ| / max |ref| = %.3g", e)
			if e > 1e-6 {
				t.Errorf("map relative error %.3g", e)
			}
		})
	}
}
