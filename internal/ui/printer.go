package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
)

// Level ranks a message like rclone's log levels.
type Level int

// Levels.
const (
	LevelInfo   Level = iota // shown with -v
	LevelNotice              // shown by default (dry-run notices, check differences)
	LevelError               // a failure
)

// levelNames are the names Level.String returns.
var levelNames = [...]string{"INFO", "NOTICE", "ERROR"}

// String returns "INFO", "NOTICE" or "ERROR".
func (l Level) String() string {
	if int(l) < len(levelNames) && l >= 0 {
		return levelNames[l]
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// Printer writes a command's messages, statistics and result, as text or
// JSON. Methods are safe for concurrent use: engines report from many
// goroutines.
type Printer interface {
	// Message writes one line about object (a path, or "" for the whole
	// run) to stderr.
	Message(level Level, object, msg string)
	// Summary writes end-of-run statistics: text to stderr, JSON to
	// stdout as the command's one JSON document.
	Summary(s Stats)
	// Result writes a command's result to stdout: text as given, or v as
	// the command's one JSON document.
	Result(text string, v any)
}

// NewPrinter returns a JSON printer when asJSON, else a text printer.
// Messages below minLevel are dropped.
func NewPrinter(stdout, stderr io.Writer, asJSON bool, minLevel Level) Printer {
	if asJSON {
		return &JSONPrinter{Out: stdout, Err: stderr, MinLevel: minLevel}
	}
	return &TextPrinter{Out: stdout, Err: stderr, MinLevel: minLevel}
}

// TextPrinter writes for people: "NOTICE: a.txt: Skipped copy as
// --dry-run is set" and rclone's stats block.
type TextPrinter struct {
	Out, Err io.Writer
	MinLevel Level
	// Log, if set, takes the messages instead of Err (with the path as
	// KeyObject), so that they share the operator log's format and
	// destination.
	Log *slog.Logger
	// Format is the summary's form (--stats-one-line, --stats-unit).
	Format StatsFormat
	mu     sync.Mutex // serialises writes
}

// Message implements Printer.
func (p *TextPrinter) Message(level Level, object, msg string) {
	if level < p.MinLevel {
		return
	}
	if p.Log != nil {
		var attrs []slog.Attr
		if object != "" {
			attrs = append(attrs, slog.String(KeyObject, object))
		}
		p.Log.LogAttrs(context.Background(), SlogLevel(level), msg, attrs...)
		return
	}
	line := fmt.Sprintf("%-6s: %s\n", level, oneLine(msg))
	if object != "" {
		line = fmt.Sprintf("%-6s: %s: %s\n", level, oneLine(object), oneLine(msg))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	io.WriteString(p.Err, line)
}

// Summary implements Printer.
func (p *TextPrinter) Summary(s Stats) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Format.Write(p.Err, s)
}

// Result implements Printer.
func (p *TextPrinter) Result(text string, _ any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	io.WriteString(p.Out, text)
}

// JSONPrinter writes for programs: messages as JSON lines on stderr
// ({"level":"notice","object":"a.txt","msg":"..."}), and the summary or
// result as one indented JSON document on stdout.
type JSONPrinter struct {
	Out, Err io.Writer
	MinLevel Level
	mu       sync.Mutex // serialises writes
}

// jsonMessage is one message line.
type jsonMessage struct {
	Level  string `json:"level"`
	Object string `json:"object,omitempty"`
	Msg    string `json:"msg"`
}

// Message implements Printer.
func (p *JSONPrinter) Message(level Level, object, msg string) {
	if level < p.MinLevel {
		return
	}
	b, err := json.Marshal(jsonMessage{Level: lower(level.String()), Object: object, Msg: msg})
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Err.Write(append(b, '\n'))
}

// Summary implements Printer.
func (p *JSONPrinter) Summary(s Stats) { p.Result("", s) }

// Result implements Printer.
func (p *JSONPrinter) Result(_ string, v any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	enc := json.NewEncoder(p.Out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// lower lower-cases an ASCII string.
func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// LockedWriter serialises writes to W, so that a Printer and an operator
// logger can share one stderr (bytes.Buffer in tests is not safe for
// concurrent use, and interleaved writes would tear lines).
type LockedWriter struct {
	mu sync.Mutex
	W  io.Writer
}

// Write implements io.Writer.
func (l *LockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.W.Write(p)
}

// Fd returns W's file descriptor, so that IsTerminal sees through the
// lock; ^uintptr(0), which is no descriptor, when W has none.
func (l *LockedWriter) Fd() uintptr {
	if f, ok := l.W.(interface{ Fd() uintptr }); ok {
		return f.Fd()
	}
	return ^uintptr(0)
}
