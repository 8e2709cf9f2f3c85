package reconpatch

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/reconpatch/rp/reconpatch/dataset"
	"github.com/reconpatch/rp/reconpatch/imageio"
	"github.com/reconpatch/rp/reconpatch/metrics"
)

// Metrics are the field's evaluation numbers for one set of test images.
// Pixel metrics are nil when no image of the set has pixel ground truth.
type Metrics struct {
	Images     int      `json:"images"`
	Defective  int      `json:"defective"`
	ImageAUROC *float64 `json:"image_auroc"`
	PixelAUROC *float64 `json:"pixel_auroc"`
	AUPRO      *float64 `json:"aupro"`
	ImageF1Max *float64 `json:"image_f1max"`
	PixelF1Max *float64 `json:"pixel_f1max"`
	// ImageF1Threshold is the image score threshold that reaches
	// ImageF1Max; PixelF1Threshold likewise.
	ImageF1Threshold *float64 `json:"image_f1_threshold,omitempty"`
	PixelF1Threshold *float64 `json:"pixel_f1_threshold,omitempty"`
}

// ImageResult is one test image's outcome.
type ImageResult struct {
	Path      string  `json:"path"`
	Type      string  `json:"type"`
	Defective bool    `json:"defective"`
	Score     float32 `json:"score"`
}

// Evaluation is the result of Evaluate: metrics over all test images and
// per defect type (each type's images with all good images).
type Evaluation struct {
	Overall Metrics            `json:"overall"`
	Types   map[string]Metrics `json:"types"`
	// ImageThreshold is the model's stored default threshold, for
	// comparison with the F1-optimal one.
	ImageThreshold float64       `json:"image_threshold"`
	Images         []ImageResult `json:"images"`
	// PROCurve is the overall pixel curve (FPR, PRO; thinned to a few
	// hundred points) for plots; empty without masks.
	PROCurve []metrics.Point `json:"-"`
	// FPRLimit is the upper FPR bound of the AUPRO integral.
	FPRLimit float64 `json:"fpr_limit"`
}

// Evaluate scores every test image of ds and computes image AUROC and
// F1-max, and, where masks exist, pixel AUROC, AUPRO (FPR ≤ 0.3) and pixel
// F1-max at the backbone's input resolution (masks go through the same
// resize and crop as the images, nearest neighbour; a pixel is defective
// from ds.MaskThreshold up). A defect type without
// masks still counts for the image metrics.
func Evaluate(ctx context.Context, m *Model, ds *dataset.Dataset, rep Reporter) (*Evaluation, error) {
	rep = reporterOrNop(rep)
	if len(ds.Test) == 0 {
		return nil, fmt.Errorf("reconpatch: %s has no test images", ds.Root)
	}
	var good []dataset.Sample
	byType := map[string][]dataset.Sample{}
	for _, s := range ds.Test {
		if s.Label == dataset.Good {
			good = append(good, s)
		} else {
			byType[s.Type] = append(byType[s.Type], s)
		}
	}
	types := make([]string, 0, len(byType))
	for t := range byType {
		types = append(types, t)
	}
	sort.Strings(types)

	preds, err := m.Predict(ctx, samplePaths(ds.Test), rep)
	if err != nil {
		return nil, err
	}
	pre := m.Options.preprocess()
	pre.MaskThreshold = ds.MaskThreshold
	overall := newSetEval()
	overall.pix = metrics.NewPixelEvaluator(metrics.Options{CurvePoints: 200})
	perType := map[string]*setEval{}
	for _, t := range types {
		perType[t] = newSetEval()
	}
	ev := &Evaluation{Types: map[string]Metrics{}, ImageThreshold: m.Stats.ImageThreshold}
	for i, s := range ds.Test {
		p := preds[i]
		defect := s.Label != dataset.Good
		ev.Images = append(ev.Images, ImageResult{Path: s.Path, Type: s.Type, Defective: defect, Score: p.Score})
		var mask []uint8
		pixel := s.HasPixelTruth()
		if defect && s.MaskPath != "" {
			mk, err := imageio.LoadMaskFor(s.MaskPath, s.Path, pre)
			if err != nil {
				return nil, err
			}
			if mk.W != m.InputW || mk.H != m.InputH {
				return nil, fmt.Errorf("reconpatch: mask %s is %d×%d after preprocessing, its image %d×%d", s.MaskPath, mk.W, mk.H, m.InputW, m.InputH)
			}
			mask = mk.Pix
		}
		sets := []*setEval{overall}
		if defect {
			sets = append(sets, perType[s.Type])
		} else {
			for _, t := range types {
				sets = append(sets, perType[t])
			}
		}
		for _, se := range sets {
			if err := se.add(p, defect, pixel, mask, m.InputW, m.InputH); err != nil {
				return nil, fmt.Errorf("reconpatch: %s: %w", s.Path, err)
			}
		}
	}
	if ev.Overall, err = overall.result(); err != nil {
		return nil, err
	}
	ev.PROCurve, ev.FPRLimit = overall.curve, overall.fprLimit
	for _, t := range types {
		if ev.Types[t], err = perType[t].result(); err != nil {
			return nil, fmt.Errorf("reconpatch: defect type %s: %w", t, err)
		}
	}
	return ev, nil
}

// setEval accumulates one set of test images.
type setEval struct {
	scores    []float64
	labels    []bool
	pix       *metrics.PixelEvaluator
	pixImages int
	pixDefect int
	curve     []metrics.Point // the pixel curve, when the evaluator records one
	fprLimit  float64
}

func newSetEval() *setEval {
	return &setEval{pix: metrics.NewPixelEvaluator(metrics.Options{})}
}

func (e *setEval) add(p Prediction, defect, pixel bool, mask []uint8, w, h int) error {
	e.scores = append(e.scores, float64(p.Score))
	e.labels = append(e.labels, defect)
	if !pixel {
		return nil
	}
	e.pixImages++
	if mask != nil {
		e.pixDefect++
	}
	return e.pix.Add(p.Map, mask, w, h)
}

func (e *setEval) result() (Metrics, error) {
	r := Metrics{Images: len(e.scores)}
	for _, l := range e.labels {
		if l {
			r.Defective++
		}
	}
	if r.Defective > 0 && r.Defective < r.Images {
		img, err := metrics.EvaluateImages(e.scores, e.labels)
		if err != nil {
			return r, err
		}
		r.ImageAUROC, r.ImageF1Max, r.ImageF1Threshold = ptr(img.AUROC), ptr(img.F1.F1), ptr(img.F1.Threshold)
	}
	if e.pixDefect > 0 {
		px, err := e.pix.Result()
		switch {
		case err == nil:
			r.PixelAUROC, r.AUPRO = ptr(px.AUROC), ptr(px.AUPRO)
			r.PixelF1Max, r.PixelF1Threshold = ptr(px.F1.F1), ptr(px.F1.Threshold)
			e.curve, e.fprLimit = px.Curve, px.FPRLimit
		case errors.Is(err, metrics.ErrOneClass):
			// Every mask was empty: no pixel metrics for this set.
		default:
			return r, err
		}
	}
	return r, nil
}

func ptr(v float64) *float64 { return &v }
