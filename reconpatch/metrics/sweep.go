package metrics

import (
	"math"
	"math/bits"
)

// Point is one operating point of a detector: everything scoring at least
// Threshold is called anomalous.
type Point struct {
	Threshold float64
	TP, FP    uint64  // true and false positives at this threshold
	FPR       float64 // FP / negatives
	TPR       float64 // TP / positives: the recall
	Precision float64 // TP / (TP + FP); 1 at the starting point where TP + FP = 0
	PRO       float64 // per-region overlap (pixel curves only; 0 elsewhere)
}

// Recall is TPR under its precision–recall name.
func (p Point) Recall() float64 { return p.TPR }

// F1 is the best F1 score over all thresholds and the operating point that
// reaches it.
type F1 struct {
	F1        float64
	Threshold float64 // anomalous iff score >= Threshold
	Precision float64
	Recall    float64
}

// neumaier is a compensated sum (Neumaier's variant of Kahan summation).
type neumaier struct{ sum, c float64 }

func (s *neumaier) add(x float64) {
	t := s.sum + x
	if math.Abs(s.sum) >= math.Abs(x) {
		s.c += (s.sum - t) + x
	} else {
		s.c += (x - t) + s.sum
	}
	s.sum = t
}

func (s *neumaier) value() float64 { return s.sum + s.c }

// sweeper walks the distinct thresholds from the highest score down and
// accumulates every metric in one pass. The caller feeds it one group per
// distinct score: the positives and negatives scoring exactly that value,
// and (for PRO) adds their region weights to pro first.
type sweeper struct {
	p, n    uint64 // totals: positives, negatives
	regions int    // ground-truth regions; 0 when PRO is not tracked

	tp, fp uint64
	// aucHi:aucLo is the 128-bit sum over groups of fp_g·(2·tp_before + tp_g),
	// which is 2·n·p times the area under the ROC curve with ties counted one
	// half: the Mann–Whitney U statistic, exactly.
	aucHi, aucLo uint64
	ap           neumaier // Σ tp_g · precision
	pro          neumaier // Σ 1/|region| over the positives seen so far

	limit            float64 // AUPRO FPR limit
	prevFPR, prevPRO float64
	area             float64
	areaDone         bool

	bestNum, bestDen uint64 // best F1 = bestNum/bestDen (2tp / (tp+fp+p))
	best             F1

	record func(Point) // optional: receives every point
}

func newSweeper(p, n uint64, regions int, limit float64) *sweeper {
	return &sweeper{p: p, n: n, regions: regions, limit: limit, best: F1{Threshold: math.Inf(1), Precision: 1}}
}

func (s *sweeper) group(thr float64, dtp, dfp uint64) {
	hi, lo := bits.Mul64(dfp, 2*s.tp+dtp)
	var carry uint64
	s.aucLo, carry = bits.Add64(s.aucLo, lo, 0)
	s.aucHi += hi + carry
	s.tp += dtp
	s.fp += dfp
	prec := float64(s.tp) / float64(s.tp+s.fp)
	if dtp > 0 {
		s.ap.add(float64(dtp) * prec)
	}
	if s.tp > 0 {
		// F1 = 2tp / (tp + fp + p). Compare exactly; ">=" keeps the lowest
		// threshold among ties, as argmax over ascending thresholds does in
		// anomalib's F1Max.
		num, den := 2*s.tp, s.tp+s.fp+s.p
		h1, l1 := bits.Mul64(num, s.bestDen)
		h2, l2 := bits.Mul64(s.bestNum, den)
		if s.bestDen == 0 || h1 > h2 || (h1 == h2 && l1 >= l2) {
			s.bestNum, s.bestDen = num, den
			s.best = F1{F1: float64(num) / float64(den), Threshold: thr, Precision: prec, Recall: float64(s.tp) / float64(s.p)}
		}
	}
	fpr := float64(s.fp) / float64(s.n)
	var pro float64
	if s.regions > 0 {
		pro = min(1, s.pro.value()/float64(s.regions))
		if !s.areaDone {
			if fpr <= s.limit {
				s.area += 0.5 * (pro + s.prevPRO) * (fpr - s.prevFPR)
				s.prevFPR, s.prevPRO = fpr, pro
			} else {
				// The first point past the limit: interpolate the PRO at the
				// limit linearly and close the area there.
				if s.prevFPR < s.limit {
					y := s.prevPRO + (pro-s.prevPRO)*(s.limit-s.prevFPR)/(fpr-s.prevFPR)
					s.area += 0.5 * (y + s.prevPRO) * (s.limit - s.prevFPR)
				}
				s.areaDone = true
			}
		}
	}
	if s.record != nil {
		s.record(Point{Threshold: thr, TP: s.tp, FP: s.fp, FPR: fpr, TPR: float64(s.tp) / float64(s.p), Precision: prec, PRO: pro})
	}
}

// auroc is U / (n·p).
func (s *sweeper) auroc() float64 {
	u := float64(s.aucHi)*0x1p64 + float64(s.aucLo)
	return u / 2 / float64(s.n) / float64(s.p)
}

// averagePrecision is Σ (R_k − R_{k−1}) · P_k over the thresholds, as
// sklearn's average_precision_score.
func (s *sweeper) averagePrecision() float64 { return s.ap.value() / float64(s.p) }

// aupro is the area under the PRO–FPR curve up to the limit, divided by the
// limit.
func (s *sweeper) aupro() float64 { return s.area / s.limit }
