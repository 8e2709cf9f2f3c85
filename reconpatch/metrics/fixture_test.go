package metrics

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
)

// The reference values in testdata/fixtures.json come from scikit-learn and
// from a re-implementation of the MVTec AD evaluation code; see
// scripts/gen_metrics_fixtures.py.

type fixtureF1 struct {
	F1, Threshold, Precision, Recall float64
}

type fixtures struct {
	Image []struct {
		Name   string
		Scores []float64
		Labels []int
		AUROC  float64
		AP     float64
		F1     fixtureF1
		ROC    struct{ FPR, TPR, Thresholds []float64 }
		PR     struct{ Precision, Recall, Thresholds []float64 }
	}
	Pixel []struct {
		Name string
		W, H int
		Maps []struct {
			Scores []float32
			Mask   []uint8
		}
		AUROC   float64
		AP      float64
		F1      fixtureF1
		Regions int
		AUPRO   map[string]float64
	}
}

func loadFixtures(t *testing.T) fixtures {
	t.Helper()
	b, err := os.ReadFile("testdata/fixtures.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fixtures
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Image) == 0 || len(f.Pixel) == 0 {
		t.Fatal("empty fixture file")
	}
	return f
}

func checkF1(t *testing.T, got F1, want fixtureF1) {
	t.Helper()
	if !near(got.F1, want.F1, 1e-12) || got.Threshold != want.Threshold ||
		!near(got.Precision, want.Precision, 1e-12) || !near(got.Recall, want.Recall, 1e-12) {
		t.Errorf("F1 %+v, sklearn/anomalib %+v", got, want)
	}
}

func checkSlice(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, sklearn %d", what, len(got), len(want))
		return
	}
	for i := range got {
		if !near(got[i], want[i], 1e-12) {
			t.Errorf("%s[%d] = %v, sklearn %v", what, i, got[i], want[i])
			return
		}
	}
}

func TestImageFixtures(t *testing.T) {
	for _, c := range loadFixtures(t).Image {
		t.Run(c.Name, func(t *testing.T) {
			labels := make([]bool, len(c.Labels))
			for i, l := range c.Labels {
				labels[i] = l != 0
			}
			r, err := EvaluateImages(c.Scores, labels)
			if err != nil {
				t.Fatal(err)
			}
			if !near(r.AUROC, c.AUROC, 1e-14) {
				t.Errorf("AUROC %v, sklearn %v", r.AUROC, c.AUROC)
			}
			if !near(r.AveragePrecision, c.AP, 1e-12) {
				t.Errorf("AP %v, sklearn %v", r.AveragePrecision, c.AP)
			}
			checkF1(t, r.F1, c.F1)

			fpr, tpr, thr, err := ROC(c.Scores, labels)
			if err != nil {
				t.Fatal(err)
			}
			checkSlice(t, "fpr", fpr, c.ROC.FPR)
			checkSlice(t, "tpr", tpr, c.ROC.TPR)
			checkSlice(t, "thresholds[1:]", thr[1:], c.ROC.Thresholds)

			p, rec, pthr, err := PrecisionRecall(c.Scores, labels)
			if err != nil {
				t.Fatal(err)
			}
			checkSlice(t, "precision", p, c.PR.Precision)
			checkSlice(t, "recall", rec, c.PR.Recall)
			checkSlice(t, "pr thresholds", pthr, c.PR.Thresholds)
		})
	}
}

func TestPixelFixtures(t *testing.T) {
	for _, c := range loadFixtures(t).Pixel {
		t.Run(c.Name, func(t *testing.T) {
			for lim, want := range c.AUPRO {
				limit, err := strconv.ParseFloat(lim, 64)
				if err != nil {
					t.Fatal(err)
				}
				e := NewPixelEvaluator(Options{FPRLimit: limit})
				for _, m := range c.Maps {
					if err := e.Add(m.Scores, m.Mask, c.W, c.H); err != nil {
						t.Fatal(err)
					}
				}
				r, err := e.Result()
				if err != nil {
					t.Fatal(err)
				}
				if !near(r.AUPRO, want, 1e-12) {
					t.Errorf("AUPRO up to %v: %v, MVTec code %v", limit, r.AUPRO, want)
				}
				if r.Regions != c.Regions {
					t.Errorf("%d regions, scipy.ndimage.label %d", r.Regions, c.Regions)
				}
				if !near(r.AUROC, c.AUROC, 1e-14) {
					t.Errorf("AUROC %v, sklearn %v", r.AUROC, c.AUROC)
				}
				if !near(r.AveragePrecision, c.AP, 1e-12) {
					t.Errorf("AP %v, sklearn %v", r.AveragePrecision, c.AP)
				}
				checkF1(t, r.F1, c.F1)
			}
		})
	}
}
