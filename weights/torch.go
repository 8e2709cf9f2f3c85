package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"sort"
	"strings"

	"github.com/reconpatch/rp/tensor"
)

// torchStorageType is a torch.<X>Storage class named in a persistent id.
type torchStorageType struct {
	name  string // e.g. "FloatStorage"
	dtype DType
}

// storageRef is one storage of the file: its key, type and, once read,
// its bytes.
type storageRef struct {
	key   string
	st    *torchStorageType
	numel int64 // element count declared by the persistent id

	loaded bool
	raw    []byte // little-endian unless order says otherwise
	n      int64  // elements available in raw
	order  binary.ByteOrder
}

// storageSlice is what a persistent id yields: a whole storage or, in old
// legacy files, a view of part of one (view_metadata).
type storageSlice struct {
	ref    *storageRef
	offset int64 // in elements
	numel  int64 // -1: to the end of the storage
}

// torchTensor is a tensor whose storage may not have been read yet.
type torchTensor struct {
	storage      *storageSlice
	offset       int64
	size, stride []int64
}

var torchStorageTypes = map[string]DType{
	"FloatStorage":    F32,
	"HalfStorage":     F16,
	"BFloat16Storage": BF16,
	"DoubleStorage":   F64,
	"LongStorage":     I64,
	"IntStorage":      I32,
	"ShortStorage":    I16,
	"CharStorage":     I8,
	"ByteStorage":     U8,
	"BoolStorage":     Bool,
}

// Storage types torch can save that rp cannot convert, with their dtype.
var torchUnsupportedStorage = map[string]string{
	"ComplexFloatStorage":  "complex64",
	"ComplexDoubleStorage": "complex128",
	"ComplexHalfStorage":   "complex32",
	"QInt8Storage":         "qint8",
	"QUInt8Storage":        "quint8",
	"QInt32Storage":        "qint32",
	"QUInt4x2Storage":      "quint4x2",
	"QUInt2x4Storage":      "quint2x4",
	"UntypedStorage":       "untyped",
}

// maxDims bounds the number of dimensions a tensor may have.
const maxDims = 64

// torchLoader holds the state of reading one torch file.
type torchLoader struct {
	path string
	// work counts items copied by calls; past budget (a multiple of the
	// pickle's size) unpickling stops, so a small pickle that reuses one
	// large list many times cannot make the loader run for minutes.
	work, budget int

	storages map[string]*storageRef
}

func newTorchLoader(path string) *torchLoader {
	return &torchLoader{path: path, storages: map[string]*storageRef{}}
}

var errTooExpensive = errors.New("pickle rebuilds its containers too many times")

func (l *torchLoader) unpickler(data []byte) *unpickler {
	l.budget = 16*len(data) + 1<<20
	return &unpickler{data: data, resolve: l.resolve, persistentLoad: l.persistentLoad, build: torchBuild}
}

// resolve is the allow-list of globals a torch pickle may name.
func (l *torchLoader) resolve(module, name string) (any, error) {
	switch module + "." + name {
	case "collections.OrderedDict":
		f := func(args pyTuple) (any, error) {
			d := newDict()
			if len(args) == 0 {
				return d, nil
			}
			// OrderedDict(iterable of pairs)
			if len(args) != 1 {
				return nil, fmt.Errorf("%d arguments", len(args))
			}
			var items []any
			switch a := args[0].(type) {
			case *pyList:
				items = a.items
			case pyTuple:
				items = a
			default:
				return nil, fmt.Errorf("argument is a %s", pyType(args[0]))
			}
			if l.work += len(items); l.work > l.budget {
				return nil, errTooExpensive
			}
			for _, it := range items {
				kv, ok := it.(pyTuple)
				if !ok || len(kv) != 2 {
					return nil, fmt.Errorf("item is not a (key, value) pair")
				}
				if err := d.set(kv[0], kv[1]); err != nil {
					return nil, err
				}
			}
			return d, nil
		}
		return &pyCallable{name: "collections.OrderedDict", call: f,
			newObj: func(pyTuple) (any, error) { return newDict(), nil }}, nil
	case "torch._utils._rebuild_tensor_v2":
		return &pyCallable{name: "torch._utils._rebuild_tensor_v2", call: func(args pyTuple) (any, error) {
			// (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
			if len(args) != 6 && len(args) != 7 {
				return nil, fmt.Errorf("%d arguments, want 6 or 7", len(args))
			}
			return l.rebuildTensor(args[:4])
		}}, nil
	case "torch._utils._rebuild_tensor":
		return &pyCallable{name: "torch._utils._rebuild_tensor", call: func(args pyTuple) (any, error) {
			// (storage, storage_offset, size, stride)
			if len(args) != 4 {
				return nil, fmt.Errorf("%d arguments, want 4", len(args))
			}
			return l.rebuildTensor(args)
		}}, nil
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		return &pyCallable{name: module + "." + name, call: func(args pyTuple) (any, error) {
			// (data, requires_grad, backward_hooks[, state])
			if len(args) < 3 || len(args) > 4 {
				return nil, fmt.Errorf("%d arguments, want 3 or 4", len(args))
			}
			t, ok := args[0].(*torchTensor)
			if !ok {
				return nil, fmt.Errorf("data is a %s, want a tensor", pyType(args[0]))
			}
			return t, nil
		}}, nil
	case "torch.Size":
		return &pyCallable{name: "torch.Size", call: func(args pyTuple) (any, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("%d arguments, want 1", len(args))
			}
			s, ok := asInts(args[0], maxDims)
			if !ok {
				return nil, fmt.Errorf("argument is not a sequence of at most %d ints", maxDims)
			}
			t := make(pyTuple, len(s))
			for i, v := range s {
				t[i] = v
			}
			return t, nil
		}}, nil
	case "_codecs.encode":
		// Protocol 2 pickles Python 3 bytes as _codecs.encode(str, "latin1").
		return &pyCallable{name: "_codecs.encode", call: func(args pyTuple) (any, error) {
			if len(args) != 2 {
				return nil, fmt.Errorf("%d arguments, want 2", len(args))
			}
			s, ok1 := args[0].(string)
			enc, ok2 := args[1].(string)
			if !ok1 || !ok2 || (enc != "latin1" && enc != "latin-1") {
				return nil, fmt.Errorf("unsupported arguments")
			}
			b := make([]byte, 0, len(s))
			for _, r := range s {
				if r > 0xff {
					return nil, fmt.Errorf("character %U not in latin1", r)
				}
				b = append(b, byte(r))
			}
			return b, nil
		}}, nil
	}
	if module == "torch" && strings.HasSuffix(name, "Storage") {
		if dt, ok := torchStorageTypes[name]; ok {
			return &torchStorageType{name: name, dtype: dt}, nil
		}
		if dt, ok := torchUnsupportedStorage[name]; ok {
			return nil, fmt.Errorf("tensors of dtype %s (torch.%s) are not supported", dt, name)
		}
	}
	return nil, fmt.Errorf("unsupported global %s.%s (only tensors and dicts of tensors can be loaded)", module, name)
}

// torchBuild applies BUILD: an OrderedDict's instance attributes (a state
// dict's _metadata) are ignored; anything else is refused.
func torchBuild(obj, state any) error {
	if _, ok := obj.(*pyDict); ok {
		return nil
	}
	return fmt.Errorf("BUILD of a %s", pyType(obj))
}

// persistentLoad turns ('storage', storage_type, key, location, numel[,
// view_metadata]) into a storage.
func (l *torchLoader) persistentLoad(pid any) (any, error) {
	t, ok := pid.(pyTuple)
	if !ok || len(t) == 0 {
		return nil, fmt.Errorf("persistent id is a %s, want a tuple", pyType(pid))
	}
	if kind, _ := t[0].(string); kind != "storage" {
		return nil, fmt.Errorf("unsupported persistent id of type %s", pyRepr(t[0]))
	}
	if len(t) != 5 && len(t) != 6 {
		return nil, fmt.Errorf("storage persistent id with %d fields, want 5 or 6", len(t))
	}
	st, ok := t[1].(*torchStorageType)
	if !ok {
		return nil, fmt.Errorf("storage type is a %s", pyType(t[1]))
	}
	key, ok := t[2].(string)
	if !ok {
		return nil, fmt.Errorf("storage key is a %s, want str", pyType(t[2]))
	}
	numel, ok := asInt(t[4])
	if !ok || numel < 0 || numel > maxElems {
		return nil, fmt.Errorf("storage %q: bad element count %s", key, pyRepr(t[4]))
	}
	ref := l.storages[key]
	if ref == nil {
		ref = &storageRef{key: key, st: st, numel: numel}
		l.storages[key] = ref
	} else if ref.st.dtype != st.dtype {
		return nil, fmt.Errorf("storage %q used as both %s and %s", key, ref.st.name, st.name)
	}
	s := &storageSlice{ref: ref, numel: -1}
	if len(t) == 6 && t[5] != nil {
		// Legacy view_metadata: (view_key, offset, view_size).
		v, ok := t[5].(pyTuple)
		if !ok || len(v) != 3 {
			return nil, fmt.Errorf("storage %q: bad view metadata", key)
		}
		off, ok1 := asInt(v[1])
		n, ok2 := asInt(v[2])
		if !ok1 || !ok2 || off < 0 || n < 0 || off > maxElems || n > maxElems {
			return nil, fmt.Errorf("storage %q: bad view metadata", key)
		}
		s.offset, s.numel = off, n
	}
	return s, nil
}

func (l *torchLoader) rebuildTensor(args pyTuple) (any, error) {
	s, ok := args[0].(*storageSlice)
	if !ok {
		return nil, fmt.Errorf("storage is a %s", pyType(args[0]))
	}
	off, ok := asInt(args[1])
	if !ok || off < 0 || off > maxElems {
		return nil, fmt.Errorf("bad storage offset %s", pyRepr(args[1]))
	}
	size, ok1 := asInts(args[2], maxDims)
	stride, ok2 := asInts(args[3], maxDims)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("size and stride must be tuples of at most %d ints", maxDims)
	}
	if len(size) != len(stride) {
		return nil, fmt.Errorf("size %v and stride %v differ in length", size, stride)
	}
	if _, ok := numelCheck(size, maxElems); !ok {
		return nil, fmt.Errorf("bad size %v", size)
	}
	for _, st := range stride {
		if st < 0 || st > maxElems {
			return nil, fmt.Errorf("bad stride %v", stride)
		}
	}
	return &torchTensor{storage: s, offset: off, size: size, stride: stride}, nil
}

// stateDictOf finds the state dict in an unpickled object: a dict whose
// values are all tensors, either the object itself or, for a training
// checkpoint, the value of one of wrapperKeys.
func stateDictOf(obj any) (*pyDict, error) {
	d, ok := obj.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("the file holds a %s, not a dict of tensors", pyType(obj))
	}
	bad := nonTensor(d)
	if bad < 0 {
		return d, nil
	}
	for _, k := range wrapperKeys {
		if v, ok := d.get(k); ok {
			if inner, ok := v.(*pyDict); ok && nonTensor(inner) < 0 {
				return inner, nil
			}
		}
	}
	return nil, fmt.Errorf("not a state dict: entry %s is a %s, not a tensor, and none of the keys %q holds a dict of tensors",
		keyString(d.keys[bad]), pyType(d.vals[bad]), wrapperKeys)
}

// wrapperKeys are the keys under which training checkpoints commonly keep
// the model's state dict, in order of preference.
var wrapperKeys = []string{"state_dict", "model_state_dict", "model", "module", "net"}

// nonTensor returns the index of the first entry of d that is not a tensor
// under a str key, or -1.
func nonTensor(d *pyDict) int {
	for i, v := range d.vals {
		if _, ok := v.(*torchTensor); !ok {
			return i
		}
		if _, ok := d.keys[i].(string); !ok {
			return i
		}
	}
	return -1
}

func keyString(k any) string {
	if b, ok := k.(bigKey); ok {
		if len(b) > 40 {
			return "<int>"
		}
		return "0x" + string(b)
	}
	return pyRepr(k)
}

// materialise converts every tensor of d, whose storages have been read,
// into a StateDict.
func (l *torchLoader) materialise(d *pyDict, format Format) (*StateDict, error) {
	sd := NewStateDict()
	sd.Path, sd.Format = l.path, format
	for i, k := range d.keys {
		name := k.(string)
		t := d.vals[i].(*torchTensor)
		out, err := t.materialise()
		if err != nil {
			return nil, fileErr(l.path, "tensor %q: %v", name, err)
		}
		sd.set(name, out, t.storage.ref.st.dtype)
	}
	return sd, nil
}

// storagesOf returns the storages the tensors of d use, in order of first use.
func storagesOf(d *pyDict) []*storageRef {
	seen := map[*storageRef]bool{}
	var refs []*storageRef
	for _, v := range d.vals {
		r := v.(*torchTensor).storage.ref
		if !seen[r] {
			seen[r] = true
			refs = append(refs, r)
		}
	}
	return refs
}

func (t *torchTensor) materialise() (*tensor.Tensor, error) {
	ref := t.storage.ref
	if !ref.loaded {
		return nil, fmt.Errorf("storage %q has no data", ref.key)
	}
	dt := ref.st.dtype
	base, limit := t.storage.offset, ref.n-t.storage.offset
	if t.storage.numel >= 0 {
		if t.storage.offset+t.storage.numel > ref.n {
			return nil, fmt.Errorf("storage view [%d, +%d) exceeds storage %q of %d elements",
				t.storage.offset, t.storage.numel, ref.key, ref.n)
		}
		limit = t.storage.numel
	}
	if limit < 0 {
		return nil, fmt.Errorf("storage view at %d exceeds storage %q of %d elements", base, ref.key, ref.n)
	}
	n, _ := numelCheck(t.size, maxElems)
	shape := make([]int, len(t.size))
	for i, s := range t.size {
		shape[i] = int(s)
	}
	if n == 0 {
		return tensor.New(shape...), nil
	}
	// Highest element index the view reaches.
	last := t.offset
	for i, s := range t.size {
		step, ok := mulCheck(s-1, t.stride[i], maxElems)
		if !ok || last+step > maxElems {
			return nil, fmt.Errorf("view (offset %d, size %v, stride %v) overflows", t.offset, t.size, t.stride)
		}
		last += step
	}
	if last >= limit {
		return nil, fmt.Errorf("view (offset %d, size %v, stride %v) reaches element %d of storage %q, which has %d",
			t.offset, t.size, t.stride, last, ref.key, limit)
	}
	if n > limit {
		return nil, fmt.Errorf("view (size %v, stride %v) has %d elements but its storage %q only %d: broadcast views are not supported",
			t.size, t.stride, n, ref.key, limit)
	}
	data := make([]float32, n)
	gather(data, ref.raw, dt, ref.order, base+t.offset, t.size, t.stride)
	return tensor.FromSlice(data, shape...), nil
}

// gather decodes the strided view (off, size, stride) of the storage raw
// into dst in row-major order. The view must lie inside raw.
func gather(dst []float32, raw []byte, dt DType, order binary.ByteOrder, off int64, size, stride []int64) {
	es := int64(dt.Size())
	// Drop unit dimensions; they do not move the index.
	var sz, st []int64
	for i := range size {
		if size[i] != 1 {
			sz = append(sz, size[i])
			st = append(st, stride[i])
		}
	}
	contiguous := true
	want := int64(1)
	for d := len(sz) - 1; d >= 0; d-- {
		if st[d] != want {
			contiguous = false
			break
		}
		want *= sz[d]
	}
	if contiguous {
		dt.decode(dst, raw[off*es:(off+int64(len(dst)))*es], order)
		return
	}
	// Odometer over the outer dimensions, a strided run over the last.
	nd := len(sz)
	inner, istride := sz[nd-1], st[nd-1]
	idx := make([]int64, nd-1)
	pos := off
	for o := 0; o < len(dst); o += int(inner) {
		p := pos
		for j := int64(0); j < inner; j++ {
			dst[o+int(j)] = dt.decodeOne(raw, int(p), order)
			p += istride
		}
		for d := nd - 2; d >= 0; d-- {
			idx[d]++
			pos += st[d]
			if idx[d] < sz[d] {
				break
			}
			pos -= st[d] * sz[d]
			idx[d] = 0
		}
	}
}

// LoadTorch reads a PyTorch checkpoint written by torch.save in either
// serialisation, the zip archive (the default since PyTorch 1.6) or the
// legacy format (_use_new_zipfile_serialization=False, and the files
// torchvision publishes for older models), and returns its state dict.
//
// The file must hold a dict of tensors, such as model.state_dict(), or a
// dict that keeps one under "state_dict", "model_state_dict", "model",
// "module" or "net" (a training checkpoint; its other entries are ignored).
// Names keep the dict's order. Nothing in the file is executed: the pickle
// may only name collections.OrderedDict, torch's tensor-rebuilding functions
// and storage types.
//
// Float32, float16, bfloat16 and float64 tensors convert to float32, as do
// integer and bool tensors (exact up to 2^24, which covers BatchNorm's int64
// num_batches_tracked; see IsNumBatchesTracked). Any stride and storage
// offset is honoured; every returned tensor is contiguous and owns its
// data. Complex and quantized tensors are refused with an error naming
// their dtype.
func LoadTorch(path string) (*StateDict, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var head [8]byte
	n, _ := io.ReadFull(f, head[:])
	switch {
	case n >= 4 && string(head[:4]) == "PK\x03\x04":
		return readTorchZip(path, f, fi.Size())
	case n >= 1 && head[0] == opProto:
		data := make([]byte, fi.Size())
		if _, err := f.ReadAt(data, 0); err != nil {
			return nil, &FileError{Path: path, Msg: "reading", Err: err}
		}
		return readTorchLegacy(path, data)
	case isTar(f):
		return nil, fileErr(path, "tar-based torch checkpoints (PyTorch < 0.4) are not supported")
	}
	return nil, fileErr(path, "not a torch checkpoint: neither a zip archive nor a pickle")
}

func isTar(r io.ReaderAt) bool {
	var b [5]byte
	_, err := r.ReadAt(b[:], 257)
	return err == nil && string(b[:]) == "ustar"
}

// readTorchZip reads the zip serialisation: <prefix>/data.pkl, the object
// pickle, and <prefix>/data/<key>, one raw storage per key.
func readTorchZip(path string, r io.ReaderAt, size int64) (*StateDict, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, &FileError{Path: path, Msg: "not a valid zip archive", Err: err}
	}
	var pkl *zip.File
	for _, f := range zr.File {
		dir, base, ok := strings.Cut(f.Name, "/")
		if ok && base == "data.pkl" && dir != "" {
			if pkl != nil {
				return nil, fileErr(path, "archive holds both %s and %s", pkl.Name, f.Name)
			}
			pkl = f
		}
	}
	if pkl == nil {
		return nil, fileErr(path, "zip archive has no <name>/data.pkl: not a torch checkpoint")
	}
	prefix := strings.TrimSuffix(pkl.Name, "data.pkl")
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, prefix) {
			entries[f.Name[len(prefix):]] = f
		}
	}
	var order binary.ByteOrder = binary.LittleEndian
	if f := entries["byteorder"]; f != nil {
		b, err := readZipEntry(f, size)
		if err != nil {
			return nil, &FileError{Path: path, Msg: f.Name, Err: err}
		}
		switch strings.TrimSpace(string(b)) {
		case "little":
		case "big":
			order = binary.BigEndian
		default:
			return nil, fileErr(path, "%s: unknown byte order %q", f.Name, b)
		}
	}
	data, err := readZipEntry(pkl, size)
	if err != nil {
		return nil, &FileError{Path: path, Msg: pkl.Name, Err: err}
	}
	l := newTorchLoader(path)
	u := l.unpickler(data)
	obj, err := u.load()
	if err != nil {
		return nil, &FileError{Path: path, Msg: pkl.Name, Err: err}
	}
	d, err := stateDictOf(obj)
	if err != nil {
		return nil, &FileError{Path: path, Msg: pkl.Name, Err: err}
	}
	for _, ref := range storagesOf(d) {
		f := entries["data/"+ref.key]
		if f == nil {
			return nil, fileErr(path, "storage %q: archive has no entry %sdata/%s", ref.key, prefix, ref.key)
		}
		es := int64(ref.st.dtype.Size())
		need := ref.numel * es
		if have := f.UncompressedSize64; have < uint64(need) {
			return nil, fileErr(path, "storage %q truncated: need %d bytes, have %d", ref.key, need, have)
		}
		raw, err := readZipEntry(f, size)
		if err != nil {
			return nil, &FileError{Path: path, Msg: fmt.Sprintf("storage %q", ref.key), Err: err}
		}
		ref.raw, ref.n, ref.order, ref.loaded = raw[:need], ref.numel, order, true
	}
	return l.materialise(d, FormatTorchZip)
}

// readZipEntry reads a whole entry, checking its CRC, without trusting its
// declared size for allocation beyond what the archive can hold.
func readZipEntry(f *zip.File, archiveSize int64) ([]byte, error) {
	n := f.UncompressedSize64
	if f.Method == zip.Store && (n > uint64(archiveSize) || f.CompressedSize64 != n) {
		return nil, fmt.Errorf("truncated: entry declares %d bytes in an archive of %d", n, archiveSize)
	}
	// Deflate expands at most about 1032:1; refuse declared sizes beyond
	// that rather than trust them.
	if f.Method != zip.Store && (f.CompressedSize64 > uint64(archiveSize) || n/1032 > f.CompressedSize64+1) {
		return nil, fmt.Errorf("entry declares %d bytes from %d compressed ones", n, f.CompressedSize64)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if f.Method == zip.Store {
		buf := make([]byte, n)
		if _, err := io.ReadFull(rc, buf); err != nil {
			return nil, fmt.Errorf("truncated: %w", err)
		}
		var one [1]byte
		if k, err := rc.Read(one[:]); k != 0 || err != io.EOF {
			if err == nil || err == io.EOF {
				err = errors.New("entry longer than declared")
			}
			return nil, err
		}
		return buf, nil
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(rc, int64(min(n, 1<<62))+1)); err != nil {
		return nil, err
	}
	if uint64(buf.Len()) != n {
		return nil, fmt.Errorf("entry decompresses to %d bytes, declared %d", buf.Len(), n)
	}
	return buf.Bytes(), nil
}

// legacyMagic is the int torch.save's legacy format starts with.
var legacyMagic, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

// readTorchLegacy reads the legacy serialisation: five pickles (magic
// number, protocol version, sys_info, the object, the sorted storage keys)
// followed, for each key, by its element count (int64, little-endian) and
// its raw little-endian data.
func readTorchLegacy(path string, data []byte) (*StateDict, error) {
	plain := &unpickler{data: data}
	magic, err := plain.load()
	if err != nil {
		return nil, &FileError{Path: path, Msg: "magic number", Err: err}
	}
	if m, ok := magic.(*big.Int); !ok || m.Cmp(legacyMagic) != 0 {
		return nil, fileErr(path, "not a torch checkpoint: pickle holds %s, not torch's magic number", pyRepr(magic))
	}
	version, err := plain.load()
	if err != nil {
		return nil, &FileError{Path: path, Msg: "protocol version", Err: err}
	}
	if v, ok := version.(int64); !ok || v != 1001 {
		return nil, fileErr(path, "unsupported legacy protocol version %s", pyRepr(version))
	}
	if info, err := plain.load(); err != nil {
		return nil, &FileError{Path: path, Msg: "sys_info", Err: err}
	} else if _, ok := info.(*pyDict); !ok {
		return nil, fileErr(path, "sys_info is a %s, want a dict", pyType(info))
	}

	l := newTorchLoader(path)
	u := l.unpickler(data)
	u.pos = plain.pos
	obj, err := u.load()
	if err != nil {
		return nil, &FileError{Path: path, Msg: "object pickle", Err: err}
	}
	d, err := stateDictOf(obj)
	if err != nil {
		return nil, &FileError{Path: path, Msg: "object pickle", Err: err}
	}

	plain.pos = u.pos
	keysObj, err := plain.load()
	if err != nil {
		return nil, &FileError{Path: path, Msg: "storage key list", Err: err}
	}
	keys, ok := keysObj.(*pyList)
	if !ok {
		return nil, fileErr(path, "storage key list is a %s", pyType(keysObj))
	}
	pos := plain.pos
	for _, k := range keys.items {
		key, ok := k.(string)
		if !ok {
			return nil, fileErr(path, "storage key is a %s, want str", pyType(k))
		}
		ref := l.storages[key]
		if ref == nil {
			return nil, fileErr(path, "storage %q is listed but no tensor uses it", key)
		}
		if ref.loaded {
			return nil, fileErr(path, "storage %q is listed twice", key)
		}
		if len(data)-pos < 8 {
			return nil, fileErr(path, "storage %q truncated: need 8 bytes for its size, have %d", key, len(data)-pos)
		}
		count := binary.LittleEndian.Uint64(data[pos:])
		pos += 8
		es := uint64(ref.st.dtype.Size())
		if count > maxElems {
			return nil, fileErr(path, "storage %q: bad element count %d", key, count)
		}
		need := count * es
		if have := uint64(len(data) - pos); need > have {
			return nil, fileErr(path, "storage %q truncated: need %d bytes, have %d", key, need, have)
		}
		ref.raw, ref.n, ref.order, ref.loaded = data[pos:pos+int(need)], int64(count), binary.LittleEndian, true
		pos += int(need)
	}
	return l.materialise(d, FormatTorchLegacy)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
