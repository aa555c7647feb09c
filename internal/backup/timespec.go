package backup

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// timeLayouts are the absolute forms ParseTime accepts besides RFC 3339,
// read in the caller's time zone.
var timeLayouts = []string{
	"2006-01-02",
	"2006-01-02 15:04",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04",
	"2006-01-02T15:04:05",
	"2006/01/02",
	"2006/01/02 15:04",
	"01/02/2006", // duplicity's MM/DD/YYYY
}

// intervalUnits are duplicity's interval units: s, m (minutes), h, D, W, M
// (30 days), Y (365 days). d, w and y are accepted for D, W and Y.
var intervalUnits = map[byte]time.Duration{
	's': time.Second,
	'm': time.Minute,
	'h': time.Hour,
	'D': 24 * time.Hour, 'd': 24 * time.Hour,
	'W': 7 * 24 * time.Hour, 'w': 7 * 24 * time.Hour,
	'M': 30 * 24 * time.Hour,
	'Y': 365 * 24 * time.Hour, 'y': 365 * 24 * time.Hour,
}

// TimeFormats describes what ParseTime accepts, for help texts.
const TimeFormats = `RFC 3339 ("2026-12-02T04:00:00Z"), a date or date and time in local time
("2026-12-02" is its midnight, "2026-12-02 04:00"), "now", seconds since
1970, or duplicity's intervals before now: a sequence of numbers with units
s, m (minutes), h, D, W, M (30 days), Y (365 days), e.g. "3D", "1h30m", "2W"`

// ParseTime reads a point in time as restore --time and forget
// --older-than take it (TimeFormats): absolute forms in loc, intervals
// counted back from now.
func ParseTime(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if loc == nil {
		loc = time.Local
	}
	if s == "" {
		return time.Time{}, fmt.Errorf("time %q: empty", s)
	}
	if s == "now" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	if d, ok := parseInterval(s); ok {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("time %q: not a time; want %s", s, TimeFormats)
}

// maxInterval bounds an interval, far inside time.Duration's range.
const maxInterval = 200 * 365 * 24 * time.Hour

// parseInterval reads duplicity's interval strings ("3D", "1h30m").
func parseInterval(s string) (time.Duration, bool) {
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) {
			return 0, false
		}
		unit, ok := intervalUnits[s[i]]
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n > int64((maxInterval-total)/unit) {
			return 0, false
		}
		total += time.Duration(n) * unit
		s = s[i+1:]
	}
	return total, true
}

// ParseDuration reads a length of time as Go writes it ("24h", "90m") or
// as a duplicity interval ("1D", "2W", "1h30m").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	if d, ok := parseInterval(s); ok && s != "" {
		return d, nil
	}
	return 0, fmt.Errorf("duration %q: want e.g. 24h, 90m, 1D or 2W", s)
}
