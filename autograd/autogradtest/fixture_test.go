package autogradtest

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

// fixtureBytes builds a fixture file with one case and one tensor.
func fixtureBytes(meta string, dims []uint32, vals []float32) []byte {
	b := []byte(FixtureMagic)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(meta)))
	b = append(b, meta...)
	b = binary.LittleEndian.AppendUint32(b, 1)
	name := "c/x"
	b = binary.LittleEndian.AppendUint16(b, uint16(len(name)))
	b = append(b, name...)
	b = append(b, byte(len(dims)))
	for _, d := range dims {
		b = binary.LittleEndian.AppendUint32(b, d)
	}
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func TestParseFixture(t *testing.T) {
	const meta = `{"cases":[{"name":"c","cfg":{"k":3}}]}`
	good := fixtureBytes(meta, []uint32{2}, []float32{1.5, -2})
	f, err := ParseFixture(good)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := f.Case("c")
	if !ok || f.Tensor(c, "x").At(1) != -2 {
		t.Fatalf("case %v, tensor %v", ok, f.Tensor(c, "x"))
	}
	var cfg struct{ K int }
	if err := c.Decode(&cfg); err != nil || cfg.K != 3 {
		t.Fatalf("decode: %v, %+v", err, cfg)
	}
	var wrong struct{ J int }
	if err := c.Decode(&wrong); err == nil {
		t.Error("unknown field accepted")
	}
	for _, tc := range []struct {
		name string
		raw  []byte
		want string
	}{
		{"magic", append([]byte("XXXXXXXX"), good[8:]...), "magic"},
		{"truncated", good[:len(good)-2], "bytes left"},
		{"trailing", append(append([]byte{}, good...), 0), "trailing"},
		{"json", fixtureBytes(`{"cases":`, nil, nil), "unexpected end"},
	} {
		if _, err := ParseFixture(tc.raw); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}
