package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/reconpatch/rp/internal/atomicfile"
	"github.com/reconpatch/rp/tensor"
)

// maxSafetensorsHeader is the largest JSON header accepted, as in the
// reference implementation.
const maxSafetensorsHeader = 100 << 20

type stInfo struct {
	name    string
	dtype   DType
	shape   []int64
	begin   int64
	end     int64
	numel   int64
	ordinal int
}

// LoadSafetensors reads a safetensors file. Names keep the header's order;
// the __metadata__ map goes to StateDict.Metadata.
//
// F32, F16, BF16 and F64 tensors convert to float32, as do I64, I32, I16,
// I8, U8 and BOOL (exact up to 2^24). Other dtypes are refused with an error
// naming them. The header is validated as the format requires: its length
// fits the file, every tensor's byte range matches its dtype and shape, and
// the ranges tile the data section without gaps or overlaps.
func LoadSafetensors(path string) (*StateDict, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return readSafetensors(path, f, fi.Size())
}

func readSafetensors(path string, r io.ReaderAt, size int64) (*StateDict, error) {
	if size < 8 {
		return nil, fileErr(path, "truncated: %d bytes, a safetensors file needs at least 8", size)
	}
	var lb [8]byte
	if _, err := r.ReadAt(lb[:], 0); err != nil {
		return nil, &FileError{Path: path, Msg: "reading header length", Err: err}
	}
	hlen := binary.LittleEndian.Uint64(lb[:])
	if hlen > uint64(size-8) {
		return nil, fileErr(path, "truncated: header length %d exceeds the %d bytes that follow it", hlen, size-8)
	}
	if hlen > maxSafetensorsHeader {
		return nil, fileErr(path, "header length %d exceeds the limit of %d", hlen, maxSafetensorsHeader)
	}
	if hlen < 2 {
		return nil, fileErr(path, "header length %d is too short for a JSON object", hlen)
	}
	header := make([]byte, hlen)
	if _, err := r.ReadAt(header, 8); err != nil {
		return nil, &FileError{Path: path, Msg: "reading header", Err: err}
	}
	infos, meta, err := parseSafetensorsHeader(header)
	if err != nil {
		return nil, &FileError{Path: path, Msg: "header", Err: err}
	}
	dataStart := 8 + int64(hlen)
	dataLen := size - dataStart
	if err := checkCoverage(infos, dataLen); err != nil {
		return nil, &FileError{Path: path, Msg: "header", Err: err}
	}

	sd := NewStateDict()
	sd.Path, sd.Format, sd.Metadata = path, FormatSafetensors, meta
	var buf []byte
	for _, in := range infos {
		n := in.end - in.begin
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		b := buf[:n]
		if _, err := r.ReadAt(b, dataStart+in.begin); err != nil {
			return nil, &FileError{Path: path, Msg: fmt.Sprintf("tensor %q", in.name), Err: err}
		}
		data := make([]float32, in.numel)
		in.dtype.decode(data, b, binary.LittleEndian)
		shape := make([]int, len(in.shape))
		for i, s := range in.shape {
			shape[i] = int(s)
		}
		sd.set(in.name, tensor.FromSlice(data, shape...), in.dtype)
	}
	return sd, nil
}

// parseSafetensorsHeader decodes the JSON header, keeping the tensors in
// the order the header lists them.
func parseSafetensorsHeader(header []byte) ([]*stInfo, map[string]string, error) {
	if header[0] != '{' {
		return nil, nil, errors.New("does not start with '{'")
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	var infos []*stInfo
	var meta map[string]string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		name, ok := tok.(string)
		if !ok {
			return nil, nil, fmt.Errorf("unexpected %v", tok)
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("duplicate entry %q", name)
		}
		seen[name] = true
		if name == "__metadata__" {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, fmt.Errorf("__metadata__ must map strings to strings: %v", err)
			}
			continue
		}
		var raw struct {
			DType       *string  `json:"dtype"`
			Shape       *[]int64 `json:"shape"`
			DataOffsets []int64  `json:"data_offsets"`
		}
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %v", name, err)
		}
		if name == "" || !utf8.ValidString(name) {
			return nil, nil, fmt.Errorf("invalid tensor name %q", name)
		}
		if raw.DType == nil || raw.Shape == nil || raw.DataOffsets == nil {
			return nil, nil, fmt.Errorf("tensor %q: needs dtype, shape and data_offsets", name)
		}
		dt := DType(*raw.DType)
		if dt.Size() == 0 {
			return nil, nil, fmt.Errorf("tensor %q: unsupported dtype %q", name, *raw.DType)
		}
		if len(raw.DataOffsets) != 2 {
			return nil, nil, fmt.Errorf("tensor %q: data_offsets has %d values, want 2", name, len(raw.DataOffsets))
		}
		in := &stInfo{name: name, dtype: dt, shape: *raw.Shape, begin: raw.DataOffsets[0], end: raw.DataOffsets[1], ordinal: len(infos)}
		if in.numel, ok = numelCheck(in.shape, maxElems); !ok {
			return nil, nil, fmt.Errorf("tensor %q: invalid shape %v", name, in.shape)
		}
		if in.begin < 0 || in.end < in.begin {
			return nil, nil, fmt.Errorf("tensor %q: invalid data_offsets [%d, %d]", name, in.begin, in.end)
		}
		if need := in.numel * int64(dt.Size()); in.end-in.begin != need {
			return nil, nil, fmt.Errorf("tensor %q: %s of shape %v needs %d bytes, data_offsets [%d, %d] give %d",
				name, dt, in.shape, need, in.begin, in.end, in.end-in.begin)
		}
		infos = append(infos, in)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, nil, err
	}
	if rest := bytes.TrimLeft(header[dec.InputOffset():], " \t\r\n"); len(rest) != 0 {
		return nil, nil, fmt.Errorf("unexpected bytes after the JSON object")
	}
	return infos, meta, nil
}

// checkCoverage requires the tensors' byte ranges to tile [0, dataLen).
func checkCoverage(infos []*stInfo, dataLen int64) error {
	sorted := append([]*stInfo(nil), infos...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].begin != sorted[j].begin {
			return sorted[i].begin < sorted[j].begin
		}
		return sorted[i].end < sorted[j].end
	})
	var at int64
	var prev *stInfo
	for _, in := range sorted {
		switch {
		case in.begin < at:
			return fmt.Errorf("tensor %q [%d, %d] overlaps tensor %q [%d, %d]", in.name, in.begin, in.end, prev.name, prev.begin, prev.end)
		case in.begin > at:
			return fmt.Errorf("%d bytes before tensor %q at %d belong to no tensor", in.begin-at, in.name, in.begin)
		}
		if in.end > at {
			at, prev = in.end, in
		}
	}
	if at > dataLen {
		return fmt.Errorf("truncated: tensor %q ends at byte %d of a data section of %d bytes", prev.name, at, dataLen)
	}
	if at < dataLen {
		return fmt.Errorf("%d bytes at the end of the data section belong to no tensor", dataLen-at)
	}
	return nil
}

// WriteSafetensors writes sd in the safetensors format, every tensor as
// dtype (F32, F16 or BF16; F16 and BF16 round to nearest even), or, with
// dtype PerTensor, each tensor as its own DType (SetAs sets it; other types
// than those three are written as F32). The output
// depends only on the contents: tensors are sorted by name, the header is
// compact JSON with the optional metadata first, padded with spaces to a
// multiple of 8 bytes.
func WriteSafetensors(w io.Writer, sd *StateDict, metadata map[string]string, dtype DType) error {
	if dtype != F32 && dtype != F16 && dtype != BF16 && dtype != PerTensor {
		return fmt.Errorf("weights: cannot write safetensors as %q: want F32, F16, BF16 or PerTensor", dtype)
	}
	dtypeOf := func(n string) DType {
		if dtype != PerTensor {
			return dtype
		}
		switch dt := sd.entries[n].dtype; dt {
		case F16, BF16:
			return dt
		}
		return F32
	}
	names := append([]string(nil), sd.names...)
	sort.Strings(names)
	var h bytes.Buffer
	h.WriteByte('{')
	if len(metadata) > 0 {
		h.WriteString(`"__metadata__":{`)
		for i, k := range sortedKeys(metadata) {
			if i > 0 {
				h.WriteByte(',')
			}
			writeJSONString(&h, k)
			h.WriteByte(':')
			writeJSONString(&h, metadata[k])
		}
		h.WriteByte('}')
	}
	var off int64
	for i, n := range names {
		dt := dtypeOf(n)
		es := int64(dt.Size())
		if n == "" || n == "__metadata__" || !utf8.ValidString(n) {
			return fmt.Errorf("weights: cannot write a tensor named %q to safetensors", n)
		}
		if i > 0 || len(metadata) > 0 {
			h.WriteByte(',')
		}
		t := sd.entries[n].t
		writeJSONString(&h, n)
		h.WriteString(`:{"dtype":"` + string(dt) + `","shape":[`)
		for d, s := range t.Shape() {
			if d > 0 {
				h.WriteByte(',')
			}
			h.WriteString(strconv.Itoa(s))
		}
		end := off + int64(t.Size())*es
		fmt.Fprintf(&h, `],"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	var lb [8]byte
	binary.LittleEndian.PutUint64(lb[:], uint64(h.Len()))
	if _, err := w.Write(lb[:]); err != nil {
		return err
	}
	if _, err := w.Write(h.Bytes()); err != nil {
		return err
	}
	const chunk = 16 << 10
	buf := make([]byte, chunk*4)
	for _, n := range names {
		dt := dtypeOf(n)
		es := int64(dt.Size())
		data := sd.entries[n].t.Contiguous().Data()
		for len(data) > 0 {
			k := min(len(data), chunk)
			dt.encode(buf, data[:k])
			if _, err := w.Write(buf[:int64(k)*es]); err != nil {
				return err
			}
			data = data[k:]
		}
	}
	return nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)           // cannot fail for a string
	b.Truncate(b.Len() - 1) // Encode appends a newline
}

// SaveSafetensors writes sd to path with WriteSafetensors, atomically (see
// internal/atomicfile): readers, and the path after a crash or a kill, see
// either the old file or the complete new one.
func SaveSafetensors(path string, sd *StateDict, metadata map[string]string, dtype DType) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		return WriteSafetensors(w, sd, metadata, dtype)
	})
}
