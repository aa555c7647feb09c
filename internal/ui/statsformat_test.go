package ui

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStatsFormat: rclone's --stats-one-line (with the date, with the
// files done while some are left) and --stats-unit bits.
func TestStatsFormat(t *testing.T) {
	s := Stats{Bytes: 3 << 19, TotalBytes: 10 << 20, Speed: 1 << 20, ETA: 8.5, Transfers: 1, TotalTransfers: 4}
	at := time.Date(2024, 5, 17, 12, 34, 56, 0, time.UTC)
	cases := []struct {
		name string
		f    StatsFormat
		want string
	}{
		{"one line", StatsFormat{OneLine: true}, "1.500 MiB / 10.000 MiB, 15%, 1.000 MiB/s, ETA 8.5s (xfr#1/4)"},
		{"dated bits", StatsFormat{OneLine: true, Bits: true, Date: defaultDate, Now: func() time.Time { return at }},
			"2024/05/17 12:34:56 - 1.500 MiB / 10.000 MiB, 15%, 8.000 Mibit/s, ETA 8.5s (xfr#1/4)"},
		{"block in bits", StatsFormat{Bits: true}, "Transferred:  1.500 MiB / 10.000 MiB, 15%, 8.000 Mibit/s, ETA 8.5s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.Lines(s)[0]; got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	if got := (StatsFormat{OneLine: true}).Lines(Stats{Transfers: 4, TotalTransfers: 4, ETA: -1})[0]; strings.Contains(got, "xfr#") {
		t.Errorf("all files done: %q shows xfr#", got)
	}
}

const defaultDate = "2006/01/02 15:04:05 - "

// TestLogStats: the text log has the block on the lines after an empty
// record, as rclone logs its statistics; the JSON log has the counters
// as an object; a level the log does not show writes nothing.
func TestLogStats(t *testing.T) {
	s := Stats{Bytes: 1024, TotalBytes: 2048, Transfers: 1, TotalTransfers: 2, ETA: -1, ElapsedTime: 1}
	var b bytes.Buffer
	log := slog.New(NewLogHandler(&b, LogOptions{Level: slog.LevelInfo}))
	LogStats(t.Context(), log, slog.LevelInfo, s, StatsFormat{})
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 4 || !strings.HasSuffix(lines[0], " INFO  : ") || !strings.HasPrefix(lines[1], "Transferred:  1.000 KiB / 2.000 KiB, 50%") ||
		lines[3] != "Elapsed time: 1.0s" {
		t.Errorf("text log:\n%s", b.String())
	}
	b.Reset()
	LogStats(t.Context(), log, slog.LevelDebug, s, StatsFormat{})
	if b.Len() != 0 {
		t.Errorf("DEBUG statistics on an INFO log: %q", b.String())
	}
	log = slog.New(NewLogHandler(&b, LogOptions{Level: slog.LevelInfo, JSON: true}))
	LogStats(t.Context(), log, slog.LevelInfo, s, StatsFormat{})
	var rec struct {
		Stats Stats `json:"stats"`
	}
	if err := json.Unmarshal(b.Bytes(), &rec); err != nil || rec.Stats.TotalBytes != 2048 {
		t.Errorf("JSON log %q: %v", b.String(), err)
	}
}

// TestProgressOneLine: -P with --stats-one-line draws one line a frame.
func TestProgressOneLine(t *testing.T) {
	var b syncBuf
	p := StartProgress(&b, func() Stats { return Stats{Bytes: 1024, TotalBytes: 2048, ETA: -1} },
		ProgressOptions{Force: true, Interval: 10 * time.Millisecond, Format: StatsFormat{OneLine: true}})
	time.Sleep(50 * time.Millisecond)
	p.Stop()
	out := b.String()
	if !strings.Contains(out, "1.000 KiB / 2.000 KiB, 50%, 0 B/s, ETA -\x1b[K\n") || strings.Contains(out, "Elapsed time") {
		t.Errorf("frames: %q", out)
	}
}

// syncBuf is a bytes.Buffer safe for the display's goroutine.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
