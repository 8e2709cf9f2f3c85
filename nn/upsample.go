package nn

import (
	"fmt"
	"math"

	"github.com/reconpatch/rp/tensor"
)

// UpsampleMode is how Upsample interpolates.
type UpsampleMode uint8

const (
	// UpsampleNearest copies input pixel ⌊o·in/out⌋ (PyTorch's 'nearest',
	// with its float32 rounding; not 'nearest-exact').
	UpsampleNearest UpsampleMode = iota
	// UpsampleBilinear interpolates linearly between the four nearest
	// input pixels (PyTorch's 'bilinear').
	UpsampleBilinear
)

// String names the mode as PyTorch does.
func (m UpsampleMode) String() string {
	switch m {
	case UpsampleNearest:
		return "nearest"
	case UpsampleBilinear:
		return "bilinear"
	}
	return fmt.Sprintf("UpsampleMode(%d)", uint8(m))
}

// Upsample is torch.nn.Upsample (F.interpolate) called with size=: it
// resizes each channel plane to Size, larger or smaller. The source
// coordinates use the ratio in/out of the sizes, as PyTorch does when given
// a size; PyTorch given a scale_factor uses 1/scale_factor instead, which
// differs when the sizes do not divide evenly, and is not implemented.
type Upsample struct {
	// Size is the output size (OH, OW).
	Size [2]int
	// Mode is the interpolation; the zero value is nearest, PyTorch's
	// default.
	Mode UpsampleMode
	// AlignCorners, for bilinear only, maps the corner pixels' centres onto
	// each other (source = o·(in−1)/(out−1)) rather than the corners' edges
	// (source = (o+½)·in/out − ½, clamped at 0).
	AlignCorners bool
}

// Forward resizes x, N×C×H×W, into a new N×C×OH×OW tensor. It panics if x is
// not 4-D with non-empty planes, if Size is not positive, or if AlignCorners
// is set for nearest.
func (u Upsample) Forward(x *tensor.Tensor) *tensor.Tensor {
	n, c, h, w := nchw("Upsample.Forward", x)
	oh, ow := u.Size[0], u.Size[1]
	if oh < 1 || ow < 1 || h < 1 || w < 1 {
		panic(fmt.Sprintf("nn: Upsample.Forward: cannot resize input shape %v to %d×%d", x.Shape(), oh, ow))
	}
	out := tensor.New(n, c, oh, ow)
	src, dst := data(x), out.Data()
	switch u.Mode {
	case UpsampleNearest:
		if u.AlignCorners {
			panic("nn: Upsample: AlignCorners is only for bilinear")
		}
		rows, cols := make([]int, oh), make([]int, ow)
		for i := range rows {
			rows[i] = nearestIndex(i, h, oh)
		}
		for j := range cols {
			cols[j] = nearestIndex(j, w, ow)
		}
		forPlanes(n*c, oh*ow, func(pl int) {
			in, o := src[pl*h*w:][:h*w], dst[pl*oh*ow:][:oh*ow]
			for y, ih := range rows {
				row, orow := in[ih*w:][:w], o[y*ow:][:ow]
				for x, iw := range cols {
					orow[x] = row[iw]
				}
			}
		})
	case UpsampleBilinear:
		ry := linearTaps(h, oh, u.AlignCorners)
		rx := linearTaps(w, ow, u.AlignCorners)
		forPlanes(n*c, 4*oh*ow, func(pl int) {
			in, o := src[pl*h*w:][:h*w], dst[pl*oh*ow:][:oh*ow]
			for y, ty := range ry {
				r0, r1, orow := in[ty.i0*w:][:w], in[ty.i1*w:][:w], o[y*ow:][:ow]
				for x, tx := range rx {
					top := tx.l0*r0[tx.i0] + tx.l1*r0[tx.i1]
					bot := tx.l0*r1[tx.i0] + tx.l1*r1[tx.i1]
					orow[x] = ty.l0*top + ty.l1*bot
				}
			}
		})
	default:
		panic(fmt.Sprintf("nn: Upsample: unknown mode %v", u.Mode))
	}
	return out
}

// nearestIndex is PyTorch's nearest_idx for a size-given resize: the input
// index ⌊o·(in/out)⌋ computed in float32, with the ratios 1 and 2 exact.
func nearestIndex(o, in, out int) int {
	switch out {
	case in:
		return o
	case 2 * in:
		return o >> 1
	}
	scale := float32(in) / float32(out)
	v := float32(o) * scale
	return min(int(v), in-1) // v ≥ 0: truncation is floor
}

// tap is one output coordinate's two input indices and their weights.
type tap struct {
	i0, i1 int
	l0, l1 float32
}

// linearTaps returns PyTorch's linear interpolation taps for each of out
// coordinates over in inputs (area_pixel_compute_source_index and
// guard_index_and_lambda), computed in float64.
func linearTaps(in, out int, alignCorners bool) []tap {
	var scale float64
	switch {
	case alignCorners && out > 1:
		scale = float64(in-1) / float64(out-1)
	case !alignCorners:
		scale = float64(in) / float64(out)
	}
	taps := make([]tap, out)
	for o := range taps {
		var s float64
		if alignCorners {
			s = scale * float64(o)
		} else {
			s = max(scale*(float64(o)+0.5)-0.5, 0)
		}
		i0 := min(int(math.Floor(s)), in-1)
		l := min(max(s-float64(i0), 0), 1)
		i1 := i0
		if i0 < in-1 {
			i1++
		}
		taps[o] = tap{i0: i0, i1: i1, l0: float32(1 - l), l1: float32(l)}
	}
	return taps
}
