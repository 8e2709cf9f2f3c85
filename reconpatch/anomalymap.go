package reconpatch

import (
	"fmt"
	"math"

	"github.com/reconpatch/rp/nn"
	"github.com/reconpatch/rp/tensor"
)

// Border is how GaussianFilter extends an image past its edges.
type Border uint8

const (
	// BorderReflect is scipy.ndimage's 'reflect' (PatchCore's): the edge
	// sample is repeated, d c b a | a b c d | d c b a.
	BorderReflect Border = iota
	// BorderMirror is scipy's 'mirror', torch's and OpenCV's 'reflect'
	// (anomalib's): the edge sample is not repeated, d c b | a b c d | c b a.
	BorderMirror
)

// String names the border mode.
func (b Border) String() string {
	switch b {
	case BorderReflect:
		return "reflect"
	case BorderMirror:
		return "mirror"
	}
	return fmt.Sprintf("Border(%d)", uint8(b))
}

// MapConfig configures AnomalyMap.
type MapConfig struct {
	// Height and Width are the map size: the crop the backbone saw.
	Height, Width int
	// Nearest upsamples with torch's 'nearest' instead of bilinear
	// (align_corners false); anomalib does this.
	Nearest bool
	// Sigma is the Gaussian's standard deviation in map pixels (4); 0
	// leaves the map unsmoothed.
	Sigma float64
	// Truncate is the kernel radius in σ: radius = int(Truncate·σ + 0.5)
	// (scipy's default 4, radius 16 for σ = 4). 0 means 4.
	Truncate float64
	// Border is how the filter extends the map past its edges.
	Border Border
}

// DefaultMapConfig is the project default (section 12) for a crop of h×w:
// bilinear upsampling, Gaussian σ = 4 truncated at 4σ, scipy 'reflect'.
func DefaultMapConfig(h, w int) MapConfig {
	return MapConfig{Height: h, Width: w, Sigma: 4, Truncate: 4}
}

// AnomalyMap turns one image's patch scores, grid.H×grid.W row-major, into
// an anomaly map of cfg.Height×cfg.Width (row-major): upsampled to the map
// size (bilinear, align_corners false, as PatchCore's F.interpolate; or
// nearest), then smoothed by GaussianFilter as PatchCore's
// scipy.ndimage.gaussian_filter(σ = 4). It panics if scores does not hold
// the grid or the sizes are not positive.
func AnomalyMap(scores []float32, grid Grid, cfg MapConfig) []float32 {
	if grid.H < 1 || grid.W < 1 || cfg.Height < 1 || cfg.Width < 1 {
		panic(fmt.Sprintf("reconpatch: AnomalyMap: grid %d×%d, map %d×%d", grid.H, grid.W, cfg.Height, cfg.Width))
	}
	if len(scores) != grid.Len() {
		panic(fmt.Sprintf("reconpatch: AnomalyMap: %d scores for a %d×%d grid", len(scores), grid.H, grid.W))
	}
	mode := nn.UpsampleBilinear
	if cfg.Nearest {
		mode = nn.UpsampleNearest
	}
	up := nn.Upsample{Size: [2]int{cfg.Height, cfg.Width}, Mode: mode}.
		Forward(tensor.FromSlice(scores, 1, 1, grid.H, grid.W)).Data()
	if cfg.Sigma <= 0 {
		return up
	}
	out := make([]float32, len(up))
	GaussianFilter(out, up, cfg.Height, cfg.Width, cfg.Sigma, cfg.Truncate, cfg.Border)
	return out
}

// GaussianKernel is scipy.ndimage's 1-D Gaussian: radius r = int(truncate·σ
// + 0.5) (truncate 0 means 4), weights exp(−x²/2σ²) for x = −r…r,
// normalised to sum 1, in float64.
func GaussianKernel(sigma, truncate float64) []float64 {
	if !(sigma > 0) {
		panic(fmt.Sprintf("reconpatch: GaussianKernel: σ = %v", sigma))
	}
	if truncate == 0 {
		truncate = 4
	}
	r := int(truncate*sigma + 0.5)
	w := make([]float64, 2*r+1)
	var sum float64
	for i := range w {
		x := float64(i - r)
		w[i] = math.Exp(-0.5 / (sigma * sigma) * (x * x))
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}

// GaussianFilter sets dst to src, an h×w image (row-major), smoothed by a
// separable Gaussian as scipy.ndimage.gaussian_filter does for a float32
// array: the GaussianKernel correlated along the rows' axis (0) then the
// columns' axis (1), each pass accumulated in float64 and stored as float32,
// with the given border extension (repeated as often as the kernel needs,
// for images smaller than the radius). dst and src must not overlap; it
// panics if either is shorter than h·w.
func GaussianFilter(dst, src []float32, h, w int, sigma, truncate float64, border Border) {
	if h < 0 || w < 0 || len(src) < h*w || len(dst) < h*w {
		panic(fmt.Sprintf("reconpatch: GaussianFilter: %d×%d image, len(src) %d, len(dst) %d", h, w, len(src), len(dst)))
	}
	if h == 0 || w == 0 {
		return
	}
	k := GaussianKernel(sigma, truncate)
	r := len(k) / 2
	tmp := make([]float32, h*w)
	// Axis 0: along each column.
	ext := extensionTable(h, r, border)
	parallelFor(w, h*len(k), func(lo, hi int) {
		line := make([]float64, h+2*r)
		for x := lo; x < hi; x++ {
			for i, s := range ext {
				line[i] = float64(src[s*w+x])
			}
			for y := range h {
				tmp[y*w+x] = float32(correlateSym(line, y+r, k, r))
			}
		}
	})
	// Axis 1: along each row.
	ext = extensionTable(w, r, border)
	parallelFor(h, w*len(k), func(lo, hi int) {
		line := make([]float64, w+2*r)
		for y := lo; y < hi; y++ {
			row := tmp[y*w:][:w]
			for i, s := range ext {
				line[i] = float64(row[s])
			}
			out := dst[y*w:][:w]
			for x := range w {
				out[x] = float32(correlateSym(line, x+r, k, r))
			}
		}
	})
}

// correlateSym is Σⱼ k[r+j]·line[c+j] over j = −r…r for a symmetric
// kernel, summed as scipy's correlate1d sums it: line[c]·k[r] +
// Σⱼ₌ᵣ…₁ (line[c−j] + line[c+j])·k[r−j], the outermost pair first.
func correlateSym(line []float64, c int, k []float64, r int) float64 {
	s := line[c] * k[r]
	for j := r; j >= 1; j-- {
		s += (line[c-j] + line[c+j]) * k[r-j]
	}
	return s
}

// extensionTable maps each position i = 0…n+2r−1 of a line padded by r on
// both sides to the source index i−r extended by the border mode.
func extensionTable(n, r int, border Border) []int {
	t := make([]int, n+2*r)
	for i := range t {
		t[i] = extendIndex(i-r, n, border)
	}
	return t
}

// extendIndex maps an index of the infinitely extended line to [0, n).
func extendIndex(i, n int, border Border) int {
	switch border {
	case BorderReflect: // period 2n: a b c d d c b a
		p := 2 * n
		i %= p
		if i < 0 {
			i += p
		}
		if i >= n {
			i = p - 1 - i
		}
	case BorderMirror: // period 2n−2: a b c d c b
		if n == 1 {
			return 0
		}
		p := 2*n - 2
		i %= p
		if i < 0 {
			i += p
		}
		if i >= n {
			i = p - i
		}
	default:
		panic(fmt.Sprintf("reconpatch: unknown border %v", border))
	}
	return i
}
