package tensor

import (
	"strconv"
	"strings"
)

// edgeItems is how many leading and trailing entries of each dimension
// String shows for a tensor of more than summarizeSize elements.
const (
	edgeItems     = 3
	summarizeSize = 1000
)

// String formats t for debugging as NumPy prints arrays: nested brackets,
// one row of the last dimension per line, elements right-aligned in the
// shortest form that reads back as the same float32. A tensor of more than
// 1000 elements shows the first and last three entries of each dimension,
// with "..." between. A tensor without elements prints as [].
func (t *Tensor) String() string {
	if t.Size() == 0 {
		return "[]"
	}
	f := &formatter{t: t, index: make([]int, t.Dims()), summarize: t.Size() > summarizeSize}
	f.measure = true
	f.format(0)
	f.measure = false
	f.format(0)
	return f.b.String()
}

type formatter struct {
	t         *Tensor
	index     []int
	summarize bool
	measure   bool // first pass: only find the widest element
	width     int
	b         strings.Builder
}

func (f *formatter) format(d int) {
	t := f.t
	if d == len(t.shape) {
		s := strconv.FormatFloat(float64(t.At(f.index...)), 'g', -1, 32)
		if f.measure {
			f.width = max(f.width, len(s))
			return
		}
		f.b.WriteString(strings.Repeat(" ", f.width-len(s)))
		f.b.WriteString(s)
		return
	}
	if !f.measure {
		f.b.WriteByte('[')
	}
	n := t.shape[d]
	for i := 0; i < n; i++ {
		if i > 0 {
			f.separate(d)
		}
		if f.summarize && n > 2*edgeItems && i == edgeItems {
			if !f.measure {
				f.b.WriteString("...")
				f.separate(d)
			}
			i = n - edgeItems
		}
		f.index[d] = i
		f.format(d + 1)
	}
	if !f.measure {
		f.b.WriteByte(']')
	}
}

// separate writes what goes between entries of dimension d: a space in the
// last dimension, otherwise line breaks (a blank line per dimension beyond
// the last two) and indentation to the depth of the brackets.
func (f *formatter) separate(d int) {
	if f.measure {
		return
	}
	last := len(f.t.shape) - 1
	if d == last {
		f.b.WriteByte(' ')
		return
	}
	f.b.WriteString(strings.Repeat("\n", last-d))
	f.b.WriteString(strings.Repeat(" ", d+1))
}
