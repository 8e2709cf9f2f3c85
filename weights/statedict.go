package weights

import (
	"fmt"

	"github.com/reconpatch/rp/tensor"
)

// Format is a weight-file format.
type Format int

// The formats Load recognises.
const (
	FormatUnknown     Format = iota
	FormatTorchZip           // torch.save since PyTorch 1.6: a zip of data.pkl and raw storages
	FormatTorchLegacy        // torch.save before 1.6 (_use_new_zipfile_serialization=False)
	FormatSafetensors        // Hugging Face safetensors
	FormatTFJS               // TensorFlow.js layers model: model.json and binary shards
)

// String returns the format's name.
func (f Format) String() string {
	switch f {
	case FormatTorchZip:
		return "torch zip"
	case FormatTorchLegacy:
		return "torch legacy"
	case FormatSafetensors:
		return "safetensors"
	case FormatTFJS:
		return "tfjs layers model"
	}
	return "unknown"
}

// StateDict is an ordered collection of named float32 tensors: a PyTorch
// state_dict, the tensors of a safetensors file, or the weights of a TF.js
// model. Names keep the order in which the file stored them. Tensors read
// from a file are contiguous and own their data; Set stores the caller's
// tensor as is (after making it contiguous).
//
// The zero value is not usable; create one with NewStateDict.
type StateDict struct {
	// Path is the file the tensors were read from, or "" if the dictionary
	// was built in memory. Errors about the dictionary name it.
	Path string
	// Format is the file's format, or FormatUnknown.
	Format Format
	// Metadata holds a safetensors file's __metadata__ (nil for other
	// formats). SaveSafetensors does not use it implicitly.
	Metadata map[string]string

	names   []string
	entries map[string]entry
}

type entry struct {
	t     *tensor.Tensor
	dtype DType
}

// NewStateDict returns an empty dictionary.
func NewStateDict() *StateDict {
	return &StateDict{entries: map[string]entry{}}
}

// Len returns the number of tensors.
func (s *StateDict) Len() int { return len(s.names) }

// Names returns the tensor names in stored order. The slice is a copy.
func (s *StateDict) Names() []string { return append([]string(nil), s.names...) }

// Get returns the named tensor, or nil if there is none.
func (s *StateDict) Get(name string) *tensor.Tensor { return s.entries[name].t }

// Has reports whether the dictionary holds a tensor of that name.
func (s *StateDict) Has(name string) bool {
	_, ok := s.entries[name]
	return ok
}

// DType returns the element type the named tensor had in its file (F32 for
// tensors added with Set), or "" if there is no such tensor.
func (s *StateDict) DType(name string) DType { return s.entries[name].dtype }

// Set stores t under name, replacing a tensor of that name in place or
// appending a new name at the end. A non-contiguous t is copied.
func (s *StateDict) Set(name string, t *tensor.Tensor) { s.set(name, t.Contiguous(), F32) }

// SetAs is Set with the element type the tensor is to be written as by
// WriteSafetensors with PerTensor (F32, F16 or BF16).
func (s *StateDict) SetAs(name string, t *tensor.Tensor, dtype DType) {
	s.set(name, t.Contiguous(), dtype)
}

func (s *StateDict) set(name string, t *tensor.Tensor, dt DType) {
	if _, ok := s.entries[name]; !ok {
		s.names = append(s.names, name)
	}
	s.entries[name] = entry{t, dt}
}

// Delete removes the named tensor, if present.
func (s *StateDict) Delete(name string) {
	if _, ok := s.entries[name]; !ok {
		return
	}
	delete(s.entries, name)
	for i, n := range s.names {
		if n == name {
			s.names = append(s.names[:i], s.names[i+1:]...)
			break
		}
	}
}

// Rename maps every name through f, keeping the order. It fails, changing
// nothing, if two tensors would get the same name.
func (s *StateDict) Rename(f func(name string) string) error {
	names := make([]string, len(s.names))
	entries := make(map[string]entry, len(s.entries))
	for i, old := range s.names {
		n := f(old)
		if _, dup := entries[n]; dup {
			return s.errorf("renaming %q gives %q, which another tensor already has", old, n)
		}
		names[i] = n
		entries[n] = s.entries[old]
	}
	s.names, s.entries = names, entries
	return nil
}

// NumValues returns the total number of elements of all tensors.
func (s *StateDict) NumValues() int {
	n := 0
	for _, e := range s.entries {
		n += e.t.Size()
	}
	return n
}

func (s *StateDict) errorf(format string, args ...any) error {
	return &FileError{Path: s.Path, Msg: fmt.Sprintf(format, args...)}
}

// FileError reports a problem with a weight file: it is truncated or
// corrupt, uses an unsupported feature, or does not hold the tensors that
// were expected. Its message names the file.
type FileError struct {
	Path string // the file, or "" for an in-memory dictionary
	Msg  string // what is wrong
	Err  error  // the underlying error, if any
}

// Error returns "weights: <path>: <msg>".
func (e *FileError) Error() string {
	s := "weights: "
	if e.Path != "" {
		s += e.Path + ": "
	}
	s += e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *FileError) Unwrap() error { return e.Err }

func fileErr(path string, format string, args ...any) error {
	return &FileError{Path: path, Msg: fmt.Sprintf(format, args...)}
}
