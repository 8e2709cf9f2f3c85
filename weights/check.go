package weights

import (
	"fmt"
	"slices"
	"strings"
)

// Want is a tensor a model expects: its name and shape.
type Want struct {
	Name  string
	Shape []int
}

// Mismatch is a tensor whose shape differs from the expected one.
type Mismatch struct {
	Name       string
	Have, Want []int
}

// MismatchError lists every way a state dict differs from what a model
// expects. CheckNames returns it.
type MismatchError struct {
	Path       string     // the state dict's file, or ""
	Missing    []Want     // expected but absent, in expected order
	Unexpected []string   // present but not expected, in stored order
	Misshaped  []Mismatch // present with the wrong shape, in expected order
}

// Error lists all problems, one per line after a summary line.
func (e *MismatchError) Error() string {
	var b strings.Builder
	b.WriteString("weights: ")
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	fmt.Fprintf(&b, "tensors do not match the model: %d missing, %d unexpected, %d mis-shaped",
		len(e.Missing), len(e.Unexpected), len(e.Misshaped))
	for _, w := range e.Missing {
		fmt.Fprintf(&b, "\n\tmissing %s %v", w.Name, w.Shape)
	}
	for _, n := range e.Unexpected {
		fmt.Fprintf(&b, "\n\tunexpected %s", n)
	}
	for _, m := range e.Misshaped {
		fmt.Fprintf(&b, "\n\tmis-shaped %s: have %v, want %v", m.Name, m.Have, m.Want)
	}
	return b.String()
}

// CheckNames compares sd with the tensors a model expects and returns nil if
// every expected tensor is present with its shape and no other tensor is
// present, or else a *MismatchError listing every missing, unexpected and
// mis-shaped tensor. Tensors for which ignore returns true may be present
// without being expected (ignore may be nil); IsNumBatchesTracked is the
// usual choice for PyTorch checkpoints. A name listed twice in want is
// checked once.
func CheckNames(sd *StateDict, want []Want, ignore func(name string) bool) error {
	e := &MismatchError{Path: sd.Path}
	expected := make(map[string]bool, len(want))
	for _, w := range want {
		if expected[w.Name] {
			continue
		}
		expected[w.Name] = true
		t := sd.Get(w.Name)
		switch {
		case t == nil:
			e.Missing = append(e.Missing, w)
		case !slices.Equal(t.Shape(), w.Shape):
			e.Misshaped = append(e.Misshaped, Mismatch{w.Name, slices.Clone(t.Shape()), w.Shape})
		}
	}
	for _, n := range sd.names {
		if !expected[n] && (ignore == nil || !ignore(n)) {
			e.Unexpected = append(e.Unexpected, n)
		}
	}
	if len(e.Missing)+len(e.Unexpected)+len(e.Misshaped) == 0 {
		return nil
	}
	return e
}

// IsNumBatchesTracked reports whether name is a BatchNorm
// num_batches_tracked counter, which PyTorch saves in state dicts but
// inference does not use. Pass it to CheckNames to tolerate the counters.
func IsNumBatchesTracked(name string) bool {
	return name == "num_batches_tracked" || strings.HasSuffix(name, ".num_batches_tracked")
}
