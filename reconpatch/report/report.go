// Package report writes a model's evaluation as one self-contained HTML
// file: a model summary, the metrics table, the image ROC curve, score
// histograms of good and defective test images, and thumbnails of the worst
// false positives and false negatives. Everything is inline (CSS, SVG
// plots, PNG thumbnails as data URIs), so the file opens offline and can be
// mailed or archived on its own.
//
// The package does not run models: the caller renders the thumbnails (see
// Worst for which images they should be) and passes their PNG bytes in Data.
package report

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"html"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/reconpatch/rp/internal/atomicfile"
	"github.com/reconpatch/rp/reconpatch"
	"github.com/reconpatch/rp/reconpatch/metrics"
)

// MaxWorst is how many worst false positives and false negatives a report
// shows, each.
const MaxWorst = 6

// histBins is the number of bins of the score histograms.
const histBins = 20

// Data is what a report shows.
type Data struct {
	// Title heads the page; empty means "rp evaluation report".
	Title string
	// Model summarises the model in one line, e.g. "reconpatch on
	// keras_resnet50"; Options is a second line with its settings.
	Model, Options string
	// Dataset names the evaluated data set (a folder).
	Dataset string
	// Eval is the evaluation to show (required).
	Eval *reconpatch.Evaluation
	// Thumbs holds pre-rendered PNG thumbnails by ImageResult.Path, for the
	// images Worst picks; an image without one is listed without pictures.
	Thumbs map[string]Thumb
}

// Thumb is one image's pictures, PNG-encoded.
type Thumb struct {
	Image   []byte // the preprocessed image
	Heatmap []byte // the anomaly heatmap over it
}

// Worst returns up to n of the worst false positives (the highest-scoring
// good images, highest first) and false negatives (the lowest-scoring
// defective images, lowest first) of ev. Ties keep the evaluation's order.
func Worst(ev *reconpatch.Evaluation, n int) (fp, fn []reconpatch.ImageResult) {
	for _, r := range ev.Images {
		if r.Defective {
			fn = append(fn, r)
		} else {
			fp = append(fp, r)
		}
	}
	slices.SortStableFunc(fp, func(a, b reconpatch.ImageResult) int { return cmp.Compare(b.Score, a.Score) })
	slices.SortStableFunc(fn, func(a, b reconpatch.ImageResult) int { return cmp.Compare(a.Score, b.Score) })
	return fp[:min(n, len(fp))], fn[:min(n, len(fn))]
}

// Write renders d as HTML and writes it to path atomically: to a temporary
// file in path's folder, renamed over path once complete.
func Write(path string, d Data) error {
	if d.Eval == nil {
		return fmt.Errorf("report: %s: no evaluation to report", path)
	}
	page, err := Render(d)
	if err != nil {
		return fmt.Errorf("report: %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, []byte(page), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// Render returns d as an HTML page.
func Render(d Data) (string, error) {
	if d.Eval == nil {
		return "", fmt.Errorf("no evaluation to report")
	}
	title := cmp.Or(d.Title, "rp evaluation report")
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
	fmt.Fprintf(&b, "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", esc(title), css)
	fmt.Fprintf(&b, "<h1>%s</h1>\n<section id=\"model\">\n", esc(title))
	if d.Model != "" {
		fmt.Fprintf(&b, "<p class=\"model\">%s</p>\n", esc(d.Model))
	}
	if d.Options != "" {
		fmt.Fprintf(&b, "<p class=\"options\">%s</p>\n", esc(d.Options))
	}
	if d.Dataset != "" {
		fmt.Fprintf(&b, "<p>data set: <code>%s</code></p>\n", esc(d.Dataset))
	}
	b.WriteString("</section>\n")
	writeMetrics(&b, d.Eval)
	b.WriteString("<div class=\"plots\">\n")
	writeROC(&b, d.Eval)
	writePRO(&b, d.Eval)
	writeHistogram(&b, d.Eval)
	b.WriteString("</div>\n")
	fp, fn := Worst(d.Eval, MaxWorst)
	writeGallery(&b, "worst-fp", "Worst false positives", "highest-scoring good images", fp, d)
	writeGallery(&b, "worst-fn", "Worst false negatives", "lowest-scoring defective images", fn, d)
	b.WriteString("</body>\n</html>\n")
	return b.String(), nil
}

// css is the page's style sheet. It holds no '<' or '&', so the page stays
// well-formed XML.
const css = `
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}tr.overall{font-weight:bold}
.options{color:#555;font-size:.9em}.plots{display:flex;flex-wrap:wrap;gap:2em}
figure{margin:0}figcaption{font-size:.9em;color:#555}
.gallery{display:flex;flex-wrap:wrap;gap:1em}.thumb{border:1px solid #ddd;padding:.4em}
.thumb img{width:160px;height:auto;image-rendering:pixelated;margin-right:2px}
.thumb p{margin:.2em 0;font-size:.85em;max-width:330px;overflow-wrap:anywhere}
svg text{font-size:11px;fill:#333}
`

func esc(s string) string { return html.EscapeString(s) }

// fmtMetric formats a metric, "–" for nil.
func fmtMetric(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.4f", *v)
}

func writeMetrics(b *strings.Builder, ev *reconpatch.Evaluation) {
	b.WriteString("<section id=\"metrics\">\n<h2>Metrics</h2>\n<table class=\"metrics\">\n")
	b.WriteString("<tr><th>set</th><th>images</th><th>defective</th><th>image AUROC</th><th>pixel AUROC</th><th>AUPRO</th><th>image F1-max</th><th>pixel F1-max</th></tr>\n")
	row := func(class, name string, m reconpatch.Metrics) {
		fmt.Fprintf(b, "<tr%s><td>%s</td><td>%d</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			class, esc(name), m.Images, m.Defective, fmtMetric(m.ImageAUROC), fmtMetric(m.PixelAUROC),
			fmtMetric(m.AUPRO), fmtMetric(m.ImageF1Max), fmtMetric(m.PixelF1Max))
	}
	for _, t := range slices.Sorted(maps.Keys(ev.Types)) {
		row("", t, ev.Types[t])
	}
	row(` class="overall"`, "overall", ev.Overall)
	b.WriteString("</table>\n")
	fmt.Fprintf(b, "<p>image threshold: stored %.4g", ev.ImageThreshold)
	if th := ev.Overall.ImageF1Threshold; th != nil {
		fmt.Fprintf(b, ", F1-optimal on this test set %.4g", *th)
	}
	b.WriteString("</p>\n</section>\n")
}

// Plot geometry, in SVG user units: a square plot area inside margins.
const (
	plotW, plotH           = 300.0, 220.0
	marginL, marginR       = 45.0, 15.0
	marginT, marginB       = 15.0, 40.0
	svgW, svgH             = marginL + plotW + marginR, marginT + plotH + marginB
	colGood, colDefect     = "#2b83ba", "#d7191c"
	colThreshold, colRandm = "#333", "#aaa"
)

func px(x float64) float64 { return marginL + x*plotW }     // x in [0,1]
func py(y float64) float64 { return marginT + (1-y)*plotH } // y in [0,1]

func svgOpen(b *strings.Builder, label string) {
	fmt.Fprintf(b, "<svg width=\"%g\" height=\"%g\" viewBox=\"0 0 %g %g\" role=\"img\" aria-label=\"%s\">\n", svgW, svgH, svgW, svgH, esc(label))
	fmt.Fprintf(b, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#999\"/>\n", marginL, marginT, plotW, plotH)
}

// axisTicks draws ticks and labels at the given fractions of each axis.
func axisTicks(b *strings.Builder, xs []float64, xlabel func(float64) string, ys []float64, ylabel func(float64) string, xTitle, yTitle string) {
	for _, x := range xs {
		fmt.Fprintf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/>", px(x), py(0), px(x), py(0)+4)
		fmt.Fprintf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", px(x), py(0)+15, esc(xlabel(x)))
	}
	for _, y := range ys {
		fmt.Fprintf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/>", px(0)-4, py(y), px(0), py(y))
		fmt.Fprintf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", px(0)-6, py(y)+4, esc(ylabel(y)))
	}
	fmt.Fprintf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", px(0.5), svgH-6, esc(xTitle))
	fmt.Fprintf(b, "<text x=\"12\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 12 %.1f)\">%s</text>\n", py(0.5), py(0.5), esc(yTitle))
}

func imageScores(ev *reconpatch.Evaluation) (scores []float64, labels []bool) {
	for _, r := range ev.Images {
		scores = append(scores, float64(r.Score))
		labels = append(labels, r.Defective)
	}
	return scores, labels
}

func writeROC(b *strings.Builder, ev *reconpatch.Evaluation) {
	b.WriteString("<section id=\"roc\">\n<h2>Image ROC</h2>\n")
	scores, labels := imageScores(ev)
	fpr, tpr, _, err := metrics.ROC(scores, labels)
	if err != nil {
		fmt.Fprintf(b, "<p>No ROC curve: %s.</p>\n</section>\n", esc(err.Error()))
		return
	}
	auroc, err := metrics.AUROC(scores, labels)
	if err != nil {
		fmt.Fprintf(b, "<p>No ROC curve: %s.</p>\n</section>\n", esc(err.Error()))
		return
	}
	svgOpen(b, "image ROC curve")
	ticks := []float64{0, 0.25, 0.5, 0.75, 1}
	f := func(v float64) string { return fmt.Sprintf("%g", v) }
	axisTicks(b, ticks, f, ticks, f, "false positive rate", "true positive rate")
	fmt.Fprintf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-dasharray=\"4 3\"/>\n", px(0), py(0), px(1), py(1), colRandm)
	b.WriteString("<polyline class=\"roc\" fill=\"none\" stroke=\"" + colDefect + "\" stroke-width=\"2\" points=\"")
	for i := range fpr {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(b, "%.2f,%.2f", px(fpr[i]), py(tpr[i]))
	}
	b.WriteString("\"/>\n")
	fmt.Fprintf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>", px(0.45), py(0.1), px(0.53), py(0.1), colDefect)
	fmt.Fprintf(b, "<text class=\"legend\" x=\"%.1f\" y=\"%.1f\">AUROC %.4f</text>\n", px(0.55), py(0.1)+4, auroc)
	b.WriteString("</svg>\n</section>\n")
}

// writePRO plots the overall per-region overlap against the pixel FPR up
// to the AUPRO integral's limit (the MVTec AD evaluation's curve).
func writePRO(b *strings.Builder, ev *reconpatch.Evaluation) {
	b.WriteString("<section id=\"pro\">\n<h2>Pixel PRO curve</h2>\n")
	limit := ev.FPRLimit
	if len(ev.PROCurve) == 0 || !(limit > 0) || ev.Overall.AUPRO == nil {
		b.WriteString("<p>No PRO curve: no defect masks in the test set.</p>\n</section>\n")
		return
	}
	svgOpen(b, "pixel PRO curve")
	yt := []float64{0, 0.25, 0.5, 0.75, 1}
	axisTicks(b, []float64{0, 1.0 / 3, 2.0 / 3, 1}, func(v float64) string { return fmt.Sprintf("%.2g", v*limit) }, yt,
		func(v float64) string { return fmt.Sprintf("%g", v) }, "pixel false positive rate", "per-region overlap")
	b.WriteString("<polyline class=\"pro\" fill=\"none\" stroke=\"" + colDefect + "\" stroke-width=\"2\" points=\"")
	first := true
	for _, p := range ev.PROCurve {
		if p.FPR > limit {
			break
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		fmt.Fprintf(b, "%.2f,%.2f", px(p.FPR/limit), py(p.PRO))
	}
	b.WriteString("\"/>\n")
	fmt.Fprintf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>", px(0.45), py(0.1), px(0.53), py(0.1), colDefect)
	fmt.Fprintf(b, "<text class=\"legend\" x=\"%.1f\" y=\"%.1f\">AUPRO %.4f (FPR ≤ %g)</text>\n", px(0.55), py(0.1)+4, *ev.Overall.AUPRO, limit)
	b.WriteString("</svg>\n</section>\n")
}

// histogram counts scores in bins equal-width bins over [lo, hi]; a score
// outside the range goes to the nearest end bin.
func histogram(scores []float64, lo, hi float64, bins int) []int {
	c := make([]int, bins)
	w := (hi - lo) / float64(bins)
	for _, s := range scores {
		i := 0
		if w > 0 {
			i = int(math.Floor((s - lo) / w))
		}
		c[min(max(i, 0), bins-1)]++
	}
	return c
}

func writeHistogram(b *strings.Builder, ev *reconpatch.Evaluation) {
	b.WriteString("<section id=\"histogram\">\n<h2>Image scores</h2>\n")
	var good, bad []float64
	for _, r := range ev.Images {
		if r.Defective {
			bad = append(bad, float64(r.Score))
		} else {
			good = append(good, float64(r.Score))
		}
	}
	if len(good)+len(bad) == 0 {
		b.WriteString("<p>No test images.</p>\n</section>\n")
		return
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range slices.Concat(good, bad) {
		lo, hi = min(lo, s), max(hi, s)
	}
	th := ev.ImageThreshold
	if th > 0 && !math.IsInf(th, 0) && !math.IsNaN(th) {
		lo, hi = min(lo, th), max(hi, th)
	}
	if hi <= lo {
		lo, hi = lo-0.5, hi+0.5
	}
	pad := (hi - lo) * 0.02
	lo, hi = lo-pad, hi+pad
	hg, hb := histogram(good, lo, hi, histBins), histogram(bad, lo, hi, histBins)
	peak := max(slices.Max(hg), slices.Max(hb), 1)
	svgOpen(b, "histogram of image scores")
	xs := []float64{0, 0.25, 0.5, 0.75, 1}
	axisTicks(b, xs, func(x float64) string { return fmt.Sprintf("%.3g", lo+x*(hi-lo)) },
		[]float64{0, 0.5, 1}, func(y float64) string { return fmt.Sprintf("%g", math.Round(y*float64(peak)*10)/10) },
		"image score", "images")
	bw := plotW / histBins
	for _, s := range []struct {
		name, colour string
		counts       []int
	}{{"good", colGood, hg}, {"defective", colDefect, hb}} {
		fmt.Fprintf(b, "<g class=\"bars %s\" fill=\"%s\" fill-opacity=\"0.5\">", s.name, s.colour)
		for i, c := range s.counts {
			if c == 0 {
				continue
			}
			h := float64(c) / float64(peak) * plotH
			fmt.Fprintf(b, "<rect data-count=\"%d\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>", c, marginL+float64(i)*bw, py(0)-h, bw, h)
		}
		b.WriteString("</g>\n")
	}
	if th > 0 && !math.IsInf(th, 0) && !math.IsNaN(th) {
		x := px((th - lo) / (hi - lo))
		fmt.Fprintf(b, "<line class=\"threshold\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>\n", x, py(0), x, py(1), colThreshold)
	}
	for i, l := range []struct{ name, colour string }{{fmt.Sprintf("good (%d)", len(good)), colGood}, {fmt.Sprintf("defective (%d)", len(bad)), colDefect}, {fmt.Sprintf("stored threshold %.4g", th), colThreshold}} {
		y := marginT + 12 + float64(i)*14
		fmt.Fprintf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\" fill-opacity=\"0.6\"/><text class=\"legend\" x=\"%.1f\" y=\"%.1f\">%s</text>\n", px(0.55), y-9, l.colour, px(0.55)+14, y, esc(l.name))
	}
	b.WriteString("</svg>\n</section>\n")
}

func writeGallery(b *strings.Builder, id, title, what string, rs []reconpatch.ImageResult, d Data) {
	fmt.Fprintf(b, "<section id=\"%s\">\n<h2>%s</h2>\n<p>The %s, up to %d.</p>\n<div class=\"gallery\">\n", id, esc(title), esc(what), MaxWorst)
	if len(rs) == 0 {
		b.WriteString("<p>None.</p>\n")
	}
	for _, r := range rs {
		b.WriteString("<figure class=\"thumb\">")
		if t, ok := d.Thumbs[r.Path]; ok {
			for _, p := range []struct {
				png []byte
				alt string
			}{{t.Image, "image"}, {t.Heatmap, "heatmap"}} {
				if len(p.png) > 0 {
					fmt.Fprintf(b, "<img alt=\"%s\" src=\"data:image/png;base64,%s\"/>", p.alt, base64.StdEncoding.EncodeToString(p.png))
				}
			}
		}
		label := "good"
		if r.Defective {
			label = r.Type
		}
		fmt.Fprintf(b, "<figcaption><p>score <b>%.4g</b> · %s</p><p><code>%s</code></p></figcaption></figure>\n", r.Score, esc(label), esc(r.Path))
	}
	b.WriteString("</div>\n</section>\n")
}
