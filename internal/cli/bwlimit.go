package cli

import (
	"fmt"
	"strconv"
	"strings"

	"ferry/internal/transfer"
)

// bwlimitFlag is --bwlimit in rclone's notation: a rate ("10M", "off"),
// an UP:DOWN pair ("10M:100M"), or a timetable of such rates, entries
// separated by spaces or semicolons, each "HH:MM,RATE" (every day) or
// "Day-HH:MM,RATE" (Mon, Tue, ... Sun): "08:00,512k 12:00,off".
type bwlimitFlag struct {
	text  string
	slots []transfer.Slot
}

// String implements pflag.Value.
func (b *bwlimitFlag) String() string {
	if b.text == "" {
		return "off"
	}
	return b.text
}

// Type implements pflag.Value.
func (b *bwlimitFlag) Type() string { return "bwtimetable" }

// Set implements pflag.Value.
func (b *bwlimitFlag) Set(v string) error {
	slots, err := parseBwlimit(v)
	if err != nil {
		return err
	}
	b.text, b.slots = v, slots
	return nil
}

// limiter returns the flag's limiter, nil when it limits nothing.
func (b *bwlimitFlag) limiter() *transfer.Limiter { return transfer.NewScheduleLimiter(b.slots) }

// weekdays are the day names of a timetable entry, in time.Weekday order.
var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// parseBwlimit parses a --bwlimit value into timetable slots.
func parseBwlimit(v string) ([]transfer.Slot, error) {
	fields := strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ';' || r == '\t' })
	if len(fields) == 0 {
		return nil, fmt.Errorf("bad bandwidth limit %q: empty (want e.g. 10M, 10M:100M, off or \"08:00,512k 12:00,off\")", v)
	}
	if len(fields) == 1 && !strings.Contains(fields[0], ",") {
		rate, err := parseBandwidth(fields[0])
		if err != nil {
			return nil, err
		}
		return []transfer.Slot{{Weekday: -1, Rate: rate}}, nil
	}
	var slots []transfer.Slot
	for _, f := range fields {
		when, rateText, ok := strings.Cut(f, ",")
		if !ok {
			return nil, fmt.Errorf("bad timetable entry %q in --bwlimit: want HH:MM,RATE or Day-HH:MM,RATE", f)
		}
		slot := transfer.Slot{Weekday: -1}
		if day, hhmm, ok := strings.Cut(when, "-"); ok {
			slot.Weekday = -2
			for i, name := range weekdays {
				if strings.EqualFold(day, name) || strings.EqualFold(day, name+"day") ||
					(len(day) > 3 && strings.HasPrefix(strings.ToLower(day), name) && strings.HasSuffix(strings.ToLower(day), "day")) {
					slot.Weekday = i
				}
			}
			if slot.Weekday == -2 {
				return nil, fmt.Errorf("bad day %q in --bwlimit entry %q: want Mon, Tue, Wed, Thu, Fri, Sat or Sun", day, f)
			}
			when = hhmm
		}
		m, err := parseHHMM(when)
		if err != nil {
			return nil, fmt.Errorf("bad time in --bwlimit entry %q: %v", f, err)
		}
		slot.Minute = m
		if slot.Rate, err = parseBandwidth(rateText); err != nil {
			return nil, err
		}
		slots = append(slots, slot)
	}
	return slots, nil
}

// parseHHMM parses "08:00" (or rclone's older "0800") into minutes after
// midnight.
func parseHHMM(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok && len(s) == 4 {
		h, m, ok = s[:2], s[2:], true
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("%q is not a time of day (want HH:MM, 00:00 to 23:59)", s)
	}
	return hh*60 + mm, nil
}

// parseBandwidth parses "10M" (both directions) or "UP:DOWN"
// ("10M:100M", "off:1M"); "off" and 0 do not limit.
func parseBandwidth(s string) (transfer.Bandwidth, error) {
	up, down, pair := strings.Cut(s, ":")
	u, err := parseRate(up)
	if err != nil {
		return transfer.Bandwidth{}, err
	}
	if !pair {
		return transfer.Bandwidth{Up: u, Down: u}, nil
	}
	d, err := parseRate(down)
	if err != nil {
		return transfer.Bandwidth{}, err
	}
	return transfer.Bandwidth{Up: u, Down: d}, nil
}

// parseRate parses one rate as a size (no suffix: KiB/s), 0 for off.
func parseRate(s string) (int64, error) {
	n, err := parseSize(s)
	if err != nil {
		return 0, fmt.Errorf("bad bandwidth %q in --bwlimit: want e.g. 512k, 10M or off", s)
	}
	return max(n, 0), nil
}
