package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"ferry/internal/retry"
	"ferry/internal/ui"
)

// logOptions are rclone's logging flags, shared by every command.
type logOptions struct {
	verbose  int    // -v INFO, -vv DEBUG
	quiet    bool   // -q: ERROR only
	levelArg string // --log-level
	file     string // --log-file
	json     bool   // --use-json-log

	level slog.Level   // the effective level, set by setup
	out   io.Writer    // the log file, or nil for stderr
	close func() error // closes the log file
	once  sync.Once    // makes h
	h     slog.Handler // the handler on stderr or the file
	tally retryTally   // the retries of a command that has no statistics
}

// addLogFlags binds the logging flags to o.
func addLogFlags(f *pflag.FlagSet, o *logOptions) {
	f.CountVarP(&o.verbose, "verbose", "v", "print more (-v info, -vv debug)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print as little as possible (errors only)")
	f.StringVar(&o.levelArg, "log-level", "", "log level: DEBUG, INFO, NOTICE (the default) or ERROR")
	f.StringVar(&o.file, "log-file", "", "append the log (messages, retries, statistics) to this file instead of stderr")
	f.BoolVar(&o.json, "use-json-log", false, "write the log as JSON, one object per line")
}

// setup checks the flags, decides the level and opens the log file.
// Errors are usage errors, or the file's.
func (o *logOptions) setup() error {
	o.level = ui.SlogNotice
	set := 0
	if o.verbose > 0 {
		set++
		o.level = slog.LevelInfo
		if o.verbose >= 2 {
			o.level = slog.LevelDebug
		}
	}
	if o.quiet {
		set++
		o.level = slog.LevelError
	}
	if o.levelArg != "" {
		set++
		l, err := ui.ParseLevel(o.levelArg)
		if err != nil {
			return usagef("--log-level: %v", err)
		}
		o.level = l
	}
	if set > 1 {
		return usagef("-v, -q and --log-level exclude each other")
	}
	if o.file != "" {
		f, err := os.OpenFile(o.file, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("--log-file: %w", err)
		}
		o.out, o.close = f, f.Close
	}
	return nil
}

// debug reports whether the level shows DEBUG records (-vv).
func (o *logOptions) debug() bool { return o.level <= slog.LevelDebug }

// info reports whether the level shows INFO records (-v).
func (o *logOptions) info() bool { return o.level <= slog.LevelInfo }

// printerLevel is the least level of the messages a command prints.
func (o *logOptions) printerLevel() ui.Level {
	switch {
	case o.level >= slog.LevelError:
		return ui.LevelError
	case o.level >= ui.SlogNotice:
		return ui.LevelNotice
	}
	return ui.LevelInfo
}

// writer is where the log goes: the log file, else w.
func (o *logOptions) writer(w io.Writer) io.Writer {
	if o.out != nil {
		return o.out
	}
	return w
}

// loggerOn returns a logger in rclone's format on w (stderr, or the
// writer above a progress display), or on the log file when there is one.
func (o *logOptions) loggerOn(w io.Writer) *slog.Logger {
	return slog.New(ui.NewLogHandler(o.writer(w), ui.LogOptions{Level: o.level, JSON: o.json}))
}

// logger returns the command's operator logger on stderr (or the log
// file). All its users share one handler, so lines never tear.
func (g *globals) logger() *slog.Logger {
	g.log.once.Do(func() {
		g.log.h = ui.NewLogHandler(g.log.writer(g.stdio.Err), ui.LogOptions{Level: g.log.level, JSON: g.log.json})
	})
	return slog.New(g.log.h)
}

// loggerOn is a logger on w, which shares stderr with a printer or a
// progress display.
func loggerOn(g *globals, w io.Writer) *slog.Logger { return g.log.loggerOn(w) }

// finishLog logs the command's error and the count of retries the
// command had no statistics for (-v), then closes the log file.
func (g *globals) finishLog(err error) {
	if g.log.h == nil && g.log.out == nil {
		if n, _ := g.log.tally.summary(); n == 0 {
			return
		}
	}
	log := g.logger()
	if n, text := g.log.tally.summary(); n > 0 {
		log.Info(fmt.Sprintf("%d retries of temporary failures (%s); -vv shows each", n, text))
	}
	if err != nil && g.log.out != nil {
		// The error line goes to stderr as always; the log file gets it
		// too, so a cron job's log is complete.
		log.Error(message(err))
	}
	if g.log.close != nil {
		g.log.close()
	}
}

// retryTally counts retries by what was retried.
type retryTally struct {
	mu sync.Mutex
	n  map[string]int // guarded by mu
}

// observer returns a retry.Observer that counts each retry and logs it at
// DEBUG (-vv); -v gets the count at the end (finishLog). The transfer
// commands count in their statistics instead (transfer.Stats).
func (t *retryTally) observer(log *slog.Logger) retry.Observer {
	return func(op string, attempt int, err error, delay time.Duration) {
		t.mu.Lock()
		if t.n == nil {
			t.n = map[string]int{}
		}
		t.n[op]++
		t.mu.Unlock()
		log.LogAttrs(context.Background(), slog.LevelDebug, "retrying",
			slog.String("op", op), slog.Int("attempt", attempt), slog.Any("err", err), slog.Duration("delay", delay))
	}
}

// summary returns the number of retries and "op: n, ..." by count.
func (t *retryTally) summary() (int, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ops := make([]string, 0, len(t.n))
	total := 0
	for op, n := range t.n {
		ops = append(ops, op)
		total += n
	}
	slices.SortFunc(ops, func(a, b string) int {
		if d := t.n[b] - t.n[a]; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(ops))
	for i, op := range ops {
		name := op
		if name == "" {
			name = "request"
		}
		parts[i] = fmt.Sprintf("%s: %d", name, t.n[op])
	}
	return total, strings.Join(parts, ", ")
}

// verbosity is the level as a -v count: 0, 1 (INFO) or 2 (DEBUG).
func (o *logOptions) verbosity() int {
	switch {
	case o.debug():
		return 2
	case o.info():
		return 1
	}
	return 0
}
