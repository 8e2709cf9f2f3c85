package reconpatch

// Reporter receives the progress of long work (Fit, Predict, Evaluate):
// stages with a known amount of work, and free-form lines between them.
// Methods are called from the goroutine running the work.
type Reporter interface {
	// Begin starts a stage of total units (unit names them: "images").
	Begin(stage string, total int, unit string)
	// Update says done units of the current stage are finished.
	Update(done int)
	// End finishes the current stage with a one-line summary.
	End(summary string)
	// Logf reports an event, such as a training epoch's loss.
	Logf(format string, args ...any)
}

// NopReporter discards every report.
type NopReporter struct{}

func (NopReporter) Begin(string, int, string) {}
func (NopReporter) Update(int)                {}
func (NopReporter) End(string)                {}
func (NopReporter) Logf(string, ...any)       {}

func reporterOrNop(r Reporter) Reporter {
	if r == nil {
		return NopReporter{}
	}
	return r
}
