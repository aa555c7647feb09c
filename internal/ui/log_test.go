package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestLogHandlerText(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(NewLogHandler(&b, LogOptions{Level: slog.LevelDebug}))
	log.Info("Copied (new)", KeyObject, "photos/cat.jpg")
	log.Debug("retrying", "op", "cs f", "attempt", 2, "err", errors.New("EAGAIN (-3)"), "delay", 1500*time.Millisecond)
	log.With("remote", "m").WithGroup("g").Log(t.Context(), SlogNotice, "two\nlines", "k", "")
	log.Warn("warned")
	log.Error("failed", KeyObject, "a b")
	want := []string{
		`INFO  : photos/cat.jpg: Copied (new)`,
		`DEBUG : retrying op="cs f" attempt=2 err="EAGAIN (-3)" delay=1.5s`,
		`NOTICE: two lines remote=m g.k=""`,
		`NOTICE: warned`,
		`ERROR : a b: failed`,
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), b.String())
	}
	stamp := regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d `)
	for i, l := range lines {
		if !stamp.MatchString(l) || stamp.ReplaceAllString(l, "") != want[i] {
			t.Errorf("line %d: %q, want the time and %q", i, l, want[i])
		}
	}
}

func TestLogHandlerLevelAndJSON(t *testing.T) {
	var b bytes.Buffer
	log := slog.New(NewLogHandler(&b, LogOptions{}))
	log.Info("hidden")
	log.Log(t.Context(), SlogNotice, "shown")
	if got := b.String(); strings.Contains(got, "hidden") || !strings.Contains(got, "NOTICE: shown") {
		t.Errorf("default level: %q", got)
	}
	b.Reset()
	log = slog.New(NewLogHandler(&b, LogOptions{Level: slog.LevelInfo, JSON: true}))
	log.Info("Copied (new)", KeyObject, "a.txt", "size", 3)
	var rec map[string]any
	if err := json.Unmarshal(b.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["level"] != "info" || rec["msg"] != "Copied (new)" || rec["object"] != "a.txt" || rec["size"] != 3.0 || rec["time"] == nil {
		t.Errorf("json record %v", rec)
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"DEBUG": slog.LevelDebug, "info": slog.LevelInfo, "Notice": SlogNotice, "warning": SlogNotice, "ERROR": slog.LevelError} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseLevel("loud"); err == nil || !strings.Contains(err.Error(), `"loud"`) {
		t.Errorf("ParseLevel(loud): %v", err)
	}
}

// BenchmarkLogHandler is one -v line per copied file.
func BenchmarkLogHandler(b *testing.B) {
	log := slog.New(NewLogHandler(io.Discard, LogOptions{Level: slog.LevelInfo}))
	b.ReportAllocs()
	for b.Loop() {
		log.Info("Copied (new)", KeyObject, "photos/2024/cat.jpg")
	}
}

// TestLockedWriterFd: IsTerminal sees through the lock, and a writer
// without a descriptor is no terminal.
func TestLockedWriterFd(t *testing.T) {
	if IsTerminal(&LockedWriter{W: &bytes.Buffer{}}) {
		t.Error("a locked bytes.Buffer is a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := (&LockedWriter{W: f}).Fd(); got != f.Fd() {
		t.Errorf("Fd %d, want %d", got, f.Fd())
	}
}
