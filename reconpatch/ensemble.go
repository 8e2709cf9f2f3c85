package reconpatch

import (
	"errors"
	"fmt"
	"github.com/reconpatch/rp/internal/order"
	"math"
)

// MADScale is β of the modified z-score: 1.4826 ≈ 1/Φ⁻¹(¾) makes β·MAD a
// consistent estimate of the standard deviation of normal data.
const MADScale = 1.4826

// ZScoreNormalizer is the modified z-score of section 9.5:
// s̄ = (s − Median) / (MADScale·MAD), with the median and the median
// absolute deviation of one model's scores on held-out good images.
type ZScoreNormalizer struct {
	Median float64
	MAD    float64
}

// FitZScore computes the median and the median absolute deviation of the
// given values (one model's image scores, or every pixel of its anomaly
// maps, of held-out good images; several slices are pooled). Medians of an
// even count are the mean of the two middle values (numpy's convention). It
// returns an error if there are no values, a value is NaN or infinite, or
// the MAD is 0 (the scores are mostly equal: the normalisation would divide
// by zero).
func FitZScore(values ...[]float32) (ZScoreNormalizer, error) {
	n := 0
	for _, v := range values {
		n += len(v)
	}
	if n == 0 {
		return ZScoreNormalizer{}, errors.New("reconpatch: FitZScore: no values")
	}
	all := make([]float32, 0, n)
	for _, v := range values {
		all = append(all, v...)
	}
	for _, v := range all {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return ZScoreNormalizer{}, fmt.Errorf("reconpatch: FitZScore: value %v", v)
		}
	}
	med := medianInPlace(all)
	dev := make([]float64, n)
	for i, v := range all {
		dev[i] = math.Abs(float64(v) - med)
	}
	mad := medianInPlace(dev)
	if !(mad > 0) {
		return ZScoreNormalizer{}, fmt.Errorf("reconpatch: FitZScore: median absolute deviation is 0 (median %v of %d values)", med, n)
	}
	return ZScoreNormalizer{Median: med, MAD: mad}, nil
}

// Normalize returns the modified z-score of s.
func (z ZScoreNormalizer) Normalize(s float32) float32 {
	return float32((float64(s) - z.Median) / (MADScale * z.MAD))
}

// NormalizeSlice sets dst[i] to the modified z-score of src[i]; dst and src
// may be the same slice. It panics if dst is shorter than src.
func (z ZScoreNormalizer) NormalizeSlice(dst, src []float32) {
	if len(dst) < len(src) {
		panic(fmt.Sprintf("reconpatch: ZScoreNormalizer.NormalizeSlice: len(dst) %d < len(src) %d", len(dst), len(src)))
	}
	scale := 1 / (MADScale * z.MAD)
	for i, s := range src {
		dst[i] = float32((float64(s) - z.Median) * scale)
	}
}

// Median returns the median of x (the mean of the two middle values for an
// even count), or NaN for an empty slice. x is not modified.
func Median(x []float32) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	return medianInPlace(append([]float32(nil), x...))
}

// MedianAbsDeviation returns median(|x − median(x)|), unscaled, or NaN for
// an empty slice.
func MedianAbsDeviation(x []float32) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	med := Median(x)
	dev := make([]float64, len(x))
	for i, v := range x {
		dev[i] = math.Abs(float64(v) - med)
	}
	return medianInPlace(dev)
}

// medianInPlace returns the median of x, reordering x.
func medianInPlace[T float32 | float64](x []T) float64 {
	n := len(x)
	k := n / 2
	order.SelectKth(x, k)
	hi := float64(x[k])
	if n%2 == 1 {
		return hi
	}
	lo := x[0]
	for _, v := range x[1:k] {
		lo = max(lo, v)
	}
	return (float64(lo) + hi) / 2
}

// Ensemble combines several models' scores: each model's image scores and
// pixel maps are normalised by its own modified z-score (fitted on held-out
// good images; section 12) and the normalised values are averaged across
// models.
type Ensemble struct {
	// Image and Pixel hold one normaliser per model, in the same order:
	// Image from the models' image scores, Pixel from every pixel of their
	// anomaly maps.
	Image, Pixel []ZScoreNormalizer
}

// CombineImage returns the ensemble image scores: scores[m] holds model m's
// scores of the same N images. It returns an error if the number of models
// does not match or the models score different numbers of images.
func (e *Ensemble) CombineImage(scores [][]float32) ([]float32, error) {
	return combine("CombineImage", e.Image, scores)
}

// CombineMap returns one image's ensemble anomaly map: maps[m] is model m's
// map of the image (all of the same size).
func (e *Ensemble) CombineMap(maps [][]float32) ([]float32, error) {
	return combine("CombineMap", e.Pixel, maps)
}

// combine averages the normalised values: out[i] = (1/M)·Σₘ zₘ(vals[m][i]),
// accumulated in float64.
func combine(op string, norm []ZScoreNormalizer, vals [][]float32) ([]float32, error) {
	if len(norm) == 0 {
		return nil, fmt.Errorf("reconpatch: Ensemble.%s: no models", op)
	}
	if len(vals) != len(norm) {
		return nil, fmt.Errorf("reconpatch: Ensemble.%s: %d score sets for %d models", op, len(vals), len(norm))
	}
	n := len(vals[0])
	for m, v := range vals {
		if len(v) != n {
			return nil, fmt.Errorf("reconpatch: Ensemble.%s: model %d has %d values, model 0 has %d", op, m, len(v), n)
		}
	}
	acc := make([]float64, n)
	for m, v := range vals {
		z := norm[m]
		scale := 1 / (MADScale * z.MAD)
		for i, s := range v {
			acc[i] += (float64(s) - z.Median) * scale
		}
	}
	out := make([]float32, n)
	for i, a := range acc {
		out[i] = float32(a / float64(len(vals)))
	}
	return out, nil
}

// MeanCombine averages already-normalised score slices element-wise (all of
// the same length) into a new slice, accumulating in float64.
func MeanCombine(vals ...[]float32) ([]float32, error) {
	if len(vals) == 0 {
		return nil, errors.New("reconpatch: MeanCombine: nothing to combine")
	}
	n := len(vals[0])
	acc := make([]float64, n)
	for m, v := range vals {
		if len(v) != n {
			return nil, fmt.Errorf("reconpatch: MeanCombine: slice %d has %d values, slice 0 has %d", m, len(v), n)
		}
		for i, s := range v {
			acc[i] += float64(s)
		}
	}
	out := make([]float32, n)
	for i, a := range acc {
		out[i] = float32(a / float64(len(vals)))
	}
	return out, nil
}
