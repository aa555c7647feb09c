// Package ui renders what commands tell a person: one-line messages,
// end-of-run statistics and results, as text or as JSON (--json), and the
// live progress display of -P/--progress. It is the only package that
// knows about terminals.
//
// Engines never import ui: the CLI turns their events and statistics into
// ui's plain types (Stats, Level) and hands them to a Printer.
//
// # Streams
//
// Messages go to stderr, like rclone's log lines. The text summary goes to
// stderr too (rclone prints its stats there), so stdout holds only
// results a script may read: listings, check reports, and with --json
// exactly one JSON document per command.
package ui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// FormatBytes formats n bytes with binary units, three decimals above
// 1 KiB, like rclone's stats: "512 B", "1.500 KiB", "3.000 GiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit && n > -unit {
		return fmt.Sprintf("%d B", n)
	}
	v := float64(n)
	exp := 0
	// Divide while the value would print as 1024 or more: 2^50-1 bytes is
	// "1.000 PiB", not "1024.000 TiB".
	for math.Abs(v) >= unit-0.0005 && exp < 6 {
		v /= unit
		exp++
	}
	return fmt.Sprintf("%.3f %ciB", v, "KMGTPE"[exp-1])
}

// FormatRate formats a rate in bytes per second: "1.234 MiB/s".
func FormatRate(bytesPerSecond float64) string {
	if bytesPerSecond < 0 || math.IsNaN(bytesPerSecond) || math.IsInf(bytesPerSecond, 0) {
		return "-"
	}
	return FormatBytes(int64(bytesPerSecond)) + "/s"
}

// FormatBitRate formats a rate in bits per second with binary units, as
// rclone's --stats-unit bits does: "512 bit/s", "8.000 Mibit/s".
func FormatBitRate(bitsPerSecond float64) string {
	if bitsPerSecond < 0 || math.IsNaN(bitsPerSecond) || math.IsInf(bitsPerSecond, 0) {
		return "-"
	}
	b := FormatBytes(int64(bitsPerSecond)) // "512 B", "8.000 MiB"
	return strings.TrimSuffix(b, "B") + "bit/s"
}

// FormatDuration formats d for stats: tenths of a second below a minute
// ("4.2s"), whole seconds above ("1h2m3s"); "-" for negative (unknown).
func FormatDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "-"
	case d == 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// percent formats 100*n/total as "42%", or "-" while total is 0 (as
// rclone does: nothing known yet is not 100% done).
func percent(n, total int64) string {
	if total <= 0 {
		return "-"
	}
	return strconv.FormatInt(n*100/total, 10) + "%"
}
