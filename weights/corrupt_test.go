package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// loadMem reads a file of a known format from memory.
func loadMem(format Format, b []byte) (*StateDict, error) {
	switch format {
	case FormatTorchZip:
		return readTorchZip("mem.pth", bytes.NewReader(b), int64(len(b)))
	case FormatTorchLegacy:
		return readTorchLegacy("mem.pth", b)
	case FormatSafetensors:
		return readSafetensors("mem.safetensors", bytes.NewReader(b), int64(len(b)))
	}
	panic("format")
}

// memShards opens shards from a map.
func memShards(files map[string][]byte) shardOpener {
	return func(rel string) (io.ReadCloser, int64, error) {
		b, ok := files[rel]
		if !ok {
			return nil, 0, os.ErrNotExist
		}
		return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
	}
}

func tfjsFixture(t testing.TB) ([]byte, map[string][]byte) {
	shards := map[string][]byte{}
	for _, n := range []string{"group1-shard1of2.bin", "group1-shard2of2.bin", "group2-shard1of1.bin"} {
		shards[n] = readFixture(t, "tfjs/"+n)
	}
	return readFixture(t, "tfjs/model.json"), shards
}

// validate checks the invariants of a successful load.
func validate(t testing.TB, sd *StateDict) {
	for _, n := range sd.Names() {
		x := sd.Get(n)
		if x == nil || !x.IsContiguous() || len(x.Data()) != x.Size() {
			t.Fatalf("tensor %q is malformed", n)
		}
	}
}

var binaryFixtures = []struct {
	file   string
	format Format
}{
	{"torch_zip.pth", FormatTorchZip},
	{"torch_wrapped.pth", FormatTorchZip},
	{"torch_legacy.pth", FormatTorchLegacy},
	{"densenet_legacy.pth", FormatTorchLegacy},
	{"tiny.safetensors", FormatSafetensors},
}

// TestTruncated loads every proper prefix of every fixture: each must fail
// with an error (and none may panic).
func TestTruncated(t *testing.T) {
	for _, fx := range binaryFixtures {
		b := readFixture(t, fx.file)
		if sd, err := loadMem(fx.format, b); err != nil {
			t.Fatalf("%s: %v", fx.file, err)
		} else {
			validate(t, sd)
		}
		for n := 0; n < len(b); n++ {
			if _, err := loadMem(fx.format, b[:n]); err == nil {
				t.Errorf("%s truncated to %d of %d bytes loaded without error", fx.file, n, len(b))
			}
		}
	}
	js, shards := tfjsFixture(t)
	for n := 0; n < len(js); n++ {
		if _, err := parseTFJS("model.json", js[:n], memShards(shards)); err == nil {
			t.Errorf("model.json truncated to %d bytes loaded", n)
		}
	}
	for name, b := range shards {
		for n := 0; n < len(b); n++ {
			s := map[string][]byte{}
			for k, v := range shards {
				s[k] = v
			}
			s[name] = b[:n]
			_, err := parseTFJS("model.json", js, memShards(s))
			if err == nil || !strings.Contains(err.Error(), "truncated") {
				t.Errorf("%s truncated to %d bytes: %v", name, n, err)
			}
		}
	}
}

// TestCorrupted flips every byte of every fixture, and applies random
// multi-byte damage: loading may fail or succeed but must not panic, and a
// success must return well-formed tensors.
func TestCorrupted(t *testing.T) {
	for i, fx := range binaryFixtures {
		t.Run(fx.file, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewSource(int64(i)))
			orig := readFixture(t, fx.file)
			b := bytes.Clone(orig)
			for i := range orig {
				mask := []byte{0xff, 0x01, 0x80}[i%3]
				b[i] ^= mask
				if sd, err := loadMem(fx.format, b); err == nil {
					validate(t, sd)
				}
				b[i] ^= mask
			}
			for k := 0; k < 300; k++ {
				b := bytes.Clone(orig)
				for j := rng.Intn(8); j >= 0; j-- {
					b[rng.Intn(len(b))] = byte(rng.Intn(256))
				}
				if sd, err := loadMem(fx.format, b); err == nil {
					validate(t, sd)
				}
			}
		})
	}
	t.Run("tfjs", func(t *testing.T) {
		t.Parallel()
		js, shards := tfjsFixture(t)
		for i := range js {
			b := bytes.Clone(js)
			b[i] ^= 0x01
			if m, err := parseTFJS("model.json", b, memShards(shards)); err == nil {
				validate(t, m.Weights)
			}
		}
	})
}

// TestZipCRC: a flipped byte inside a stored storage fails its CRC.
func TestZipCRC(t *testing.T) {
	b := readFixture(t, "torch_zip.pth")
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == "torch_zip/data/0" {
			off, _ := f.DataOffset()
			c := bytes.Clone(b)
			c[off+3] ^= 0x10
			_, err := loadMem(FormatTorchZip, c)
			if err == nil || !strings.Contains(err.Error(), `storage "0"`) || !strings.Contains(err.Error(), "checksum") {
				t.Errorf("err = %v", err)
			}
			return
		}
	}
	t.Fatal("no storage 0")
}

// pk builds pickles by hand.
type pk struct{ bytes.Buffer }

func (p *pk) op(b ...byte) *pk { p.Write(b); return p }
func (p *pk) str(s string) *pk {
	p.op(opBinUnicode)
	binary.Write(p, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
	return p
}
func (p *pk) int(v int64) *pk {
	if v == int64(int32(v)) {
		p.op(opBinInt)
		binary.Write(p, binary.LittleEndian, int32(v))
	} else {
		p.op(opLong1, 8)
		binary.Write(p, binary.LittleEndian, v)
	}
	return p
}
func (p *pk) ints(vs ...int64) *pk {
	p.op(opMark)
	for _, v := range vs {
		p.int(v)
	}
	return p.op(opTuple)
}
func (p *pk) global(mod, name string) *pk {
	p.op(opGlobal)
	p.WriteString(mod + "\n" + name + "\n")
	return p
}

type fakeTensor struct {
	name, storage, key string
	numel              int64
	offset             int64
	size, stride       []int64
	view               []int64 // legacy view_metadata (offset, size), or nil
	param              bool    // wrap in _rebuild_parameter, as nn.Parameter pickles
}

// statePickle pickles {name: tensor...} as torch does.
func statePickle(ts []fakeTensor, legacy bool) []byte {
	var p pk
	p.op(opProto, 2, opEmptyDict, opMark)
	for _, t := range ts {
		p.str(t.name)
		if t.param {
			p.global("torch._utils", "_rebuild_parameter").op(opMark)
		}
		p.global("torch._utils", "_rebuild_tensor_v2")
		p.op(opMark, opMark)
		p.str("storage").global("torch", t.storage).str(t.key).str("cpu").int(t.numel)
		if legacy {
			if t.view != nil {
				p.op(opMark).str(t.key + "v").int(t.view[0]).int(t.view[1]).op(opTuple)
			} else {
				p.op(opNone)
			}
		}
		p.op(opTuple, opBinPersID)
		p.int(t.offset).ints(t.size...).ints(t.stride...).op(opNewFalse)
		p.global("collections", "OrderedDict").op(opEmptyTuple, opReduce)
		p.op(opTuple, opReduce)
		if t.param {
			p.op(opNewTrue).global("collections", "OrderedDict").op(opEmptyTuple, opReduce, opTuple, opReduce)
		}
	}
	p.op(opSetItems, opStop)
	return p.Bytes()
}

// torchZip builds a zip checkpoint from a pickle and storages.
func torchZip(pkl []byte, storages map[string][]byte, extra map[string]string) []byte {
	return torchZipMethod(zip.Store, pkl, storages, extra)
}

func torchZipMethod(method uint16, pkl []byte, storages map[string][]byte, extra map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte) {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: "arch/" + name, Method: method})
		w.Write(b)
	}
	add("data.pkl", pkl)
	for _, k := range sortedKeys(storages) {
		add("data/"+k, storages[k])
	}
	for _, k := range sortedKeys(extra) {
		add(k, []byte(extra[k]))
	}
	zw.Close()
	return buf.Bytes()
}

// torchLegacy builds a legacy checkpoint.
func torchLegacy(pkl []byte, keys []string, storages map[string][]byte, counts map[string]uint64) []byte {
	var b bytes.Buffer
	b.Write([]byte{opProto, 2, opLong1, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, opStop})
	b.Write([]byte{opProto, 2, opBinInt2, 0xe9, 0x03, opStop})
	b.Write([]byte{opProto, 2, opEmptyDict, opStop})
	b.Write(pkl)
	var p pk
	p.op(opProto, 2, opEmptyList, opMark)
	for _, k := range keys {
		p.str(k)
	}
	p.op(opAppends, opStop)
	b.Write(p.Bytes())
	for _, k := range keys {
		binary.Write(&b, binary.LittleEndian, counts[k])
		b.Write(storages[k])
	}
	return b.Bytes()
}

func f32bytes(order binary.ByteOrder, vs ...float32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		order.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func seq(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)
	}
	return v
}

func TestTorchCrafted(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	one := func(ft fakeTensor) []fakeTensor { return []fakeTensor{ft} }
	f := func(name, key string, numel, off int64, size, stride []int64) fakeTensor {
		return fakeTensor{name: name, storage: "FloatStorage", key: key, numel: numel, offset: off, size: size, stride: stride}
	}
	cases := []struct {
		name    string
		file    []byte
		format  Format
		wantErr string    // substring; "" for success
		want    []float32 // values of tensor "w" on success
	}{
		{"ok", torchZip(statePickle(one(f("w", "0", 6, 0, []int64{2, 3}, []int64{3, 1})), false),
			map[string][]byte{"0": f32bytes(le, seq(6)...)}, nil), FormatTorchZip, "", seq(6)},
		{"transposed with offset", torchZip(statePickle(one(f("w", "0", 7, 1, []int64{3, 2}, []int64{1, 3})), false),
			map[string][]byte{"0": f32bytes(le, seq(7)...)}, nil), FormatTorchZip, "", []float32{1, 4, 2, 5, 3, 6}},
		{"deflated", torchZipMethod(zip.Deflate, statePickle(one(f("w", "0", 6, 0, []int64{2, 3}, []int64{3, 1})), false),
			map[string][]byte{"0": f32bytes(le, seq(6)...)}, nil), FormatTorchZip, "", seq(6)},
		{"parameter", torchZip(statePickle([]fakeTensor{{name: "w", storage: "HalfStorage", key: "0", numel: 2, size: []int64{2}, stride: []int64{1}, param: true}}, false),
			map[string][]byte{"0": {0x00, 0x3c, 0x00, 0xc0}}, nil), FormatTorchZip, "", []float32{1, -2}},
		{"big endian", torchZip(statePickle(one(f("w", "0", 3, 0, []int64{3}, []int64{1})), false),
			map[string][]byte{"0": f32bytes(be, 1.5, -2, 3)}, map[string]string{"byteorder": "big"}), FormatTorchZip, "", []float32{1.5, -2, 3}},
		{"bad byte order", torchZip(statePickle(one(f("w", "0", 3, 0, []int64{3}, []int64{1})), false),
			map[string][]byte{"0": f32bytes(le, 1, 2, 3)}, map[string]string{"byteorder": "middle"}), FormatTorchZip, "byte order", nil},
		{"truncated storage", torchZip(statePickle(one(f("w", "3", 1024, 0, []int64{1024}, []int64{1})), false),
			map[string][]byte{"3": make([]byte, 100)}, nil), FormatTorchZip, `weights: mem.pth: storage "3" truncated: need 4096 bytes, have 100`, nil},
		{"huge storage", torchZip(statePickle(one(f("w", "0", 1<<40, 0, []int64{1 << 40}, []int64{1})), false),
			map[string][]byte{"0": make([]byte, 16)}, nil), FormatTorchZip, `storage "0" truncated: need 4398046511104 bytes, have 16`, nil},
		{"absurd storage", torchZip(statePickle(one(f("w", "0", 1<<62, 0, []int64{1}, []int64{1})), false),
			map[string][]byte{"0": make([]byte, 16)}, nil), FormatTorchZip, "bad element count", nil},
		{"missing storage", torchZip(statePickle(one(f("w", "0", 2, 0, []int64{2}, []int64{1})), false),
			nil, nil), FormatTorchZip, `archive has no entry arch/data/0`, nil},
		{"view out of bounds", torchZip(statePickle(one(f("w", "0", 6, 2, []int64{2, 3}, []int64{3, 1})), false),
			map[string][]byte{"0": f32bytes(le, seq(6)...)}, nil), FormatTorchZip, `tensor "w": view (offset 2, size [2 3], stride [3 1]) reaches element 7`, nil},
		{"broadcast view", torchZip(statePickle(one(f("w", "0", 1, 0, []int64{1 << 30}, []int64{0})), false),
			map[string][]byte{"0": f32bytes(le, 1)}, nil), FormatTorchZip, "broadcast views are not supported", nil},
		{"too many dims", torchZip(statePickle(one(f("w", "0", 1, 0, make([]int64, 65), make([]int64, 65))), false),
			map[string][]byte{"0": f32bytes(le, 1)}, nil), FormatTorchZip, "at most 64 ints", nil},
		{"negative size", torchZip(statePickle(one(f("w", "0", 1, 0, []int64{-1}, []int64{1})), false),
			map[string][]byte{"0": f32bytes(le, 1)}, nil), FormatTorchZip, "bad size", nil},
		{"complex", torchZip(statePickle(one(fakeTensor{name: "w", storage: "ComplexFloatStorage", key: "0", numel: 1, size: []int64{1}, stride: []int64{1}}), false),
			map[string][]byte{"0": make([]byte, 8)}, nil), FormatTorchZip, "complex64 (torch.ComplexFloatStorage) are not supported", nil},
		{"unknown storage type", torchZip(statePickle(one(fakeTensor{name: "w", storage: "FancyStorage", key: "0", numel: 1, size: []int64{1}, stride: []int64{1}}), false),
			map[string][]byte{"0": make([]byte, 8)}, nil), FormatTorchZip, "unsupported global torch.FancyStorage", nil},
		{"evil global", torchZip(new(pk).op(opProto, 2).global("os", "system").str("rm -rf /").op(opTuple1, opReduce, opStop).Bytes(),
			nil, nil), FormatTorchZip, "unsupported global os.system", nil},
		{"not a dict", torchZip(new(pk).op(opProto, 2, opEmptyList, opStop).Bytes(), nil, nil), FormatTorchZip, "holds a list", nil},
		{"no data.pkl", torchZip(nil, nil, nil)[:0], FormatTorchZip, "not a valid zip", nil},
		{"legacy ok with view", torchLegacy(statePickle([]fakeTensor{{name: "w", storage: "FloatStorage", key: "k", numel: 8,
			offset: 1, size: []int64{2}, stride: []int64{2}, view: []int64{3, 4}}}, true),
			[]string{"k"}, map[string][]byte{"k": f32bytes(le, seq(8)...)}, map[string]uint64{"k": 8}), FormatTorchLegacy, "", []float32{4, 6}},
		{"legacy view beyond storage", torchLegacy(statePickle([]fakeTensor{{name: "w", storage: "FloatStorage", key: "k", numel: 8,
			size: []int64{2}, stride: []int64{1}, view: []int64{7, 4}}}, true),
			[]string{"k"}, map[string][]byte{"k": f32bytes(le, seq(8)...)}, map[string]uint64{"k": 8}), FormatTorchLegacy, "exceeds storage", nil},
		{"legacy huge count", torchLegacy(statePickle(one(f("w", "k", 2, 0, []int64{2}, []int64{1})), true),
			[]string{"k"}, map[string][]byte{"k": f32bytes(le, 1, 2)}, map[string]uint64{"k": 1 << 39}), FormatTorchLegacy,
			`storage "k" truncated: need 2199023255552 bytes, have 8`, nil},
		{"legacy absurd count", torchLegacy(statePickle(one(f("w", "k", 2, 0, []int64{2}, []int64{1})), true),
			[]string{"k"}, map[string][]byte{"k": f32bytes(le, 1, 2)}, map[string]uint64{"k": 1 << 63}), FormatTorchLegacy, "bad element count", nil},
		{"legacy unknown key", torchLegacy(statePickle(one(f("w", "k", 2, 0, []int64{2}, []int64{1})), true),
			[]string{"z"}, map[string][]byte{"z": f32bytes(le, 1, 2)}, map[string]uint64{"z": 2}), FormatTorchLegacy, `storage "z" is listed but no tensor uses it`, nil},
		{"legacy storage without data", torchLegacy(statePickle(one(f("w", "k", 2, 0, []int64{2}, []int64{1})), true),
			nil, nil, nil), FormatTorchLegacy, `storage "k" has no data`, nil},
		{"legacy bad magic", append([]byte{opProto, 2, opBinInt1, 7, opStop}, readFixture(t, "torch_legacy.pth")...), FormatTorchLegacy, "magic number", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			sd, err := loadMem(c.format, c.file)
			runtime.ReadMemStats(&after)
			if d := after.TotalAlloc - before.TotalAlloc; d > 64<<20 {
				t.Errorf("allocated %d bytes", d)
			}
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := sd.Get("w").Data(); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("w = %v, want %v", got, c.want)
			}
		})
	}
}

func TestPickleErrors(t *testing.T) {
	cases := map[string][]byte{
		"empty":            {},
		"no stop":          {opProto, 2, opNone},
		"protocol 6":       {opProto, 6, opNone, opStop},
		"huge unicode8":    {opProto, 4, opBinUnicode8, 0, 0, 0, 0, 0, 0, 0, 0x40, 'a', opStop},
		"huge bytes8":      {opProto, 4, opBinBytes8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, opStop},
		"huge long4":       {opProto, 2, opLong4, 0xff, 0xff, 0xff, 0x7f, 1, opStop},
		"negative long4":   {opProto, 2, opLong4, 0xff, 0xff, 0xff, 0xff, 1, opStop},
		"huge frame":       {opProto, 4, opFrame, 0, 0, 0, 0, 0, 0, 0, 0x10, opNone, opStop},
		"huge binstring":   {opProto, 2, opBinString, 0xff, 0xff, 0xff, 0x7f, opStop},
		"negative binstr":  {opProto, 2, opBinString, 0xff, 0xff, 0xff, 0xff, opStop},
		"underflow":        {opProto, 2, opTuple2, opStop},
		"pop past mark":    {opProto, 2, opNone, opMark, opTuple1, opStop},
		"no mark":          {opProto, 2, opTuple, opStop},
		"memo miss":        {opProto, 2, opBinGet, 3, opStop},
		"long memo miss":   {opProto, 2, opLongBinGet, 0xff, 0xff, 0xff, 0xff, opStop},
		"put empty":        {opProto, 2, opBinPut, 0, opStop},
		"append to int":    {opProto, 2, opBinInt1, 1, opNone, opAppend, opStop},
		"setitem on list":  {opProto, 2, opEmptyList, opNone, opNone, opSetItem, opStop},
		"odd setitems":     {opProto, 2, opEmptyDict, opMark, opNone, opSetItems, opStop},
		"list key":         {opProto, 2, opEmptyDict, opEmptyList, opNone, opSetItem, opStop},
		"call int":         {opProto, 2, opBinInt1, 1, opEmptyTuple, opReduce, opStop},
		"unterminated":     {opProto, 2, opGlobal, 'o', 's'},
		"stack global int": {opProto, 4, opBinInt1, 1, opBinInt1, 1, opStackGlobal, opStop},
		"two values":       {opProto, 2, opNone, opNone, opStop},
		"bad opcode":       {opProto, 2, 'I', '1', '\n', opStop},
		"unknown opcode":   {opProto, 2, 0xfe, opStop},
		"build on list":    {opProto, 2, opEmptyList, opNone, opBuild, opStop},
		"persid":           {opProto, 2, opNone, opBinPersID, opStop},
		"persid str":       {opProto, 2, opPersID, 'x', '\n', opStop},
		"newobj_ex kwargs": {opProto, 4, opGlobal, 'c', 'o', 'l', 'l', 'e', 'c', 't', 'i', 'o', 'n', 's', '\n', 'O', 'r', 'd', 'e', 'r', 'e', 'd', 'D', 'i', 'c', 't', '\n', opEmptyTuple, opEmptyDict, opNone, opNone, opSetItem, opNewObjEx, opStop},
	}
	for name, b := range cases {
		l := newTorchLoader("x")
		if v, err := l.unpickler(b).load(); err == nil {
			t.Errorf("%s: no error, got %v", name, v)
		}
	}
	// One large list rebuilt into a dict many times: stopped by the budget.
	var q pk
	q.op(opProto, 2, opEmptyList, opMark)
	for i := 0; i < 1000; i++ {
		q.str("k").int(int64(i)).op(opTuple2)
	}
	q.op(opAppends, opBinPut, 0, opPop, opEmptyList, opMark)
	for i := 0; i < 5000; i++ {
		q.global("collections", "OrderedDict").op(opBinGet, 0, opTuple1, opReduce)
	}
	q.op(opAppends, opStop)
	if _, err := newTorchLoader("x").unpickler(q.Bytes()).load(); err == nil || !strings.Contains(err.Error(), "too many times") {
		t.Errorf("expensive pickle: %v", err)
	}

	// Accepted protocol 4 constructs.
	var p pk
	p.op(opProto, 4, opFrame, 0, 0, 0, 0, 0, 0, 0, 0)
	p.op(opShortBinUnicode, 11).WriteString("collections")
	p.op(opMemoize, opShortBinUnicode, 11).WriteString("OrderedDict")
	p.op(opMemoize, opStackGlobal, opMemoize, opEmptyTuple, opNewObj, opMemoize)
	p.op(opShortBinUnicode, 1, 'k', opBinInt1, 5, opSetItem)
	p.op(opBinGet, 2, opEmptyTuple, opReduce, opPop)
	p.op(opShortBinBytes, 2, 'h', 'i', opPop, opBinFloat, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, opPop)
	p.op(opLong1, 0, opPop, opLong1, 1, 0xff, opPop, opNewTrue, opPop, opDup, opPop, opStop)
	v, err := newTorchLoader("x").unpickler(p.Bytes()).load()
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := v.(*pyDict); !ok || len(d.keys) != 1 || d.vals[0] != int64(5) {
		t.Errorf("got %#v", v)
	}
	for in, want := range map[string]string{"": "0", "\xff": "-1", "\x00\x80": "-32768", "\x01\x00\x00\x00\x00\x00\x00\x00\x00\x80": "-604462909807314587353087"} {
		if got := fmt.Sprint(decodeLong([]byte(in))); got != want {
			t.Errorf("decodeLong(%x) = %s, want %s", in, got, want)
		}
	}
}

func TestSafetensorsErrors(t *testing.T) {
	mk := func(header string, data []byte) []byte {
		b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
		return append(append(b, header...), data...)
	}
	withLen := func(n uint64) []byte {
		b := readFixture(t, "tiny.safetensors")
		binary.LittleEndian.PutUint64(b, n)
		return b
	}
	good := readFixture(t, "tiny.safetensors")
	cases := map[string]struct {
		file []byte
		want string
	}{
		"short":              {[]byte{1, 2, 3}, "truncated"},
		"header length 0":    {withLen(0), "too short"},
		"header length 1":    {withLen(1), "too short"},
		"header length -8":   {withLen(uint64(len(good) - 16)), "header"},
		"header length +1":   {withLen(uint64(len(good) - 7)), "exceeds"},
		"header length huge": {withLen(1 << 62), "truncated: header length 4611686018427387904"},
		"not an object":      {mk(`[1, 2]  `, nil), "does not start with '{'"},
		"trailing garbage":   {mk(`{} x`, nil), "after the JSON object"},
		"bad json":           {mk(`{"a":}`, nil), "header"},
		"duplicate":          {mk(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), `duplicate entry "a"`},
		"bad dtype":          {mk(`{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}`, make([]byte, 8)), `unsupported dtype "C64"`},
		"no dtype":           {mk(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), "needs dtype"},
		"shape vs bytes":     {mk(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)), "needs 8 bytes"},
		"huge shape":         {mk(`{"a":{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[0,4398046511104]}}`, make([]byte, 4)), `truncated: tensor "a" ends at byte 4398046511104`},
		"absurd shape":       {mk(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, make([]byte, 4)), "invalid shape"},
		"negative shape":     {mk(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, make([]byte, 4)), "invalid shape"},
		"reversed offsets":   {mk(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, make([]byte, 4)), "invalid data_offsets"},
		"three offsets":      {mk(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, make([]byte, 4)), "2"},
		"overlap":            {mk(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "overlaps"},
		"gap":                {mk(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "belong to no tensor"},
		"tail":               {mk(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 8)), "at the end of the data section"},
		"beyond":             {mk(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 2)), "truncated"},
		"bad metadata":       {mk(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
		"empty name":         {mk(`{"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), "invalid tensor name"},
	}
	for name, c := range cases {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := loadMem(FormatSafetensors, c.file)
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "mem.safetensors") {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > 64<<20 {
			t.Errorf("%s: allocated %d bytes", name, d)
		}
	}
	// Empty file with only metadata, and a header padded with spaces, load.
	sd, err := loadMem(FormatSafetensors, mk(`{"__metadata__":{"k":"v"}}      `, nil))
	if err != nil || sd.Len() != 0 || sd.Metadata["k"] != "v" {
		t.Errorf("metadata-only: %v %v", sd, err)
	}
}

func TestTFJSErrors(t *testing.T) {
	js, shards := tfjsFixture(t)
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(js, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	layers := func(m map[string]any) []any {
		return m["modelTopology"].(map[string]any)["model_config"].(map[string]any)["config"].(map[string]any)["layers"].([]any)
	}
	manifest := func(m map[string]any, g int) map[string]any {
		return m["weightsManifest"].([]any)[g].(map[string]any)
	}
	weight := func(m map[string]any, g, i int) map[string]any {
		return manifest(m, g)["weights"].([]any)[i].(map[string]any)
	}
	cases := map[string]struct {
		json []byte
		want string
	}{
		"escaping path":  {edit(func(m map[string]any) { manifest(m, 0)["paths"].([]any)[0] = "../group1-shard1of2.bin" }), "leaves the model's folder"},
		"absolute path":  {edit(func(m map[string]any) { manifest(m, 0)["paths"].([]any)[0] = "/etc/passwd" }), "leaves the model's folder"},
		"missing shard":  {edit(func(m map[string]any) { manifest(m, 0)["paths"].([]any)[0] = "nope.bin" }), `shard "nope.bin"`},
		"bigger shape":   {edit(func(m map[string]any) { weight(m, 0, 1)["shape"] = []int{5} }), "weights group 0 truncated: manifest needs 420 bytes"},
		"smaller shape":  {edit(func(m map[string]any) { weight(m, 0, 1)["shape"] = []int{3} }), "too long"},
		"huge shape":     {edit(func(m map[string]any) { weight(m, 0, 1)["shape"] = []int{1 << 20, 1 << 20} }), "more than"},
		"negative shape": {edit(func(m map[string]any) { weight(m, 0, 1)["shape"] = []int{-4} }), "invalid shape"},
		"string dtype":   {edit(func(m map[string]any) { weight(m, 0, 1)["dtype"] = "string" }), `unsupported dtype "string"`},
		"bad quant":      {edit(func(m map[string]any) { weight(m, 1, 1)["quantization"] = map[string]any{"dtype": "int4"} }), "unsupported quantization"},
		"quant no scale": {edit(func(m map[string]any) { weight(m, 1, 1)["quantization"] = map[string]any{"dtype": "uint8"} }), "without scale"},
		"duplicate name": {edit(func(m map[string]any) { weight(m, 1, 1)["name"] = "conv1/bias" }), `weight "conv1/bias" listed twice`},
		"unknown inbound": {edit(func(m map[string]any) {
			layers(m)[6].(map[string]any)["inbound_nodes"] = [][][]any{{{"ghost", 0, 0, map[string]any{}}}}
		}), "ghost (input of add)"},
		"duplicate layer": {edit(func(m map[string]any) { layers(m)[2].(map[string]any)["name"] = "pad" }), `two layers named "pad"`},
		"bad kernel":      {edit(func(m map[string]any) { layers(m)[2].(map[string]any)["config"].(map[string]any)["kernel_size"] = "x" }), `layer "conv1" (Conv2D): config: kernel_size`},
		"zero strides": {edit(func(m map[string]any) {
			layers(m)[2].(map[string]any)["config"].(map[string]any)["strides"] = []int{0, 1}
		}), "invalid"},
		"bad ref":     {edit(func(m map[string]any) { layers(m)[6].(map[string]any)["inbound_nodes"] = [][]any{{"x"}} }), "bad tensor reference"},
		"graph model": {edit(func(m map[string]any) { m["format"] = "graph-model" }), "not a layers model"},
		"unknown class": {edit(func(m map[string]any) {
			m["modelTopology"].(map[string]any)["model_config"].(map[string]any)["class_name"] = "Weird"
		}), `unsupported model class "Weird"`},
		"no topology": {edit(func(m map[string]any) { delete(m, "modelTopology") }), "no modelTopology"},
		"unknown output": {edit(func(m map[string]any) {
			m["modelTopology"].(map[string]any)["model_config"].(map[string]any)["config"].(map[string]any)["output_layers"] = [][]any{{"zz", 0, 0}}
		}), "zz (model input or output)"},
	}
	for name, c := range cases {
		_, err := parseTFJS("m/model.json", c.json, memShards(shards))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "m/model.json") {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
}

// TestTFJSVariants covers topology forms other converters write: a bare
// model config, Keras 3 inbound nodes, and a Sequential model.
func TestTFJSVariants(t *testing.T) {
	js, shards := tfjsFixture(t)
	var m map[string]any
	json.Unmarshal(js, &m)
	top := m["modelTopology"].(map[string]any)
	mc := top["model_config"].(map[string]any)
	cfg := mc["config"].(map[string]any)
	for _, l := range cfg["layers"].([]any) {
		l := l.(map[string]any)
		var args []any
		for _, node := range l["inbound_nodes"].([]any) {
			for _, r := range node.([]any) {
				args = append(args, map[string]any{"class_name": "__keras_tensor__",
					"config": map[string]any{"shape": []any{nil, 4}, "keras_history": []any{r.([]any)[0], 0, 0}}})
			}
		}
		if len(args) == 1 {
			l["inbound_nodes"] = []any{map[string]any{"args": args, "kwargs": map[string]any{}}}
		} else if len(args) > 1 {
			l["inbound_nodes"] = []any{map[string]any{"args": []any{args}, "kwargs": map[string]any{}}}
		}
	}
	mc["class_name"] = "Functional"
	m["modelTopology"] = mc // bare {class_name, config}
	b, _ := json.Marshal(m)
	model, err := parseTFJS("model.json", b, memShards(shards))
	if err != nil {
		t.Fatal(err)
	}
	if got := model.Layer("add").InputNames(); fmt.Sprint(got) != "[conv2 act1]" || model.ClassName != "Functional" {
		t.Errorf("keras 3 add inputs %q", got)
	}

	// Sequential without inbound nodes: layers chain.
	for _, l := range cfg["layers"].([]any) {
		delete(l.(map[string]any), "inbound_nodes")
	}
	delete(cfg, "input_layers")
	delete(cfg, "output_layers")
	mc["class_name"] = "Sequential"
	b, _ = json.Marshal(m)
	model, err = parseTFJS("model.json", b, memShards(shards))
	if err != nil {
		t.Fatal(err)
	}
	if got := model.Layer("conv1").InputNames(); fmt.Sprint(got) != "[pad]" || fmt.Sprint(model.Outputs) != "[{fc 0 0}]" {
		t.Errorf("sequential conv1 inputs %q, outputs %v", got, model.Outputs)
	}
}

// The fuzz targets below run their seed corpus under go test; run them
// with, e.g., go test -fuzz FuzzLoadTorchZip ./weights.

func FuzzLoadTorchZip(f *testing.F) {
	f.Add(readFixture(f, "torch_zip.pth"))
	f.Add(readFixture(f, "torch_wrapped.pth"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if sd, err := loadMem(FormatTorchZip, b); err == nil {
			validate(t, sd)
		}
	})
}

func FuzzLoadTorchLegacy(f *testing.F) {
	f.Add(readFixture(f, "torch_legacy.pth"))
	f.Add(readFixture(f, "densenet_legacy.pth"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if sd, err := loadMem(FormatTorchLegacy, b); err == nil {
			validate(t, sd)
		}
	})
}

func FuzzLoadSafetensors(f *testing.F) {
	f.Add(readFixture(f, "tiny.safetensors"))
	f.Add([]byte("\x08\x00\x00\x00\x00\x00\x00\x00{}      "))
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := loadMem(FormatSafetensors, b)
		if err != nil {
			return
		}
		validate(t, sd)
		// Whatever loads, writes and reads back identically as F32.
		var buf bytes.Buffer
		if err := WriteSafetensors(&buf, sd, sd.Metadata, F32); err != nil {
			return // e.g. a tensor named "__metadata__" can't be written
		}
		back, err := loadMem(FormatSafetensors, buf.Bytes())
		if err != nil || back.Len() != sd.Len() {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzLoadTFJS(f *testing.F) {
	js, shards := tfjsFixture(f)
	f.Add(js, shards["group1-shard1of2.bin"])
	f.Fuzz(func(t *testing.T, js, shard []byte) {
		s := map[string][]byte{}
		for k, v := range shards {
			s[k] = v
		}
		s["group1-shard1of2.bin"] = shard
		if m, err := parseTFJS("model.json", js, memShards(s)); err == nil {
			validate(t, m.Weights)
		}
	})
}

func FuzzPickle(f *testing.F) {
	b := readFixture(f, "torch_legacy.pth")
	f.Add(b)
	zr, _ := zip.NewReader(bytes.NewReader(readFixture(f, "torch_wrapped.pth")), int64(len(readFixture(f, "torch_wrapped.pth"))))
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, "data.pkl") {
			rc, _ := zf.Open()
			p, _ := io.ReadAll(rc)
			f.Add(p)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		newTorchLoader("x").unpickler(b).load()
	})
}

// TestLegacyFileNames checks that errors from files on disk name the file.
func TestLegacyFileNames(t *testing.T) {
	b := readFixture(t, "torch_legacy.pth")
	p := filepath.Join(t.TempDir(), "model.pth")
	os.WriteFile(p, b[:len(b)-10], 0o644)
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), "weights: "+p+": storage ") || !strings.Contains(err.Error(), "truncated: need") {
		t.Errorf("err = %v", err)
	}
}
