package autogradtest

import (
	"fmt"
	"os"

	"github.com/reconpatch/rp/internal/fixture"
	"github.com/reconpatch/rp/tensor"
)

// FixtureMagic starts every fixture file of scripts/gen_autograd_fixtures.py.
const FixtureMagic = "RPAGFIX1"

// Fixture is one file of PyTorch reference data: cases, each with a JSON
// configuration and named float32 tensors.
//
// File format (integers little-endian):
//
//	magic   8 bytes "RPAGFIX1"
//	u32     length of the JSON that follows
//	JSON    {"cases": [{"name": str, "cfg": {...}}, ...]}
//	u32     number of tensors
//	per tensor: u16 name length, name ("<case>/<role>"),
//	            u8 ndim, ndim × u32 dims, float32 data (row-major)
type Fixture struct {
	Cases   []FixtureCase `json:"cases"` // in file order
	tensors map[string]*tensor.Tensor
}

// FixtureCase is one named case and its configuration (see Decode).
type FixtureCase = fixture.Case

// LoadFixture reads and parses a fixture file.
func LoadFixture(path string) (*Fixture, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w (regenerate with /usr/bin/python3 scripts/gen_autograd_fixtures.py)", err)
	}
	f, err := ParseFixture(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// ParseFixture parses the bytes of a fixture file.
func ParseFixture(raw []byte) (*Fixture, error) {
	cases, tensors, err := fixture.Parse(raw, FixtureMagic)
	if err != nil {
		return nil, err
	}
	return &Fixture{Cases: cases, tensors: tensors}, nil
}

// Case returns the case called name, or false.
func (f *Fixture) Case(name string) (FixtureCase, bool) {
	for _, c := range f.Cases {
		if c.Name == name {
			return c, true
		}
	}
	return FixtureCase{}, false
}

// Tensor returns tensor role of case c, or nil if there is none.
func (f *Fixture) Tensor(c FixtureCase, role string) *tensor.Tensor {
	return f.tensors[c.Name+"/"+role]
}
