package backup

import (
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	loc := time.FixedZone("UTC+1", 3600)
	now := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"now", now},
		{"2026-12-01T10:20:30Z", time.Date(2026, 12, 1, 10, 20, 30, 0, time.UTC)},
		{"2026-12-01T10:20:30.5+02:00", time.Date(2026, 12, 1, 8, 20, 30, 5e8, time.UTC)},
		{"2026-12-02", time.Date(2026, 12, 2, 0, 0, 0, 0, loc)},
		{"2026-12-02 04:00", time.Date(2026, 12, 2, 4, 0, 0, 0, loc)},
		{"2026-12-02 04:00:07", time.Date(2026, 12, 2, 4, 0, 7, 0, loc)},
		{"2026/12/02", time.Date(2026, 12, 2, 0, 0, 0, 0, loc)},
		{"12/02/2026", time.Date(2026, 12, 2, 0, 0, 0, 0, loc)},
		{"1764648000", time.Unix(1764648000, 0)},
		{"3D", now.Add(-72 * time.Hour)},
		{"1h", now.Add(-time.Hour)},
		{"1h30m", now.Add(-90 * time.Minute)},
		{"2W", now.Add(-14 * 24 * time.Hour)},
		{"1M", now.Add(-30 * 24 * time.Hour)},
		{"1Y2d", now.Add(-367 * 24 * time.Hour)},
		{" 10s ", now.Add(-10 * time.Second)},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in, now, loc)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("ParseTime(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "3x", "D3", "2026-13-01", "1h30", "99999999999Y", "150Y150Y"} {
		_, err := ParseTime(bad, now, loc)
		if err == nil || !strings.Contains(err.Error(), "time \""+strings.TrimSpace(bad)+"\"") {
			t.Errorf("ParseTime(%q) = %v, want an error naming the input", bad, err)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"24h": 24 * time.Hour, "1D": 24 * time.Hour, "90m": 90 * time.Minute, "2W": 14 * 24 * time.Hour, "0": 0, "1h30m": 90 * time.Minute,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1h", "soon", "3"} {
		if _, err := ParseDuration(bad); err == nil || !strings.Contains(err.Error(), "duration") {
			t.Errorf("ParseDuration(%q) = %v, want an error", bad, err)
		}
	}
}

// FuzzParseTime: any input gives a time or an error naming it, never a
// panic, and an interval never lands after now.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"3D", "1h30m", "2026-12-02", "now", "99999999999Y", "150Y150Y", "1764648000", "12/02/2026"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 2, 4, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s, now, time.UTC)
		if err != nil {
			return
		}
		if _, ok := parseInterval(strings.TrimSpace(s)); ok && got.After(now) {
			t.Errorf("interval %q = %s, after now", s, got)
		}
	})
}
