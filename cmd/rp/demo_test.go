package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconpatch/rp/weights"
)

// TestDemoCommand runs rp demo with a tiny configuration, then rp eval
// -report on its model and data, and checks what they write.
func TestDemoCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end model test; skipped with -short")
	}
	if _, err := weights.FindKerasResNet50(); err != nil {
		t.Skipf("needs the Keras ResNet-50 (make weights): %v", err)
	}
	dir := t.TempDir()
	var out, errb bytes.Buffer
	args := []string{"demo", "-o", dir, "-q", "-seed", "3", "-size", "128", "-train", "8", "-test-good", "3", "-test-defect", "1",
		"-resize", "128", "-crop", "128", "-epochs", "1", "-steps-per-epoch", "2"}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("demo exited %d: %s", code, errb.String())
	}
	report := filepath.Join(dir, "report.html")
	for _, s := range []string{"overall", "report:   " + report, filepath.Join(dir, "model.rpm")} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("demo output lacks %q:\n%s", s, out.String())
		}
	}
	checkReport(t, report)
	overlays, err := filepath.Glob(filepath.Join(dir, "overlays", "*_heatmap.png"))
	if err != nil {
		t.Fatal(err)
	}
	if len(overlays) != demoOverlays {
		t.Errorf("%d overlays %v, want %d", len(overlays), overlays, demoOverlays)
	}

	// rp eval -report on the demo's model and data.
	out.Reset()
	reportDir := filepath.Join(dir, "eval-report")
	args = []string{"eval", "-model", filepath.Join(dir, "model.rpm"), "-data", filepath.Join(dir, "data", demoCategory), "-report", reportDir, "-q"}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("eval exited %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "report: "+filepath.Join(reportDir, "report.html")) {
		t.Errorf("eval output lacks the report path:\n%s", out.String())
	}
	checkReport(t, filepath.Join(reportDir, "report.html"))
	if entries, _ := os.ReadDir(reportDir); len(entries) != 1 {
		t.Errorf("eval -report wrote %d entries, want only report.html", len(entries))
	}
}

// checkReport checks that path is a report with the metrics table, the
// plots and thumbnails.
func checkReport(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(raw)
	for _, s := range []string{`<table class="metrics">`, "<td>overall</td>", "<td>scratch</td>", `class="roc"`, `id="histogram"`, "data:image/png;base64,"} {
		if !strings.Contains(page, s) {
			t.Errorf("%s lacks %q", path, s)
		}
	}
}

// TestDemoNoWeights checks that rp demo without the backbone says how to
// install it, before writing anything.
func TestDemoNoWeights(t *testing.T) {
	t.Setenv("RP_WEIGHTS_DIR", t.TempDir())
	dir := filepath.Join(t.TempDir(), "out")
	var out, errb bytes.Buffer
	if code := run([]string{"demo", "-o", dir, "-q"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "make weights") {
		t.Errorf("demo without weights: exit %d, %q", code, errb.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("demo without weights created %s", dir)
	}
}
