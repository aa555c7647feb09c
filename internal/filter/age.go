package filter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ageUnits are rclone's duration suffixes; "ms" comes before "m" so
// that the longer one is tried first.
var ageUnits = []struct {
	suffix string
	d      time.Duration
}{
	{"ms", time.Millisecond},
	{"s", time.Second},
	{"m", time.Minute},
	{"h", time.Hour},
	{"d", 24 * time.Hour},
	{"w", 7 * 24 * time.Hour},
	{"M", 30 * 24 * time.Hour},
	{"y", 365 * 24 * time.Hour},
}

// dateLayouts are the absolute forms --min-age and --max-age take; the
// ones without a zone are local time.
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}

// ParseAge reads an age as rclone's --min-age and --max-age take it and
// returns the modification time it stands for, measured back from now: a
// duration ("90", seconds; "1.5h", "2d", "1w", "3M", "1y", "1d12h"; units
// ms, s, m, h, d, w, M (30 days), y (365 days)) or an absolute date
// ("2006-01-02", "2006-01-02 15:04:05", RFC 3339). "" and "off" return the
// zero time: no bound.
func ParseAge(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "off" {
		return time.Time{}, nil
	}
	for _, layout := range dateLayouts {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	d, err := ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad age %q: want a duration (90s, 2d, 1w, 3M, 1y, 1d12h) or a date (2006-01-02, \"2006-01-02 15:04:05\", RFC 3339)", s)
	}
	return now.Add(-d), nil
}

// ParseDuration reads a duration as rclone's flags take it: a sequence
// of numbers each with a unit of ageUnits ("1d12h", "1h30m", "7d", "2w");
// a lone number is seconds. --min-age, --max-age and link --expire use it.
func ParseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 {
			return 0, errors.New("negative")
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, errors.New("no number")
		}
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, err
		}
		s = s[i:]
		found := false
		for _, u := range ageUnits {
			if strings.HasPrefix(s, u.suffix) {
				total += time.Duration(n * float64(u.d))
				s = s[len(u.suffix):]
				found = true
				break
			}
		}
		if !found {
			return 0, errors.New("no unit")
		}
	}
	return total, nil
}

// addAges sets the bounds of --min-age and --max-age.
func (f *Filter) addAges(opts Options) error {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	var err error
	if f.modFrom, err = ParseAge(opts.MaxAge, now); err != nil {
		return fmt.Errorf("--max-age: %w", err)
	}
	if f.modTo, err = ParseAge(opts.MinAge, now); err != nil {
		return fmt.Errorf("--min-age: %w", err)
	}
	if !f.modFrom.IsZero() && !f.modTo.IsZero() && f.modTo.Before(f.modFrom) {
		return fmt.Errorf("--min-age %q is more than --max-age %q: no file can pass", opts.MinAge, opts.MaxAge)
	}
	return nil
}
