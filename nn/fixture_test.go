package nn

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	rpfixture "github.com/reconpatch/rp/internal/fixture"
	"github.com/reconpatch/rp/tensor"
)

// The fixtures in testdata are written by scripts/gen_nn_fixtures.py (see its
// doc string for the format): per case, a JSON configuration and named
// float32 tensors, "<case>/<role>", holding the inputs, parameters and
// PyTorch's outputs (computed in float64).

const fixtureMagic = "RPNNFIX1"

// fixture is one testdata file.
type fixture struct {
	Cases   []fixtureCase `json:"cases"`
	tensors map[string]*tensor.Tensor
}

// fixtureCase is one configuration of a layer; Cfg is decoded by each test.
type fixtureCase = rpfixture.Case

// loadFixture reads testdata/name.
func loadFixture(t testing.TB, name string) *fixture {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("%v (regenerate with /usr/bin/python3 scripts/gen_nn_fixtures.py)", err)
	}
	f, err := parseFixture(raw)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

func parseFixture(raw []byte) (*fixture, error) {
	cases, tensors, err := rpfixture.Parse(raw, fixtureMagic)
	if err != nil {
		return nil, err
	}
	return &fixture{Cases: cases, tensors: tensors}, nil
}

// get returns tensor role of case c, failing the test if it is missing.
func (f *fixture) get(t testing.TB, c fixtureCase, role string) *tensor.Tensor {
	t.Helper()
	x := f.tensors[c.Name+"/"+role]
	if x == nil {
		t.Fatalf("fixture case %s has no tensor %q", c.Name, role)
	}
	return x
}

// opt returns tensor role of case c, or nil.
func (f *fixture) opt(c fixtureCase, role string) *tensor.Tensor { return f.tensors[c.Name+"/"+role] }

// decodeCfg decodes case c's configuration into v, failing the test on an
// unknown field.
func decodeCfg(t testing.TB, c fixtureCase, v any) {
	t.Helper()
	if err := c.Decode(v); err != nil {
		t.Fatal(err)
	}
}

// relTol is the bound on ‖got − want‖₂ / ‖want‖₂ against a float64 reference.
const relTol = 1e-5

// errStats returns the relative L2 error and maximum absolute error of got
// against want.
func errStats(got []float32, want []float64) (rel, maxAbs float64) {
	var num, den float64
	for i, w := range want {
		e := float64(got[i]) - w
		if math.IsNaN(e) && !(math.IsNaN(w) && math.IsNaN(float64(got[i]))) {
			return math.Inf(1), math.Inf(1)
		}
		if math.IsNaN(e) {
			continue
		}
		num += e * e
		den += w * w
		maxAbs = max(maxAbs, math.Abs(e))
	}
	if den == 0 {
		if num == 0 {
			return 0, 0
		}
		return math.Inf(1), maxAbs
	}
	return math.Sqrt(num / den), maxAbs
}

// checkClose fails the test if got differs from want in shape or by more than
// relTol in relative L2 error, and logs the errors.
func checkClose(t testing.TB, what string, got, want *tensor.Tensor) {
	t.Helper()
	if !sameShape(got.Shape(), want.Shape()) {
		t.Errorf("%s: shape %v, want %v", what, got.Shape(), want.Shape())
		return
	}
	checkSlice(t, what, got.Contiguous().Data(), to64(want.Contiguous().Data()))
}

func checkSlice(t testing.TB, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	rel, maxAbs := errStats(got, want)
	if !(rel <= relTol) {
		t.Errorf("%s: relative L2 error %.3g > %g (max abs error %.3g)", what, rel, relTol, maxAbs)
		return
	}
	if testing.Verbose() {
		t.Logf("%s: relative L2 error %.3g, max abs error %.3g", what, rel, maxAbs)
	}
}

func to64(s []float32) []float64 {
	d := make([]float64, len(s))
	for i, v := range s {
		d[i] = float64(v)
	}
	return d
}

func TestParseFixtureRejectsTruncated(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "misc.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseFixture(raw); err != nil {
		t.Fatalf("whole file: %v", err)
	}
	for _, n := range []int{0, 7, 20, len(raw) - 1} {
		if _, err := parseFixture(raw[:n]); err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
}
