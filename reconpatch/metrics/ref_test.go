package metrics

import (
	"math"
	"slices"
)

// Brute-force references, written independently of the package code: every
// threshold tried, every pair compared.

// refAUROC counts pairs: a (positive, negative) pair scores 1 when the
// positive is higher, 1/2 when tied.
func refAUROC(scores []float64, labels []bool) float64 {
	var u float64
	var p, n int
	for i, si := range scores {
		if !labels[i] {
			n++
			continue
		}
		p++
		for j, sj := range scores {
			if labels[j] {
				continue
			}
			switch {
			case si > sj:
				u++
			case si == sj:
				u += 0.5
			}
		}
	}
	return u / float64(p) / float64(n)
}

// refThresholds returns the distinct scores, highest first.
func refThresholds(scores []float64) []float64 {
	t := slices.Clone(scores)
	slices.Sort(t)
	t = slices.Compact(t)
	slices.Reverse(t)
	return t
}

func refCounts(scores []float64, labels []bool, thr float64) (tp, fp, p int) {
	for i, s := range scores {
		if labels[i] {
			p++
		}
		if s >= thr {
			if labels[i] {
				tp++
			} else {
				fp++
			}
		}
	}
	return
}

// refF1 tries every threshold; among ties the lowest threshold wins.
func refF1(scores []float64, labels []bool) F1 {
	best := F1{F1: -1}
	for _, t := range refThresholds(scores) {
		tp, fp, p := refCounts(scores, labels, t)
		if tp == 0 {
			continue
		}
		prec := float64(tp) / float64(tp+fp)
		rec := float64(tp) / float64(p)
		f := 2 * prec * rec / (prec + rec)
		if f >= best.F1-1e-12 {
			best = F1{F1: f, Threshold: t, Precision: prec, Recall: rec}
		}
	}
	return best
}

// refAP is Σ (R_k − R_{k−1}) P_k over all thresholds.
func refAP(scores []float64, labels []bool) float64 {
	var ap, prevR float64
	for _, t := range refThresholds(scores) {
		tp, fp, p := refCounts(scores, labels, t)
		r := float64(tp) / float64(p)
		ap += (r - prevR) * float64(tp) / float64(tp+fp)
		prevR = r
	}
	return ap
}

// refLabel labels 8-connected components by union-find over the mask.
func refLabel(mask []uint8, w, h int) (lab []int, n int) {
	parent := make([]int, w*h)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			i = parent[i]
		}
		return i
	}
	for y := range h {
		for x := range w {
			i := y*w + x
			if mask[i] == 0 {
				continue
			}
			for _, d := range [][2]int{{-1, -1}, {0, -1}, {1, -1}, {-1, 0}} {
				xx, yy := x+d[0], y+d[1]
				if xx >= 0 && xx < w && yy >= 0 && mask[yy*w+xx] != 0 {
					a, b := find(i), find(yy*w+xx)
					parent[max(a, b)] = min(a, b)
				}
			}
		}
	}
	lab = make([]int, w*h)
	ids := map[int]int{}
	for i := range lab {
		if mask[i] == 0 {
			continue
		}
		r := find(i)
		if _, ok := ids[r]; !ok {
			n++
			ids[r] = n
		}
		lab[i] = ids[r]
	}
	return lab, n
}

// refAUPRO computes PRO and FPR at every threshold by direct counting and
// integrates the curve from (0, 0) with interpolation at the limit.
func refAUPRO(maps []Map, limit float64) float64 {
	type region struct{ img, id, size int }
	var regions []region
	labs := make([][]int, len(maps))
	var all []float64
	normal := 0
	for k, m := range maps {
		mask := m.Mask
		if mask == nil {
			mask = make([]uint8, m.W*m.H)
		}
		var n int
		labs[k], n = refLabel(mask, m.W, m.H)
		for id := 1; id <= n; id++ {
			size := 0
			for _, l := range labs[k] {
				if l == id {
					size++
				}
			}
			regions = append(regions, region{k, id, size})
		}
		for i, s := range m.Scores {
			all = append(all, float64(s))
			if labs[k][i] == 0 {
				normal++
			}
		}
	}
	xs, ys := []float64{0}, []float64{0}
	for _, t := range refThresholds(all) {
		fp := 0
		for k, m := range maps {
			for i, s := range m.Scores {
				if labs[k][i] == 0 && float64(s) >= t {
					fp++
				}
			}
		}
		var pro float64
		for _, r := range regions {
			hit := 0
			for i, s := range maps[r.img].Scores {
				if labs[r.img][i] == r.id && float64(s) >= t {
					hit++
				}
			}
			pro += float64(hit) / float64(r.size)
		}
		xs = append(xs, float64(fp)/float64(normal))
		ys = append(ys, pro/float64(len(regions)))
	}
	var area float64
	for i := 1; i < len(xs); i++ {
		if xs[i] <= limit {
			area += (xs[i] - xs[i-1]) * (ys[i] + ys[i-1]) / 2
			continue
		}
		if xs[i-1] < limit {
			y := ys[i-1] + (ys[i]-ys[i-1])*(limit-xs[i-1])/(xs[i]-xs[i-1])
			area += (limit - xs[i-1]) * (y + ys[i-1]) / 2
		}
		break
	}
	return area / limit
}

func near(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// refRankAUROC is the Mann–Whitney formula with average ranks:
// (Σ ranks of positives − p(p+1)/2) / (p·n), for sizes pair counting cannot
// reach.
func refRankAUROC(scores []float64, labels []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case scores[a] < scores[b]:
			return -1
		case scores[a] > scores[b]:
			return 1
		}
		return 0
	})
	var rankSum float64
	var p int
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avg := float64(i+1+j) / 2 // ranks i+1..j
		for k := i; k < j; k++ {
			if labels[idx[k]] {
				rankSum += avg
				p++
			}
		}
		i = j
	}
	n := len(scores) - p
	return (rankSum - float64(p)*float64(p+1)/2) / float64(p) / float64(n)
}
