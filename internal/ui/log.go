package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// SlogNotice is rclone's NOTICE level between slog's Info and Warn: what
// a run prints by default (dry-run notices, differences, warnings).
// slog.LevelWarn prints as NOTICE too, since rclone has no warning level.
const SlogNotice = slog.Level(2)

// KeyObject is the attribute naming what a log record is about (a path):
// the handlers print it before the message, as rclone does.
const KeyObject = "object"

// KeyStats is the attribute of a statistics record (LogStats).
const KeyStats = "stats"

// StatsRecord is the value of a KeyStats attribute: the text handler
// prints the block on the lines after the record's, as rclone logs its
// statistics; the JSON handler writes Stats as an object.
type StatsRecord struct {
	Stats  Stats
	Format StatsFormat
}

// MarshalJSON writes the counters.
func (r StatsRecord) MarshalJSON() ([]byte, error) { return json.Marshal(r.Stats) }

// LogStats logs s at level, as rclone's periodic statistics: with
// f.OneLine one record whose message is the line, else a record with an
// empty message followed by the block.
func LogStats(ctx context.Context, log *slog.Logger, level slog.Level, s Stats, f StatsFormat) {
	if !log.Enabled(ctx, level) {
		return
	}
	if f.OneLine {
		log.LogAttrs(ctx, level, f.oneLine(s))
		return
	}
	log.LogAttrs(ctx, level, "", slog.Any(KeyStats, StatsRecord{Stats: s, Format: f}))
}

// ParseLevel parses rclone's level names, DEBUG, INFO, NOTICE and ERROR
// (any case; WARN and WARNING mean NOTICE).
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "DEBUG":
		return slog.LevelDebug, nil
	case "INFO":
		return slog.LevelInfo, nil
	case "NOTICE", "WARN", "WARNING":
		return SlogNotice, nil
	case "ERROR":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("bad log level %q: want DEBUG, INFO, NOTICE or ERROR", s)
}

// LevelName is rclone's name of a slog level: DEBUG, INFO, NOTICE or
// ERROR (levels between take the name of the one below).
func LevelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "ERROR"
	case l >= SlogNotice:
		return "NOTICE"
	case l >= slog.LevelInfo:
		return "INFO"
	}
	return "DEBUG"
}

// SlogLevel is the slog level of a Printer message level.
func SlogLevel(l Level) slog.Level {
	switch l {
	case LevelInfo:
		return slog.LevelInfo
	case LevelNotice:
		return SlogNotice
	}
	return slog.LevelError
}

// LogOptions configure NewLogHandler.
type LogOptions struct {
	// Level is the least level written; nil means NOTICE.
	Level slog.Leveler
	// JSON writes one JSON object per record instead of a text line.
	JSON bool
}

// NewLogHandler returns a handler writing rclone's log lines to w:
//
//	2006/01/02 15:04:05 INFO  : photos/cat.jpg: Copied (new)
//	2006/01/02 15:04:05 DEBUG : retrying op="cs f" attempt=1 err="..." delay=1s
//
// the local time, the level padded to six, the KeyObject attribute if
// any, the message, then the other attributes as key=value. With JSON
// each record is an object on its own line, with rclone's keys: time
// (RFC 3339), level (lower case), msg, object, then the attributes.
// Writes are serialised, one line per Write.
func NewLogHandler(w io.Writer, o LogOptions) slog.Handler {
	lv := o.Level
	if lv == nil {
		lv = SlogNotice
	}
	if o.JSON {
		return slog.NewJSONHandler(&lockedLines{w: w}, &slog.HandlerOptions{Level: lv, ReplaceAttr: jsonAttr})
	}
	return &textHandler{out: &lockedLines{w: w}, level: lv}
}

// jsonAttr renames slog's built-in attributes the way rclone's JSON log
// has them.
func jsonAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.LevelKey:
		if l, ok := a.Value.Any().(slog.Level); ok {
			return slog.String(slog.LevelKey, strings.ToLower(LevelName(l)))
		}
	case slog.TimeKey:
		if t, ok := a.Value.Any().(time.Time); ok {
			return slog.String(slog.TimeKey, t.Format(time.RFC3339Nano))
		}
	}
	return a
}

// lockedLines serialises writes to w.
type lockedLines struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// textHandler is the text form of NewLogHandler.
type textHandler struct {
	out    io.Writer
	level  slog.Leveler
	object string      // from WithAttrs
	attrs  []slog.Attr // from WithAttrs, keys already qualified by groups
	group  string      // "a.b." prefix for later attribute keys
}

// Enabled implements slog.Handler.
func (h *textHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

// Handle implements slog.Handler.
func (h *textHandler) Handle(_ context.Context, r slog.Record) error {
	var b bytes.Buffer
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	b.WriteString(t.Format("2006/01/02 15:04:05 "))
	fmt.Fprintf(&b, "%-6s: ", LevelName(r.Level))
	object := h.object
	var rest []slog.Attr
	var block []string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == KeyObject && h.group == "" {
			object = a.Value.String()
			return true
		}
		if sr, ok := a.Value.Any().(StatsRecord); ok && a.Key == KeyStats {
			block = statsLines(sr.Stats, true, sr.Format)
			return true
		}
		rest = append(rest, qualify(h.group, a))
		return true
	})
	if object != "" {
		b.WriteString(oneLine(object))
		b.WriteString(": ")
	}
	b.WriteString(oneLine(r.Message))
	for _, a := range append(h.attrs, rest...) {
		writeAttr(&b, "", a)
	}
	b.WriteByte('\n')
	for _, l := range block {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	_, err := h.out.Write(b.Bytes())
	return err
}

// WithAttrs implements slog.Handler.
func (h *textHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range attrs {
		if a.Key == KeyObject && h.group == "" {
			c.object = a.Value.String()
			continue
		}
		c.attrs = append(c.attrs, qualify(h.group, a))
	}
	return &c
}

// WithGroup implements slog.Handler.
func (h *textHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group = h.group + name + "."
	return &c
}

// qualify prefixes a's key with group.
func qualify(group string, a slog.Attr) slog.Attr {
	if group != "" && a.Key != "" {
		a.Key = group + a.Key
	}
	return a
}

// writeAttr appends " key=value" (groups flattened to "g.key=value");
// empty attributes are dropped, as slog's handlers drop them.
func writeAttr(b *bytes.Buffer, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			writeAttr(b, p, ga)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(prefix + a.Key)
	b.WriteByte('=')
	b.WriteString(quoteValue(a.Value.String()))
}

// quoteValue quotes v when it is empty or holds spaces, quotes, "=" or
// characters that are not printable.
func quoteValue(v string) string {
	if v == "" {
		return `""`
	}
	for _, r := range v {
		if r == ' ' || r == '"' || r == '=' || !unicode.IsPrint(r) {
			return strconv.Quote(v)
		}
	}
	return v
}
