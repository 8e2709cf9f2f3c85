package main

import (
	"io"

	"github.com/reconpatch/rp/internal/progress"
)

// barReporter shows reconpatch's stages as progress bars on w.
type barReporter struct {
	w     io.Writer
	quiet bool
	bar   *progress.Bar
}

func (r *barReporter) Begin(stage string, total int, unit string) {
	r.bar = progress.New(r.w, stage, total, unit, progress.Options{Quiet: r.quiet})
}

func (r *barReporter) Update(done int) {
	if r.bar != nil {
		r.bar.Set(done)
	}
}

func (r *barReporter) End(summary string) {
	if r.bar != nil {
		r.bar.Finish(summary)
		r.bar = nil
	}
}

func (r *barReporter) Logf(format string, args ...any) {
	if r.bar != nil && !r.quiet {
		// A log line between redraws of a terminal bar starts on its own line.
		r.bar.Interrupt()
	}
	progress.Logf(r.w, r.quiet, format, args...)
}
