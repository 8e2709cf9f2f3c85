package report

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/reconpatch/rp/reconpatch"
	"github.com/reconpatch/rp/reconpatch/metrics"
)

func pngBytes(t *testing.T, c color.Gray) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = c.Y
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func f(v float64) *float64 { return &v }

// testData is an evaluation of 10 good and 7 defective images with ties
// and one overlap, and thumbnails for the worst ones.
func testData(t *testing.T) Data {
	ev := &reconpatch.Evaluation{
		Overall: reconpatch.Metrics{Images: 17, Defective: 7, ImageAUROC: f(0.95), ImageF1Max: f(0.9), ImageF1Threshold: f(2.5)},
		Types: map[string]reconpatch.Metrics{
			"scratch": {Images: 14, Defective: 4, ImageAUROC: f(0.97), PixelAUROC: f(0.91), AUPRO: f(0.8), PixelF1Max: f(0.4)},
			"stain":   {Images: 13, Defective: 3, ImageAUROC: f(0.93)},
		},
		ImageThreshold: 2.2,
	}
	for i := range 10 {
		ev.Images = append(ev.Images, reconpatch.ImageResult{Path: "test/good/" + strconv.Itoa(i) + ".png", Type: "good", Score: 1 + float32(i%5)*0.3})
	}
	for i, s := range []float32{2.2, 3, 3.5, 4, 2.5, 2.5, 5} {
		typ := "scratch"
		if i >= 4 {
			typ = "stain"
		}
		ev.Images = append(ev.Images, reconpatch.ImageResult{Path: "test/" + typ + "/" + strconv.Itoa(i) + ".png", Type: typ, Defective: true, Score: s})
	}
	d := Data{Title: "demo <report>", Model: "reconpatch on keras_resnet50", Options: "resize 256 & crop 224", Dataset: "/tmp/x", Eval: ev, Thumbs: map[string]Thumb{}}
	fp, fn := Worst(ev, MaxWorst)
	for _, r := range append(fp, fn...) {
		d.Thumbs[r.Path] = Thumb{Image: pngBytes(t, color.Gray{Y: 100}), Heatmap: pngBytes(t, color.Gray{Y: 200})}
	}
	return d
}

func TestWorst(t *testing.T) {
	d := testData(t)
	fp, fn := Worst(d.Eval, 3)
	if len(fp) != 3 || len(fn) != 3 {
		t.Fatalf("Worst(3) = %d FP, %d FN", len(fp), len(fn))
	}
	for i, want := range []string{"test/good/4.png", "test/good/9.png", "test/good/3.png"} {
		if fp[i].Path != want || fp[i].Defective {
			t.Errorf("false positive %d: %+v, want %s (highest first, ties in order)", i, fp[i], want)
		}
	}
	want := []float32{2.2, 2.5, 2.5}
	for i, r := range fn {
		if !r.Defective || r.Score != want[i] {
			t.Errorf("false negative %d: %+v, want a defective image scoring %g", i, r, want[i])
		}
	}
	fp, fn = Worst(d.Eval, 100)
	if len(fp) != 10 || len(fn) != 7 {
		t.Errorf("Worst(100) = %d FP, %d FN, want 10, 7", len(fp), len(fn))
	}
}

func TestHistogram(t *testing.T) {
	for _, tc := range []struct {
		name   string
		scores []float64
		lo, hi float64
		bins   int
		want   []int
	}{
		{"spread", []float64{0, 0.1, 0.5, 0.99, 1}, 0, 1, 4, []int{2, 0, 1, 2}},
		{"outside", []float64{-5, 5}, 0, 1, 2, []int{1, 1}},
		{"empty range", []float64{3, 3}, 3, 3, 3, []int{2, 0, 0}},
		{"none", nil, 0, 1, 2, []int{0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := histogram(tc.scores, tc.lo, tc.hi, tc.bins)
			if !slicesEqual(got, tc.want) {
				t.Errorf("histogram = %v, want %v", got, tc.want)
			}
		})
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	d := testData(t)
	if err := Write(path, d); err != nil {
		t.Fatal(err)
	}
	// Atomic write: nothing but the report is left in the folder.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "report.html" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("folder holds %v, want only report.html", names)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(raw)

	t.Run("well-formed", func(t *testing.T) {
		dec := xml.NewDecoder(strings.NewReader(page))
		dec.Strict = true
		for {
			_, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("page does not parse as XML: %v", err)
			}
		}
	})
	t.Run("sections", func(t *testing.T) {
		for _, s := range []string{`id="model"`, `id="metrics"`, `id="roc"`, `id="histogram"`, `id="worst-fp"`, `id="worst-fn"`,
			"<title>demo &lt;report&gt;</title>", "resize 256 &amp; crop 224", "AUROC 0.", "<td>scratch</td>", "<td>stain</td>", "<td>overall</td>", "<td>0.9100</td>"} {
			if !strings.Contains(page, s) {
				t.Errorf("page lacks %q", s)
			}
		}
		// The stain row has no pixel metrics: dashes.
		if !regexp.MustCompile(`<td>stain</td><td>13</td><td>3</td><td>0\.9300</td><td>–</td><td>–</td>`).MatchString(page) {
			t.Error("stain row does not show – for missing pixel metrics")
		}
	})
	t.Run("offline", func(t *testing.T) {
		for _, s := range []string{"http://", "https://", "//cdn", "<script"} {
			if strings.Contains(page, s) {
				t.Errorf("page contains %q", s)
			}
		}
	})
	t.Run("thumbnails", func(t *testing.T) {
		uris := regexp.MustCompile(`src="data:image/png;base64,([^"]*)"`).FindAllStringSubmatch(page, -1)
		if want := 2 * (MaxWorst + 6); len(uris) != want {
			t.Fatalf("%d data URIs, want %d", len(uris), want)
		}
		for _, u := range uris {
			b, err := base64.StdEncoding.DecodeString(u[1])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := png.Decode(bytes.NewReader(b)); err != nil {
				t.Fatalf("data URI is not a PNG: %v", err)
			}
		}
		if n := strings.Count(page, "src="); n != len(uris) {
			t.Errorf("%d src attributes, %d data URIs", n, len(uris))
		}
	})
	t.Run("roc monotone", func(t *testing.T) {
		m := regexp.MustCompile(`<polyline class="roc"[^>]* points="([^"]*)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatal("no ROC polyline")
		}
		pts := strings.Fields(m[1])
		if len(pts) < 3 {
			t.Fatalf("ROC has %d points", len(pts))
		}
		px, py := -1.0, 1e9
		for i, p := range pts {
			x, y, ok := strings.Cut(p, ",")
			if !ok {
				t.Fatalf("point %q", p)
			}
			fx, _ := strconv.ParseFloat(x, 64)
			fy, _ := strconv.ParseFloat(y, 64)
			// SVG y grows downwards: TPR up is y down.
			if fx < px || fy > py {
				t.Fatalf("point %d (%s) after (%g,%g): not monotone", i, p, px, py)
			}
			px, py = fx, fy
		}
	})
	t.Run("histogram counts", func(t *testing.T) {
		sum := 0
		for _, c := range regexp.MustCompile(`data-count="(\d+)"`).FindAllStringSubmatch(page, -1) {
			n, _ := strconv.Atoi(c[1])
			sum += n
		}
		if sum != len(d.Eval.Images) {
			t.Errorf("histogram bars count %d images, want %d", sum, len(d.Eval.Images))
		}
		if !strings.Contains(page, `class="threshold"`) {
			t.Error("no threshold line")
		}
	})
}

func TestWriteOneClass(t *testing.T) {
	d := testData(t)
	ev := *d.Eval
	ev.Images = ev.Images[:10] // good images only
	d.Eval = &ev
	page, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, "No ROC curve") || strings.Contains(page, `class="roc"`) {
		t.Error("one-class evaluation should have no ROC curve and say so")
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	if err := Write(filepath.Join(dir, "r.html"), Data{}); err == nil || !strings.Contains(err.Error(), "r.html") {
		t.Errorf("Write without evaluation: %v, want an error naming the file", err)
	}
	bad := filepath.Join(dir, "missing", "r.html")
	if err := Write(bad, testData(t)); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Write into a missing folder: %v, want an error naming it", err)
	}
}

// TestPROCurve checks the PRO section: a polyline up to the FPR limit, with
// x non-decreasing, when the evaluation has a pixel curve; a note otherwise.
func TestPROCurve(t *testing.T) {
	d := testData(t)
	page, err := Render(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, "No PRO curve") {
		t.Error("no note for an evaluation without a pixel curve")
	}
	d.Eval.Overall.AUPRO = f(0.7)
	d.Eval.FPRLimit = 0.3
	for i := range 20 {
		fpr := float64(i) * 0.02 // the last points lie past the limit
		d.Eval.PROCurve = append(d.Eval.PROCurve, metrics.Point{FPR: fpr, PRO: min(1, fpr*3)})
	}
	if page, err = Render(d); err != nil {
		t.Fatal(err)
	}
	i := strings.Index(page, `class="pro"`)
	if i < 0 || !strings.Contains(page, "AUPRO 0.7000") {
		t.Fatal("no PRO polyline or legend")
	}
	pts := page[strings.Index(page[i:], `points="`)+i+len(`points="`):]
	pts = pts[:strings.IndexByte(pts, '"')]
	fields := strings.Fields(pts)
	if len(fields) != 16 { // FPR 0 … 0.30
		t.Fatalf("%d points, want the 16 up to the limit", len(fields))
	}
	last := -1.0
	for _, p := range fields {
		x, err := strconv.ParseFloat(p[:strings.IndexByte(p, ',')], 64)
		if err != nil || x < last {
			t.Fatalf("point %q after x=%v", p, last)
		}
		last = x
	}
}
