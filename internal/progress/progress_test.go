package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestBarPlainLines(t *testing.T) {
	var buf bytes.Buffer
	no := false
	b := New(&buf, "features", 4, "images", Options{Terminal: &no, Interval: time.Hour})
	b.Set(1) // not due: no line
	if buf.Len() != 0 {
		t.Fatalf("printed before the interval: %q", buf.String())
	}
	b.Set(4) // done: always printed
	b.Finish("ok")
	out := buf.String()
	if !strings.Contains(out, "features 4/4 images (100%)") || !strings.Contains(out, "features: ok") {
		t.Fatalf("unexpected output %q", out)
	}
	if strings.Contains(out, "\r") {
		t.Fatalf("plain output has carriage returns: %q", out)
	}
}

func TestBarTerminalAndQuiet(t *testing.T) {
	var buf bytes.Buffer
	yes := true
	b := New(&buf, "coreset", 10, "steps", Options{Terminal: &yes})
	b.Add(10)
	b.Finish("")
	if out := buf.String(); !strings.HasPrefix(out, "\r\033[K[") || !strings.HasSuffix(out, "\n") {
		t.Fatalf("terminal output %q", out)
	}
	buf.Reset()
	q := New(&buf, "x", 3, "u", Options{Quiet: true})
	q.Set(3)
	q.Finish("done")
	Logf(&buf, true, "hidden %d", 1)
	if buf.Len() != 0 {
		t.Fatalf("quiet bar printed %q", buf.String())
	}
}
