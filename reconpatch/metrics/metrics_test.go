package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// randomScores draws n scores; levels > 0 quantises them to that many
// values, so ties between normal and anomalous samples are everywhere.
func randomScores(r *rand.Rand, n, levels int, prevalence float64) ([]float64, []bool) {
	s := make([]float64, n)
	l := make([]bool, n)
	for i := range n {
		l[i] = r.Float64() < prevalence
		v := r.NormFloat64()
		if l[i] {
			v += 0.8
		}
		if levels > 0 {
			v = math.Round(v * float64(levels) / 6)
		}
		s[i] = v
	}
	// both classes present
	l[0], l[n-1] = true, false
	return s, l
}

func TestImageMetricsAgainstBruteForce(t *testing.T) {
	tests := []struct {
		name       string
		n, levels  int
		prevalence float64
	}{
		{"continuous", 200, 0, 0.3},
		{"ties", 300, 6, 0.5},
		{"heavy ties", 150, 2, 0.2},
		{"two values", 50, 1, 0.5},
		{"tiny", 2, 0, 0.5},
		{"rare positives", 400, 12, 0.02},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tc.n), uint64(tc.levels)))
			for trial := range 20 {
				s, l := randomScores(r, tc.n, tc.levels, tc.prevalence)
				got, err := EvaluateImages(s, l)
				if err != nil {
					t.Fatal(err)
				}
				if want := refAUROC(s, l); !near(got.AUROC, want, 1e-14) {
					t.Errorf("trial %d: AUROC %v, brute force %v", trial, got.AUROC, want)
				}
				if want := refAP(s, l); !near(got.AveragePrecision, want, 1e-12) {
					t.Errorf("trial %d: AP %v, brute force %v", trial, got.AveragePrecision, want)
				}
				want := refF1(s, l)
				if !near(got.F1.F1, want.F1, 1e-14) || got.F1.Threshold != want.Threshold ||
					!near(got.F1.Precision, want.Precision, 1e-14) || !near(got.F1.Recall, want.Recall, 1e-14) {
					t.Errorf("trial %d: F1 %+v, brute force %+v", trial, got.F1, want)
				}
			}
		})
	}
}

func TestCurve(t *testing.T) {
	s := []float64{0.1, 0.4, 0.35, 0.8, 0.4}
	l := []bool{false, false, true, true, true}
	pts, err := Curve(s, l)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		thr    float64
		tp, fp uint64
	}{{math.Inf(1), 0, 0}, {0.8, 1, 0}, {0.4, 2, 1}, {0.35, 3, 1}, {0.1, 3, 2}}
	if len(pts) != len(want) {
		t.Fatalf("%d points, want %d: %+v", len(pts), len(want), pts)
	}
	for i, w := range want {
		p := pts[i]
		if p.Threshold != w.thr || p.TP != w.tp || p.FP != w.fp {
			t.Errorf("point %d: %+v, want threshold %v TP %d FP %d", i, p, w.thr, w.tp, w.fp)
		}
		if p.FPR != float64(w.fp)/2 || p.TPR != float64(w.tp)/3 || p.Recall() != p.TPR {
			t.Errorf("point %d: rates %+v", i, p)
		}
	}
	if pts[0].Precision != 1 || pts[2].Precision != 2.0/3 {
		t.Errorf("precision %v %v", pts[0].Precision, pts[2].Precision)
	}
}

func TestErrors(t *testing.T) {
	if _, err := AUROC([]float64{1, 2}, []bool{true, true}); !errors.Is(err, ErrOneClass) {
		t.Errorf("one class: %v", err)
	}
	if _, err := AUROC(nil, nil); !errors.Is(err, ErrOneClass) {
		t.Errorf("empty: %v", err)
	}
	if _, err := AUROC([]float64{1, math.NaN()}, []bool{true, false}); err == nil {
		t.Error("NaN accepted")
	}
	if _, err := F1Max([]float64{1}, []bool{true, false}); err == nil {
		t.Error("length mismatch accepted")
	}

	e := NewPixelEvaluator(Options{})
	if err := e.Add(make([]float32, 5), nil, 2, 3); err == nil {
		t.Error("wrong score count accepted")
	}
	if err := e.Add(make([]float32, 6), make([]uint8, 5), 2, 3); err == nil {
		t.Error("wrong mask size accepted")
	}
	if err := e.Add([]float32{0, float32(math.NaN())}, nil, 2, 1); err == nil {
		t.Error("NaN accepted")
	}
	if err := e.Add([]float32{0, 1}, nil, 2, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Result(); !errors.Is(err, ErrOneClass) {
		t.Errorf("no defect pixels: %v", err)
	}
	if err := e.Add([]float32{0, 1}, []uint8{0, 0}, 2, 1); err != nil { // empty mask
		t.Fatal(err)
	}
	if _, err := e.Result(); !errors.Is(err, ErrOneClass) {
		t.Errorf("only an empty mask: %v", err)
	}
	if err := e.Add([]float32{0, 1}, []uint8{0, 255}, 2, 1); err != nil {
		t.Fatal(err)
	}
	if r, err := e.Result(); err != nil || r.AUROC != 0.8 || r.Regions != 1 || r.Images != 3 {
		t.Errorf("Result: %+v, %v", r, err)
	}
	for _, lim := range []float64{-0.1, 1.5, math.NaN()} {
		bad := NewPixelEvaluator(Options{FPRLimit: lim})
		_ = bad.Add([]float32{0, 1}, []uint8{0, 1}, 2, 1)
		if _, err := bad.Result(); err == nil {
			t.Errorf("FPR limit %v accepted", lim)
		}
	}
}

// randomMaps builds maps with blob-shaped defects, some good images (nil
// masks) and an empty mask, and scores quantised to levels values when
// levels > 0.
func randomMaps(r *rand.Rand, images, w, h, levels int) []Map {
	maps := make([]Map, images)
	for k := range maps {
		m := Map{W: w, H: h, Scores: make([]float32, w*h)}
		if k%4 != 0 {
			m.Mask = make([]uint8, w*h)
			if k%4 != 1 { // k%4 == 1: an empty mask
				for range 1 + r.IntN(3) {
					cx, cy, rx, ry := r.IntN(w), r.IntN(h), 1+r.IntN(3), 1+r.IntN(3)
					for y := max(0, cy-ry); y < min(h, cy+ry); y++ {
						for x := max(0, cx-rx); x < min(w, cx+rx); x++ {
							if r.IntN(5) > 0 { // ragged: some single-pixel and diagonal links
								m.Mask[y*w+x] = 255
							}
						}
					}
				}
			}
		}
		for i := range m.Scores {
			v := r.NormFloat64()
			if m.Mask != nil && m.Mask[i] != 0 {
				v += 1.2
			}
			if levels > 0 {
				v = math.Round(v * float64(levels) / 6)
			}
			m.Scores[i] = float32(v)
		}
		maps[k] = m
	}
	return maps
}

func flatten(maps []Map) ([]float64, []bool) {
	var s []float64
	var l []bool
	for _, m := range maps {
		for i, v := range m.Scores {
			s = append(s, float64(v))
			l = append(l, m.Mask != nil && m.Mask[i] != 0)
		}
	}
	return s, l
}

func TestPixelMetricsAgainstBruteForce(t *testing.T) {
	tests := []struct {
		name         string
		images, w, h int
		levels       int
		limit        float64
	}{
		{"continuous", 8, 12, 9, 0, 0.3},
		{"ties", 8, 10, 10, 8, 0.3},
		{"heavy ties", 6, 9, 7, 2, 0.3},
		{"limit 0.05", 8, 12, 9, 0, 0.05},
		{"limit 1", 8, 12, 9, 6, 1},
		{"one row", 5, 20, 1, 4, 0.3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tc.w), uint64(tc.levels)))
			for trial := range 5 {
				maps := randomMaps(r, tc.images, tc.w, tc.h, tc.levels)
				s, l := flatten(maps)
				if !slices.Contains(l, true) {
					continue
				}
				got, err := EvaluatePixels(maps, Options{FPRLimit: tc.limit})
				if err != nil {
					t.Fatal(err)
				}
				if want := refAUROC(s, l); !near(got.AUROC, want, 1e-14) {
					t.Errorf("trial %d: AUROC %v, brute force %v", trial, got.AUROC, want)
				}
				if want := refAP(s, l); !near(got.AveragePrecision, want, 1e-12) {
					t.Errorf("trial %d: AP %v, brute force %v", trial, got.AveragePrecision, want)
				}
				if want := refF1(s, l); !near(got.F1.F1, want.F1, 1e-14) || got.F1.Threshold != want.Threshold {
					t.Errorf("trial %d: F1 %+v, brute force %+v", trial, got.F1, want)
				}
				if want := refAUPRO(maps, tc.limit); !near(got.AUPRO, want, 1e-12) {
					t.Errorf("trial %d: AUPRO %v, brute force %v", trial, got.AUPRO, want)
				}
				img, err := EvaluateImages(s, l)
				if err != nil || img.AUROC != got.AUROC || img.F1 != got.F1 {
					t.Errorf("trial %d: image-level functions on the pixels disagree: %+v vs %+v", trial, img, got)
				}
			}
		})
	}
}

func TestAUPROPerfectAndInverted(t *testing.T) {
	mask := []uint8{0, 1, 1, 0, 0, 0, 1, 0, 0}
	good := make([]float32, 9)
	bad := make([]float32, 9)
	for i, m := range mask {
		good[i] = float32(m)
		bad[i] = 1 - float32(m)
	}
	r, err := EvaluatePixels([]Map{{W: 3, H: 3, Scores: good, Mask: mask}}, Options{})
	if err != nil || r.AUPRO != 1 || r.AUROC != 1 || r.F1.F1 != 1 || r.Regions != 2 {
		t.Errorf("perfect map: %+v %v", r, err)
	}
	r, err = EvaluatePixels([]Map{{W: 3, H: 3, Scores: bad, Mask: mask}}, Options{})
	if err != nil || r.AUPRO != 0 || r.AUROC != 0 {
		t.Errorf("inverted map: %+v %v", r, err)
	}
}

func TestComponents(t *testing.T) {
	tests := []struct {
		name string
		w, h int
		mask string
		n    int
	}{
		{"diagonal chain", 4, 4, "1000010000100001", 1},
		{"anti-diagonal", 3, 3, "001010100", 1},
		{"separate", 5, 1, "10101", 3},
		{"ring", 3, 3, "111101111", 1},
		{"empty", 2, 2, "0000", 0},
		{"full", 2, 3, "111111", 1},
		{"wrap is no link", 3, 2, "001100", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mask := make([]uint8, len(tc.mask))
			for i, c := range tc.mask {
				mask[i] = uint8(c - '0')
			}
			lab, sizes, _ := components(mask, tc.w, tc.h, nil, nil)
			if len(sizes) != tc.n {
				t.Fatalf("%d components, want %d (labels %v)", len(sizes), tc.n, lab)
			}
		})
	}
	r := rand.New(rand.NewPCG(1, 2))
	var lab, stack []int32
	for trial := range 200 {
		w, h := 1+r.IntN(20), 1+r.IntN(20)
		mask := make([]uint8, w*h)
		for i := range mask {
			if r.IntN(100) < 35 {
				mask[i] = 1
			}
		}
		var sizes []uint32
		lab, sizes, stack = components(mask, w, h, lab, stack)
		want, n := refLabel(mask, w, h)
		if len(sizes) != n {
			t.Fatalf("trial %d: %d components, want %d", trial, len(sizes), n)
		}
		// Both number components in raster order of their first pixel.
		count := make([]uint32, n)
		for i := range want {
			if int(lab[i]) != want[i] {
				t.Fatalf("trial %d: pixel %d labelled %d, want %d", trial, i, lab[i], want[i])
			}
			if want[i] > 0 {
				count[want[i]-1]++
			}
		}
		if !slices.Equal(count, sizes) {
			t.Fatalf("trial %d: sizes %v, want %v", trial, sizes, count)
		}
	}
}

func TestKeyOrder(t *testing.T) {
	vals := []float32{float32(math.Inf(-1)), -math.MaxFloat32, -1, -math.SmallestNonzeroFloat32, 0,
		math.SmallestNonzeroFloat32, 1e-30, 0.5, 1, math.MaxFloat32, float32(math.Inf(1))}
	for i := 1; i < len(vals); i++ {
		if key32(vals[i-1]) >= key32(vals[i]) {
			t.Errorf("key(%v) >= key(%v)", vals[i-1], vals[i])
		}
	}
	for _, v := range vals {
		if unkey32(key32(v)) != v {
			t.Errorf("round trip %v → %v", v, unkey32(key32(v)))
		}
	}
	if key32(float32(math.Copysign(0, -1))) != key32(0) {
		t.Error("−0 and +0 differ")
	}
}

func TestSignedZeroTies(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	maps := []Map{{W: 4, H: 1, Scores: []float32{negZero, 0, 0, negZero}, Mask: []uint8{1, 0, 1, 0}}}
	r, err := EvaluatePixels(maps, Options{})
	if err != nil || r.AUROC != 0.5 {
		t.Errorf("AUROC of all-tied zeros: %+v %v", r, err)
	}
}

func TestRadixSort(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 47, 48, 49, 1000, 100000} {
		for _, spread := range []uint32{0, 3, 1 << 12, math.MaxUint32} {
			a := make([]uint32, n)
			b := make([]uint64, n)
			for i := range a {
				v := uint32(r.Uint64())
				if spread != math.MaxUint32 {
					v = 0xC0000000 + uint32(r.IntN(int(spread)+1))
				}
				a[i] = v
				b[i] = uint64(v)<<32 | uint64(r.Uint32())
			}
			want := slices.Clone(a)
			slices.Sort(want)
			radixSort(a, 24, 0)
			if !slices.Equal(a, want) {
				t.Fatalf("uint32 n=%d spread=%d: not sorted", n, spread)
			}
			radixSort(b, 56, 32)
			for i := range b {
				if uint32(b[i]>>32) != want[i] {
					t.Fatalf("uint64 n=%d spread=%d: not sorted by the high half at %d", n, spread, i)
				}
			}
		}
	}
}

func TestPixelCurve(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	maps := randomMaps(r, 12, 32, 32, 0)
	res, err := EvaluatePixels(maps, Options{CurvePoints: 20})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Curve
	if len(c) < 20 || len(c) > 3*20+2 {
		t.Fatalf("%d curve points for CurvePoints 20", len(c))
	}
	first, last := c[0], c[len(c)-1]
	if !math.IsInf(first.Threshold, 1) || first.FPR != 0 || first.TPR != 0 {
		t.Errorf("first point %+v", first)
	}
	if last.FPR != 1 || last.TPR != 1 || math.Abs(last.PRO-1) > 1e-12 || last.TP+last.FP != uint64(res.Pixels) {
		t.Errorf("last point %+v", last)
	}
	for i := 1; i < len(c); i++ {
		if c[i].Threshold >= c[i-1].Threshold || c[i].FPR < c[i-1].FPR || c[i].TPR < c[i-1].TPR || c[i].PRO < c[i-1].PRO {
			t.Errorf("curve not monotone at %d: %+v after %+v", i, c[i], c[i-1])
		}
	}
	if res.Curve = nil; res.Images != 12 || res.Pixels != 12*32*32 {
		t.Errorf("counts %+v", res)
	}
}

func TestPixelAUROCLarge(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, levels := range []int{0, 50, 3} {
		maps := randomMaps(r, 40, 64, 48, levels)
		s, l := flatten(maps)
		got, err := EvaluatePixels(maps, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if want := refRankAUROC(s, l); !near(got.AUROC, want, 1e-12) {
			t.Errorf("levels %d: AUROC %v, rank formula %v", levels, got.AUROC, want)
		}
		// The image-level path sorts by comparison, not by radix.
		img, err := EvaluateImages(s, l)
		if err != nil || img.F1 != got.F1 || !near(img.AveragePrecision, got.AveragePrecision, 1e-12) {
			t.Errorf("levels %d: pixel F1 %+v AP %v, comparison-sorted %+v", levels, got.F1, got.AveragePrecision, img)
		}
	}
}
