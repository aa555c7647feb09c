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

// statsLines renders s like rclone's stats block. Lines for counters that
// are zero (errors, retries, checks, deletes, renames) are left out; live
// adds the running transfers.
func statsLines(s Stats, live bool) []string {
	var lines []string
	add := func(label, format string, args ...any) {
		lines = append(lines, fmt.Sprintf("%-13s %s", label+":", fmt.Sprintf(format, args...)))
	}
	eta := "-"
	if s.ETA >= 0 {
		eta = FormatDuration(seconds(s.ETA))
	}
	add("Transferred", "%s / %s, %s, %s, ETA %s", FormatBytes(s.Bytes), FormatBytes(s.TotalBytes),
		percent(s.Bytes, s.TotalBytes), FormatRate(s.Speed), eta)
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
				FormatBytes(t.Size), FormatRate(t.Speed), tEta))
		}
	}
	return lines
}

// WriteStats writes the text stats block to w.
func WriteStats(w io.Writer, s Stats) error {
	_, err := io.WriteString(w, strings.Join(statsLines(s, false), "\n")+"\n")
	return err
}

// oneLine replaces line breaks so a message stays on one line.
func oneLine(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r", " "), "\n", " ")
}
