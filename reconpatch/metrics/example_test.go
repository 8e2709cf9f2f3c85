package metrics_test

import (
	"fmt"
	"log"

	"github.com/reconpatch/rp/reconpatch/metrics"
)

func ExampleEvaluateImages() {
	scores := []float64{0.1, 0.4, 0.35, 0.8}
	anomalous := []bool{false, false, true, true}
	r, err := metrics.EvaluateImages(scores, anomalous)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("AUROC %.2f  AP %.3f  F1-max %.2f at score >= %.2f\n", r.AUROC, r.AveragePrecision, r.F1.F1, r.F1.Threshold)
	// Output:
	// AUROC 0.75  AP 0.833  F1-max 0.80 at score >= 0.35
}

func ExampleROC() {
	fpr, tpr, thr, err := metrics.ROC([]float64{1, 2, 2, 3}, []bool{false, true, false, true})
	if err != nil {
		log.Fatal(err)
	}
	for i := range fpr {
		fmt.Printf("score >= %v: FPR %.1f TPR %.1f\n", thr[i], fpr[i], tpr[i])
	}
	// Output:
	// score >= +Inf: FPR 0.0 TPR 0.0
	// score >= 3: FPR 0.0 TPR 0.5
	// score >= 2: FPR 0.5 TPR 1.0
	// score >= 1: FPR 1.0 TPR 1.0
}

// Pixel metrics are accumulated one anomaly map at a time.
func ExamplePixelEvaluator() {
	e := metrics.NewPixelEvaluator(metrics.Options{}) // AUPRO up to FPR 0.3
	// A good image: no mask.
	if err := e.Add([]float32{
		0.1, 0.2, 0.1,
		0.3, 0.2, 0.1,
	}, nil, 3, 2); err != nil {
		log.Fatal(err)
	}
	// A defective image with one defect region of two pixels.
	if err := e.Add([]float32{
		0.1, 0.9, 0.2,
		0.1, 0.25, 0.2,
	}, []uint8{
		0, 1, 0,
		0, 1, 0,
	}, 3, 2); err != nil {
		log.Fatal(err)
	}
	r, err := e.Result()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("pixel AUROC %.3f  AUPRO %.3f  F1-max %.3f  (%d pixels, %d regions)\n", r.AUROC, r.AUPRO, r.F1.F1, r.Pixels, r.Regions)
	// Output:
	// pixel AUROC 0.950  AUPRO 0.833  F1-max 0.800  (12 pixels, 1 regions)
}
