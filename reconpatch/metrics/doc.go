// Package metrics computes the evaluation metrics of industrial anomaly
// detection: image AUROC, pixel AUROC, AUPRO, average precision and F1-max
// at image and pixel level, with their ROC, precision–recall and PRO
// curves (spec section 10; the defaults of section 12).
//
// Every metric is exact: each distinct score is a threshold (no binning),
// ties are resolved the way the references do, and a sample is called
// anomalous when its score is at least the threshold.
//
// # Image level
//
// EvaluateImages (and AUROC, AveragePrecision, F1Max, Curve, ROC,
// PrecisionRecall) take one float64 score per image and a label (true =
// anomalous: any defect type). The references are scikit-learn 1.2:
//
//   - AUROC = roc_auc_score: tied scores count one half, i.e. the
//     Mann–Whitney U statistic with average ranks divided by
//     (anomalous · normal). U is accumulated in 128-bit integers, so the only
//     rounding is the final division.
//   - AveragePrecision = average_precision_score: Σ (R_k − R_{k−1}) P_k.
//   - ROC = roc_curve(drop_intermediate=False); PrecisionRecall =
//     precision_recall_curve, in sklearn's layout.
//   - F1 is anomalib's F1Max: the highest 2PR/(P+R) over all thresholds,
//     compared exactly; among exact ties the lowest threshold wins (argmax
//     over ascending thresholds). Its threshold is anomalib's "adaptive"
//     threshold.
//
// Both classes must be present (ErrOneClass otherwise); NaN is an error.
// An anomalous image without a ground-truth mask counts here like any other.
//
// # Pixel level
//
// A PixelEvaluator takes one anomaly map at a time (float32 scores at the
// evaluation resolution, the ground-truth mask resized to it with nearest
// neighbour by the caller) and computes pixel AUROC, pixel AP, pixel F1-max
// and AUPRO over all pixels of all added images, from one in-place radix
// sort of packed keys: 4 bytes per normal pixel, 8 per defect pixel.
//
// AUPRO follows the official MVTec AD evaluation code (MVTec's
// mvtec_ad_evaluation, pro_curve_util.compute_pro and
// generic_util.trapezoid, accompanying Bergmann et al., "The MVTec Anomaly
// Detection Dataset", IJCV 2021):
//
//   - the ground-truth regions are the connected components of each mask
//     under 8-connectivity (scipy.ndimage.label with a 3×3 structure of
//     ones), numbered over the whole test set;
//   - at each threshold, FPR = false-positive pixels / all defect-free pixels
//     of all images (good images included), and PRO = the mean over all
//     regions of (region pixels at or above the threshold / region size);
//   - the curve runs over every distinct score, from (0, 0) up, with the
//     points of one score merged into one;
//   - it is integrated with the trapezoid rule up to the FPR limit (0.3 by
//     default), the PRO at the limit linearly interpolated between the two
//     points around it (no interpolation when a point lies exactly on it),
//     and divided by the limit, so a perfect map scores 1.
//
// Differences from that code, all at the level of rounding: the FPR is
// kept in float64 (MVTec casts it to float32), the PRO sums are compensated
// (Neumaier) instead of a plain cumulative sum, and the order of the pixels
// inside one score is irrelevant here. anomalib's AUPRO implements the same
// definition.
//
// Masks: non-zero = defect. A nil mask is a good image (every pixel
// normal). An empty mask of an anomalous image (as 4 of magnetic-tile's
// "uneven" masks are) is treated the same way, as in the MVTec code: its
// pixels enter the FPR, it adds no region. An anomalous image whose mask is
// missing must be left out of the pixel metrics (its defect pixels would
// count as false positives); it still counts for the image metrics.
//
// -0 and +0 are one score; NaN scores are an error.
package metrics
