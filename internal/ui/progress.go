package ui

import (
	"bytes"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"
)

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// ProgressOptions tune a Progress.
type ProgressOptions struct {
	// Force draws even when the writer is not a terminal (tests, or a
	// user who wants the escapes in a log).
	Force bool
	// Interval between redraws; 0 means 500ms.
	Interval time.Duration
	// Format is the statistics' form: the block, or with OneLine one
	// line (rclone's -P --stats-one-line).
	Format StatsFormat
}

// Progress is the live display of -P/--progress: rclone's stats block,
// redrawn in place on stderr about twice a second. Other output to the
// same terminal must go through Writer, which lifts the block, writes,
// and draws it again below.
//
// When the output is not a terminal (and not forced) Progress draws
// nothing and Writer is the output itself.
type Progress struct {
	out      io.Writer
	snapshot func() Stats
	active   bool
	width    int // terminal columns; 0 = don't cut lines
	format   StatsFormat

	mu    sync.Mutex // guards lines and writes to out
	lines int        // lines of the block on screen

	stop chan struct{}
	done chan struct{}
}

// StartProgress starts the display on out; snapshot is called on every
// redraw, from the display's goroutine. Call Stop when the run ends.
func StartProgress(out io.Writer, snapshot func() Stats, opts ProgressOptions) *Progress {
	p := &Progress{out: out, snapshot: snapshot, active: opts.Force || IsTerminal(out), format: opts.Format}
	if !p.active {
		return p
	}
	if f, ok := out.(interface{ Fd() uintptr }); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil {
			p.width = w
		}
	}
	interval := opts.Interval
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go p.loop(interval)
	return p
}

// loop redraws until Stop.
func (p *Progress) loop(interval time.Duration) {
	defer close(p.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	p.redraw()
	for {
		select {
		case <-t.C:
			p.redraw()
		case <-p.stop:
			return
		}
	}
}

// Stop ends the display and erases the block, so the caller can print the
// final summary in its place. It is safe to call more than once.
func (p *Progress) Stop() {
	if !p.active {
		return
	}
	p.mu.Lock()
	select {
	case <-p.stop:
		p.mu.Unlock()
		return
	default:
		close(p.stop)
	}
	p.mu.Unlock()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	p.erase()
}

// Writer returns the writer for other output while the display runs.
func (p *Progress) Writer() io.Writer {
	if !p.active {
		return p.out
	}
	return progressWriter{p}
}

// progressWriter writes above the block.
type progressWriter struct{ p *Progress }

// Write lifts the progress block, writes b and draws the block again.
func (w progressWriter) Write(b []byte) (int, error) {
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	redraw := p.lines > 0
	p.erase()
	n, err := p.out.Write(b)
	if redraw {
		p.draw()
	}
	return n, err
}

// redraw replaces the block with a fresh one.
func (p *Progress) redraw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.stop:
		return
	default:
	}
	p.erase()
	p.draw()
}

// erase removes the block: cursor up over it, clear to the end of the
// screen. Caller holds mu.
func (p *Progress) erase() {
	if p.lines == 0 {
		return
	}
	io.WriteString(p.out, "\r\x1b["+strconv.Itoa(p.lines)+"A\x1b[J")
	p.lines = 0
}

// draw writes the block. Caller holds mu.
func (p *Progress) draw() {
	var lines []string
	if s := p.snapshot(); p.format.OneLine {
		lines = []string{p.format.oneLine(s)}
	} else {
		lines = statsLines(s, true, p.format)
	}
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(cut(l, p.width))
		b.WriteString("\x1b[K\n")
	}
	p.out.Write(b.Bytes())
	p.lines = len(lines)
}

// cut shortens s to width columns (runes), keeping the end of it; width 0
// keeps s whole.
func cut(s string, width int) string {
	if width <= 1 || utf8.RuneCountInString(s) < width {
		return s
	}
	r := []rune(s)
	keep := width - 2
	return "…" + string(r[len(r)-keep:])
}
