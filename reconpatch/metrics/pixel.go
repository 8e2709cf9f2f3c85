package metrics

import (
	"fmt"
	"math"
)

// DefaultFPRLimit is the FPR up to which AUPRO integrates by default, as in
// the MVTec AD evaluation and anomalib.
const DefaultFPRLimit = 0.3

// Options configures pixel-level evaluation. The zero value is the project
// default.
type Options struct {
	// FPRLimit is the upper FPR bound of the AUPRO integral, in (0, 1]; zero
	// means DefaultFPRLimit.
	FPRLimit float64
	// CurvePoints, when positive, makes PixelResult.Curve hold the curve,
	// thinned: a point is kept when FPR, TPR or PRO moved by at least
	// 1/CurvePoints since the last kept one (the first and last points are
	// always kept), so a plot gets at most about 3·CurvePoints points
	// instead of one per distinct score. Zero records no curve.
	CurvePoints int
	// Pixels, when positive, is the expected total number of pixels: the
	// evaluator then allocates once instead of growing.
	Pixels int
}

// Map is one image's anomaly map and its ground truth at the same
// resolution, row by row.
type Map struct {
	W, H   int
	Scores []float32 // W·H anomaly scores, higher = more anomalous
	Mask   []uint8   // W·H, non-zero = defect; nil = all normal (a good image)
}

// PixelResult holds the pixel-level (segmentation) metrics.
type PixelResult struct {
	AUROC            float64 // over all pixels of all images
	AveragePrecision float64 // pixel AP (area under the PR curve, sklearn's definition)
	F1               F1      // pixel F1-max and its threshold
	AUPRO            float64 // area under PRO–FPR up to FPRLimit, divided by FPRLimit
	FPRLimit         float64
	Images           int
	Pixels           int // all pixels
	Positives        int // defect pixels
	Regions          int // 8-connected ground-truth regions
	Curve            []Point
}

// PixelEvaluator accumulates anomaly maps one image at a time, so a caller
// need not keep every map, and computes the pixel metrics from a single sort
// of all pixels.
//
// Memory: 4 bytes per normal pixel, 8 bytes per defect pixel and 8 bytes per
// ground-truth region, plus a label buffer of one image. Result sorts these
// in place (an in-place radix sort: no second buffer, O(n) time), so 50
// million pixels cost about 200 MB.
type PixelEvaluator struct {
	opts   Options
	neg    []uint32  // key32(score) of every normal pixel
	pos    []uint64  // key32(score)<<32 | region index, of every defect pixel
	weight []float64 // 1/size of each region, by region index
	images int

	lab, stack []int32 // component-labelling scratch
}

// NewPixelEvaluator returns an empty evaluator.
func NewPixelEvaluator(opts Options) *PixelEvaluator {
	e := &PixelEvaluator{opts: opts}
	if opts.Pixels > 0 {
		e.neg = make([]uint32, 0, opts.Pixels)
	}
	return e
}

// Add adds one image: scores and mask are w×h, row by row; mask non-zero
// marks a defect pixel, and a nil mask means the image is defect-free (all
// its pixels are normal).
//
// An empty mask of an anomalous image (all zero, like 4 of magnetic-tile's
// "uneven" masks) is the same as nil: its pixels count as normal (they
// enter the FPR) and it adds no region, as in the MVTec AD evaluation. An
// anomalous image whose mask is unknown (no mask file) must not be added —
// its defect pixels would count as false positives; it still counts for
// the image metrics.
func (e *PixelEvaluator) Add(scores []float32, mask []uint8, w, h int) error {
	if w <= 0 || h <= 0 || len(scores) != w*h {
		return fmt.Errorf("metrics: image %d: %d scores for a %d×%d map", e.images, len(scores), w, h)
	}
	if mask != nil && len(mask) != w*h {
		return fmt.Errorf("metrics: image %d: mask has %d pixels, map is %d×%d", e.images, len(mask), w, h)
	}
	for i, s := range scores {
		if s != s {
			return fmt.Errorf("metrics: image %d: score at (%d, %d) is NaN", e.images, i%w, i/w)
		}
	}
	var sizes []uint32
	if mask != nil {
		e.lab, sizes, e.stack = components(mask, w, h, e.lab, e.stack)
		if uint64(len(e.weight))+uint64(len(sizes)) > math.MaxUint32 {
			return fmt.Errorf("metrics: image %d: more than 2^32 ground-truth regions", e.images)
		}
	}
	if len(sizes) == 0 {
		for _, s := range scores {
			e.neg = append(e.neg, key32(s))
		}
	} else {
		base := uint64(len(e.weight)) // component k (1-based) → region base+k−1
		for _, n := range sizes {
			e.weight = append(e.weight, 1/float64(n))
		}
		for i, s := range scores {
			if l := e.lab[i]; l != 0 {
				e.pos = append(e.pos, uint64(key32(s))<<32|(base+uint64(l)-1))
			} else {
				e.neg = append(e.neg, key32(s))
			}
		}
	}
	e.images++
	return nil
}

// AddMap is Add(m.Scores, m.Mask, m.W, m.H).
func (e *PixelEvaluator) AddMap(m Map) error { return e.Add(m.Scores, m.Mask, m.W, m.H) }

// Result computes the metrics over all images added so far. It may be
// called again after more images are added.
//
// Both normal and defect pixels must be present (ErrOneClass otherwise).
// Every distinct score is a threshold: the curves are exact, not binned.
func (e *PixelEvaluator) Result() (PixelResult, error) {
	limit := e.opts.FPRLimit
	if limit == 0 {
		limit = DefaultFPRLimit
	}
	if !(limit > 0 && limit <= 1) {
		return PixelResult{}, fmt.Errorf("metrics: FPR limit %g is not in (0, 1]", limit)
	}
	p, n := uint64(len(e.pos)), uint64(len(e.neg))
	if p == 0 || n == 0 {
		return PixelResult{}, fmt.Errorf("%w (%d defect pixels, %d normal pixels in %d images)", ErrOneClass, p, n, e.images)
	}
	radixSort(e.neg, 24, 0)
	radixSort(e.pos, 56, 32)

	sw := newSweeper(p, n, len(e.weight), limit)
	var finish func() []Point
	if e.opts.CurvePoints > 0 {
		var curve []Point
		step := 1 / float64(e.opts.CurvePoints)
		curve = append(curve, Point{Threshold: math.Inf(1), Precision: 1})
		last := curve[0]
		var cur Point
		sw.record = func(pt Point) {
			cur = pt
			if pt.FPR-last.FPR >= step || pt.TPR-last.TPR >= step || math.Abs(pt.PRO-last.PRO) >= step {
				curve = append(curve, pt)
				last = pt
			}
		}
		finish = func() []Point {
			if cur != last {
				curve = append(curve, cur)
			}
			return curve
		}
	}

	neg, pos, w := e.neg, e.pos, e.weight
	i, j := len(neg)-1, len(pos)-1
	for i >= 0 || j >= 0 {
		var k uint32
		if j < 0 || (i >= 0 && neg[i] >= uint32(pos[j]>>32)) {
			k = neg[i]
		} else {
			k = uint32(pos[j] >> 32)
		}
		var dtp, dfp uint64
		for i >= 0 && neg[i] == k {
			dfp++
			i--
		}
		for j >= 0 && uint32(pos[j]>>32) == k {
			dtp++
			sw.pro.add(w[uint32(pos[j])])
			j--
		}
		sw.group(float64(unkey32(k)), dtp, dfp)
	}

	r := PixelResult{
		AUROC:            sw.auroc(),
		AveragePrecision: sw.averagePrecision(),
		F1:               sw.best,
		AUPRO:            sw.aupro(),
		FPRLimit:         limit,
		Images:           e.images,
		Pixels:           int(p + n),
		Positives:        int(p),
		Regions:          len(e.weight),
	}
	if finish != nil {
		r.Curve = finish()
	}
	return r, nil
}

// EvaluatePixels adds every map to a new evaluator and returns its Result.
// See PixelEvaluator.Add for the meaning of a nil or empty mask.
func EvaluatePixels(maps []Map, opts Options) (PixelResult, error) {
	if opts.Pixels <= 0 {
		for _, m := range maps {
			opts.Pixels += len(m.Scores)
		}
	}
	e := NewPixelEvaluator(opts)
	for _, m := range maps {
		if err := e.AddMap(m); err != nil {
			return PixelResult{}, err
		}
	}
	return e.Result()
}
