package metrics

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrOneClass is returned (wrapped) when the labels hold only one class:
// ROC, precision and F1 are then undefined.
var ErrOneClass = errors.New("metrics: need both normal and anomalous samples")

// ImageResult holds the image-level (detection) metrics.
type ImageResult struct {
	AUROC            float64
	AveragePrecision float64
	F1               F1
	Positives        int // anomalous images
	Negatives        int // good images
}

type scored struct {
	s   float64
	pos bool
}

// sweepImages sorts the scores (highest first) and runs the sweeper over
// the distinct values; record, when not nil, receives every point.
func sweepImages(scores []float64, labels []bool, record func(Point)) (*sweeper, error) {
	if len(scores) != len(labels) {
		return nil, fmt.Errorf("metrics: %d scores but %d labels", len(scores), len(labels))
	}
	v := make([]scored, len(scores))
	var p uint64
	for i, s := range scores {
		if math.IsNaN(s) {
			return nil, fmt.Errorf("metrics: score %d is NaN", i)
		}
		v[i] = scored{s, labels[i]}
		if labels[i] {
			p++
		}
	}
	n := uint64(len(scores)) - p
	if p == 0 || n == 0 {
		return nil, fmt.Errorf("%w (%d anomalous, %d normal)", ErrOneClass, p, n)
	}
	slices.SortFunc(v, func(a, b scored) int { return cmp.Compare(b.s, a.s) })
	sw := newSweeper(p, n, 0, 1)
	sw.record = record
	for i := 0; i < len(v); {
		var dtp, dfp uint64
		j := i
		for ; j < len(v) && v[j].s == v[i].s; j++ {
			if v[j].pos {
				dtp++
			} else {
				dfp++
			}
		}
		sw.group(v[i].s, dtp, dfp)
		i = j
	}
	return sw, nil
}

// EvaluateImages computes image AUROC, average precision and F1-max of
// image scores (higher = more anomalous) against labels (true = anomalous).
// Both classes must be present; NaN scores are an error.
func EvaluateImages(scores []float64, labels []bool) (ImageResult, error) {
	sw, err := sweepImages(scores, labels, nil)
	if err != nil {
		return ImageResult{}, err
	}
	return ImageResult{
		AUROC:            sw.auroc(),
		AveragePrecision: sw.averagePrecision(),
		F1:               sw.best,
		Positives:        int(sw.p),
		Negatives:        int(sw.n),
	}, nil
}

// AUROC is the area under the ROC curve of scores against labels (true =
// anomalous), with tied scores counted one half: the Mann–Whitney U
// statistic divided by (anomalous · normal), as sklearn's roc_auc_score.
// It is exact up to the final division.
func AUROC(scores []float64, labels []bool) (float64, error) {
	r, err := EvaluateImages(scores, labels)
	return r.AUROC, err
}

// AveragePrecision is Σ (R_k − R_{k−1}) P_k over the distinct thresholds
// taken from the highest down, as sklearn's average_precision_score (no
// interpolation).
func AveragePrecision(scores []float64, labels []bool) (float64, error) {
	r, err := EvaluateImages(scores, labels)
	return r.AveragePrecision, err
}

// F1Max returns the highest F1 = 2PR/(P+R) over all thresholds (every
// distinct score) and the operating point reaching it; among exact ties the
// lowest threshold wins.
func F1Max(scores []float64, labels []bool) (F1, error) {
	r, err := EvaluateImages(scores, labels)
	return r.F1, err
}

// Curve returns the operating points at every distinct score, from the
// highest threshold down, preceded by the starting point (Threshold +Inf,
// nothing positive, Precision 1). The last point has FPR = TPR = 1.
func Curve(scores []float64, labels []bool) ([]Point, error) {
	pts := make([]Point, 1, len(scores)+1)
	pts[0] = Point{Threshold: math.Inf(1), Precision: 1}
	_, err := sweepImages(scores, labels, func(p Point) { pts = append(pts, p) })
	if err != nil {
		return nil, err
	}
	return pts, nil
}

// ROC returns the ROC curve as sklearn's roc_curve(drop_intermediate=False)
// does: points with increasing FPR, the first one (0, 0) at threshold +Inf
// (sklearn ≥ 1.3; older versions put max score + 1 there), then one point
// per distinct score, highest first.
func ROC(scores []float64, labels []bool) (fpr, tpr, thresholds []float64, err error) {
	pts, err := Curve(scores, labels)
	if err != nil {
		return nil, nil, nil, err
	}
	fpr = make([]float64, len(pts))
	tpr = make([]float64, len(pts))
	thresholds = make([]float64, len(pts))
	for i, p := range pts {
		fpr[i], tpr[i], thresholds[i] = p.FPR, p.TPR, p.Threshold
	}
	return fpr, tpr, thresholds, nil
}

// PrecisionRecall returns the precision–recall curve in sklearn's
// precision_recall_curve layout: thresholds ascending (every distinct
// score), precision[i] and recall[i] at thresholds[i], and one last point
// (precision 1, recall 0) without a threshold.
func PrecisionRecall(scores []float64, labels []bool) (precision, recall, thresholds []float64, err error) {
	pts, err := Curve(scores, labels)
	if err != nil {
		return nil, nil, nil, err
	}
	m := len(pts) - 1
	precision = make([]float64, m+1)
	recall = make([]float64, m+1)
	thresholds = make([]float64, m)
	for i := range m {
		p := pts[m-i]
		precision[i], recall[i], thresholds[i] = p.Precision, p.TPR, p.Threshold
	}
	precision[m], recall[m] = 1, 0
	return precision, recall, thresholds, nil
}
