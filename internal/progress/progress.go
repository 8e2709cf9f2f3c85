// Package progress reports the progress of long work on the command line: a
// bar with rate and ETA redrawn in place when the output is a terminal,
// plain periodic lines otherwise, nothing when quiet.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// A Bar reports progress of one task of known size. Its methods are safe for
// concurrent use. The zero value is not usable; call New.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	label    string
	unit     string
	total    int
	done     int
	start    time.Time
	last     time.Time
	term     bool
	quiet    bool
	interval time.Duration
	finished bool
	drawn    int // done as last drawn, -1 before the first draw
}

// Options say where and how a Bar reports.
type Options struct {
	// Quiet silences the bar.
	Quiet bool
	// Terminal forces (true) or refuses (false) in-place redrawing; nil
	// detects whether the writer is a character device.
	Terminal *bool
	// Interval between plain lines when not on a terminal (default 5 s).
	Interval time.Duration
}

// New starts a bar for total units of work (unit names them, e.g. "images").
func New(w io.Writer, label string, total int, unit string, opts Options) *Bar {
	term := false
	if opts.Terminal != nil {
		term = *opts.Terminal
	} else if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			term = true
		}
	}
	iv := opts.Interval
	if iv <= 0 {
		iv = 5 * time.Second
	}
	now := time.Now()
	return &Bar{w: w, label: label, unit: unit, total: total, start: now, last: now, term: term, quiet: opts.Quiet, interval: iv, drawn: -1}
}

// Set records that done units are finished and redraws when due.
func (b *Bar) Set(done int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = done
	now := time.Now()
	due := now.Sub(b.last) >= b.interval
	if b.term {
		due = now.Sub(b.last) >= 100*time.Millisecond
	}
	if b.quiet || b.finished || (!due && done < b.total) {
		return
	}
	b.last = now
	b.draw(now, "")
}

// Add records n more finished units.
func (b *Bar) Add(n int) {
	b.mu.Lock()
	d := b.done + n
	b.mu.Unlock()
	b.Set(d)
}

// Finish prints the final state, with an optional note, and ends the line.
func (b *Bar) Finish(note string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.finished = true
	if b.quiet {
		return
	}
	if !b.term && b.drawn == b.done {
		// The last plain line already has the counts.
		if note != "" {
			fmt.Fprintf(b.w, "%s: %s\n", b.label, note)
		}
		return
	}
	b.draw(time.Now(), note)
	if b.term {
		fmt.Fprintln(b.w)
	}
}

func (b *Bar) draw(now time.Time, note string) {
	b.drawn = b.done
	el := now.Sub(b.start)
	rate := 0.0
	if s := el.Seconds(); s > 0 {
		rate = float64(b.done) / s
	}
	eta := "?"
	if rate > 0 && b.total > 0 {
		eta = fmtDuration(time.Duration(float64(b.total-b.done) / rate * float64(time.Second)))
	}
	pct := 0.0
	if b.total > 0 {
		pct = 100 * float64(b.done) / float64(b.total)
	}
	line := fmt.Sprintf("%s %d/%d %s (%.0f%%) %.1f %s/s, elapsed %s, ETA %s", b.label, b.done, b.total, b.unit, pct, rate, b.unit, fmtDuration(el), eta)
	if note != "" {
		line += " — " + note
	}
	if b.term {
		const width = 24
		fill := 0
		if b.total > 0 {
			fill = min(width, width*b.done/b.total)
		}
		bar := "[" + strings.Repeat("=", fill) + strings.Repeat(" ", width-fill) + "] "
		fmt.Fprintf(b.w, "\r\033[K%s%s", bar, line)
		return
	}
	fmt.Fprintln(b.w, line)
}

func fmtDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return d.String()
}

// Interrupt ends the bar's current terminal line, so that other output can
// follow on lines of its own; the next redraw starts a new line.
func (b *Bar) Interrupt() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.term && !b.quiet && b.drawn >= 0 {
		fmt.Fprintln(b.w)
	}
}

// Logf prints a plain line unless quiet: the way to report events between
// bars (an epoch's loss, a stage's time).
func Logf(w io.Writer, quiet bool, format string, args ...any) {
	if quiet {
		return
	}
	fmt.Fprintf(w, format+"\n", args...)
}
