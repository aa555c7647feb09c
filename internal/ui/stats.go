package ui

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Stats are a run's counters as the engine takes them (transfer.Snapshot
// is this type) and the user sees them, with the JSON names of rclone's
// core/stats.
type Stats struct {
	Bytes          int64      `json:"bytes"`
	TotalBytes     int64      `json:"totalBytes"`
	Transfers      int64      `json:"transfers"`
	TotalTransfers int64      `json:"totalTransfers"`
	Checks         int64      `json:"checks"`
	TotalChecks    int64      `json:"totalChecks"`
	Deletes        int64      `json:"deletes"`
	DeletedDirs    int64      `json:"deletedDirs"`
	Renames        int64      `json:"renames"`
	ModTimes       int64      `json:"modTimes"` // mtimes set without copying
	Errors         int64      `json:"errors"`
	Retries        int64      `json:"retries"` // retried attempts of any operation (API call, chunk, whole file)
	LastError      string     `json:"lastError,omitempty"`
	ElapsedTime    float64    `json:"elapsedTime"` // seconds
	Speed          float64    `json:"speed"`       // bytes per second
	ETA            float64    `json:"eta"`         // seconds; -1 when unknown
	DryRun         bool       `json:"dryRun,omitempty"`
	Transferring   []InFlight `json:"transferring,omitempty"`
}

// Elapsed returns ElapsedTime as a Duration.
func (s Stats) Elapsed() time.Duration { return seconds(s.ElapsedTime) }

// InFlight is one running transfer.
type InFlight struct {
	Name       string  `json:"name"`
	Size       int64   `json:"size"`
	Bytes      int64   `json:"bytes"`
	Percentage int     `json:"percentage"`
	Speed      float64 `json:"speed"` // bytes per second
}

// seconds converts a float number of seconds to a Duration.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// StatsFormat chooses how the statistics read (rclone's --stats-one-line,
// --stats-one-line-date-format and --stats-unit). The zero value is
// rclone's default block with rates in bytes per second.
type StatsFormat struct {
	// OneLine renders one line instead of the block:
	// "1.500 MiB / 10.000 MiB, 15%, 1.100 MiB/s, ETA 7.7s (xfr#1/4)".
	OneLine bool
	// Date, if set, is a time layout printed first on the one line, its
	// separator included (rclone's default "2006/01/02 15:04:05 - ").
	Date string
	// Bits shows rates in bits per second ("8.000 Mibit/s").
	Bits bool
	// Now is the clock of Date; nil means time.Now.
	Now func() time.Time
}

// rate formats a rate in bytes per second in f's unit.
func (f StatsFormat) rate(bytesPerSecond float64) string {
	if f.Bits {
		return FormatBitRate(bytesPerSecond * 8)
	}
	return FormatRate(bytesPerSecond)
}

// Lines renders s in format f: the block (without the running
// transfers) or the one line.
func (f StatsFormat) Lines(s Stats) []string {
	if f.OneLine {
		return []string{f.oneLine(s)}
	}
	return statsLines(s, false, f)
}

// oneLine renders s as rclone's --stats-one-line: bytes, percentage,
// rate and ETA, then the files done of those known while some are left.
func (f StatsFormat) oneLine(s Stats) string {
	date := ""
	if f.Date != "" {
		now := time.Now
		if f.Now != nil {
			now = f.Now
		}
		date = now().Format(f.Date)
	}
	xfr := ""
	if s.TotalTransfers > 0 && s.Transfers < s.TotalTransfers {
		xfr = fmt.Sprintf(" (xfr#%d/%d)", s.Transfers, s.TotalTransfers)
	}
	return fmt.Sprintf("%s%s / %s, %s, %s, ETA %s%s", date, FormatBytes(s.Bytes), FormatBytes(s.TotalBytes),
		percent(s.Bytes, s.TotalBytes), f.rate(s.Speed), eta(s.ETA), xfr)
}

// eta formats an ETA in seconds, "-" when unknown (negative).
func eta(secs float64) string {
	if secs < 0 {
		return "-"
	}
	return FormatDuration(seconds(secs))
}

// statsLines renders s like rclone's stats block. Lines for counters that
// are zero (errors, retries, checks, deletes, renames) are left out; live
// adds the running transfers.
func statsLines(s Stats, live bool, f StatsFormat) []string {
	var lines []string
	add := func(label, format string, args ...any) {
		lines = append(lines, fmt.Sprintf("%-13s %s", label+":", fmt.Sprintf(format, args...)))
	}
	add("Transferred", "%s / %s, %s, %s, ETA %s", FormatBytes(s.Bytes), FormatBytes(s.TotalBytes),
		percent(s.Bytes, s.TotalBytes), f.rate(s.Speed), eta(s.ETA))
	if s.Errors > 0 {
		msg := ""
		if s.LastError != "" {
			msg = " (last error: " + oneLine(s.LastError) + ")"
		}
		add("Errors", "%d%s", s.Errors, msg)
	}
	if s.Retries > 0 {
		add("Retries", "%d (temporary failures tried again)", s.Retries)
	}
	if s.TotalChecks > 0 || s.Checks > 0 {
		add("Checks", "%d / %d, %s", s.Checks, s.TotalChecks, percent(s.Checks, s.TotalChecks))
	}
	if s.Deletes > 0 || s.DeletedDirs > 0 {
		add("Deleted", "%d (files), %d (dirs)", s.Deletes, s.DeletedDirs)
	}
	if s.Renames > 0 {
		add("Renamed", "%d", s.Renames)
	}
	if s.ModTimes > 0 {
		add("Updated", "%d (modification times)", s.ModTimes)
	}
	add("Transferred", "%d / %d, %s", s.Transfers, s.TotalTransfers, percent(s.Transfers, s.TotalTransfers))
	add("Elapsed time", "%s", FormatDuration(seconds(s.ElapsedTime)))
	if s.DryRun {
		lines = append(lines, "(dry run: nothing was changed)")
	}
	if live && len(s.Transferring) > 0 {
		lines = append(lines, "Transferring:")
		for _, t := range s.Transferring {
			tEta := "-"
			if t.Speed > 0 {
				tEta = FormatDuration(seconds(float64(t.Size-t.Bytes) / t.Speed))
			}
			lines = append(lines, fmt.Sprintf(" * %s: %s /%s, %s, %s", t.Name, percent(t.Bytes, t.Size),
				FormatBytes(t.Size), f.rate(t.Speed), tEta))
		}
	}
	return lines
}

// WriteStats writes the text stats block to w.
func WriteStats(w io.Writer, s Stats) error { return StatsFormat{}.Write(w, s) }

// Write writes the text statistics in format f to w.
func (f StatsFormat) Write(w io.Writer, s Stats) error {
	_, err := io.WriteString(w, strings.Join(f.Lines(s), "\n")+"\n")
	return err
}

// oneLine replaces line breaks so a message stays on one line.
func oneLine(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r", " "), "\n", " ")
}
