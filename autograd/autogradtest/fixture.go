package autogradtest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"

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

// FixtureCase is one named case and its configuration.
type FixtureCase struct {
	Name string          `json:"name"` // prefix of the case's tensor names
	Cfg  json.RawMessage `json:"cfg"`  // the case's configuration; see Decode
}

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
	r := bytes.NewReader(raw)
	magic := make([]byte, len(FixtureMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != FixtureMagic {
		return nil, fmt.Errorf("bad magic %q", magic)
	}
	var metaLen uint32
	if err := binary.Read(r, binary.LittleEndian, &metaLen); err != nil {
		return nil, err
	}
	if int64(metaLen) > int64(r.Len()) {
		return nil, fmt.Errorf("JSON length %d beyond the file", metaLen)
	}
	meta := make([]byte, metaLen)
	if _, err := io.ReadFull(r, meta); err != nil {
		return nil, err
	}
	f := &Fixture{tensors: map[string]*tensor.Tensor{}}
	if err := json.Unmarshal(meta, f); err != nil {
		return nil, err
	}
	var count uint32
	if err := binary.Read(r, binary.LittleEndian, &count); err != nil {
		return nil, err
	}
	for range count {
		var nameLen uint16
		if err := binary.Read(r, binary.LittleEndian, &nameLen); err != nil {
			return nil, err
		}
		name := make([]byte, nameLen)
		if _, err := io.ReadFull(r, name); err != nil {
			return nil, err
		}
		var ndim uint8
		if err := binary.Read(r, binary.LittleEndian, &ndim); err != nil {
			return nil, err
		}
		dims32 := make([]uint32, ndim)
		if err := binary.Read(r, binary.LittleEndian, dims32); err != nil {
			return nil, err
		}
		dims, size := make([]int, ndim), 1
		for j, v := range dims32 {
			dims[j] = int(v)
			size *= int(v)
		}
		if size*4 > r.Len() {
			return nil, fmt.Errorf("tensor %q of shape %v: %d bytes left", name, dims, r.Len())
		}
		vals := make([]float32, size)
		if err := binary.Read(r, binary.LittleEndian, vals); err != nil {
			return nil, err
		}
		f.tensors[string(name)] = tensor.FromSlice(vals, dims...)
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%d trailing bytes", r.Len())
	}
	return f, nil
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

// Decode decodes the case's configuration into v, rejecting unknown fields
// (a misspelt field would silently test a default).
func (c FixtureCase) Decode(v any) error {
	dec := json.NewDecoder(bytes.NewReader(c.Cfg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("case %s: config %s: %w", c.Name, c.Cfg, err)
	}
	return nil
}
