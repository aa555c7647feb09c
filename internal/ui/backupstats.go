package ui

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// BackupStats are the numbers of one backup run as the statistics block
// shows them: duplicity's "Backup Statistics" fields, then ferry's own.
type BackupStats struct {
	StartTime, EndTime time.Time

	SourceFiles                int64 // files, directories and symlinks in the source
	SourceFileSize             int64
	NewFiles, NewFileSize      int64
	DeletedFiles               int64
	ChangedFiles               int64
	ChangedFileSize            int64
	ChangedDeltaSize           int64 // new data stored for changed files (plaintext)
	DeltaEntries               int64 // new + changed + deleted
	RawDeltaSize               int64 // new data stored (plaintext)
	TotalDestinationSizeChange int64 // bytes uploaded
	Errors                     int64

	StoredBytes    int64  // stored (compressed, encrypted) bytes of new blobs
	DedupSavings   int64  // bytes read whose blobs the repository had already
	ObjectsWritten int64  // objects put to the remote
	Requests       int64  // remote requests
	Retries        int64  // retried attempts
	Snapshot       string // short snapshot ID; "" when nothing changed
	DryRun         bool
}

// WriteBackupStats writes s as duplicity's statistics block followed by
// ferry's lines.
func WriteBackupStats(w io.Writer, s BackupStats) error {
	var b strings.Builder
	b.WriteString("--------------[ Backup Statistics ]--------------\n")
	fmt.Fprintf(&b, "StartTime %.2f (%s)\n", unixSeconds(s.StartTime), s.StartTime.Local().Format(time.ANSIC))
	fmt.Fprintf(&b, "EndTime %.2f (%s)\n", unixSeconds(s.EndTime), s.EndTime.Local().Format(time.ANSIC))
	elapsed := s.EndTime.Sub(s.StartTime).Seconds()
	fmt.Fprintf(&b, "ElapsedTime %.2f (%s)\n", elapsed, DuplicitySeconds(elapsed))
	fmt.Fprintf(&b, "SourceFiles %d\n", s.SourceFiles)
	sized := func(name string, n int64) { fmt.Fprintf(&b, "%s %d (%s)\n", name, n, DuplicityBytes(n)) }
	sized("SourceFileSize", s.SourceFileSize)
	fmt.Fprintf(&b, "NewFiles %d\n", s.NewFiles)
	sized("NewFileSize", s.NewFileSize)
	fmt.Fprintf(&b, "DeletedFiles %d\n", s.DeletedFiles)
	fmt.Fprintf(&b, "ChangedFiles %d\n", s.ChangedFiles)
	sized("ChangedFileSize", s.ChangedFileSize)
	sized("ChangedDeltaSize", s.ChangedDeltaSize)
	fmt.Fprintf(&b, "DeltaEntries %d\n", s.DeltaEntries)
	sized("RawDeltaSize", s.RawDeltaSize)
	sized("TotalDestinationSizeChange", s.TotalDestinationSizeChange)
	fmt.Fprintf(&b, "Errors %d\n", s.Errors)
	b.WriteString("-------------------------------------------------\n")
	sized("StoredBytes", s.StoredBytes)
	sized("DedupSavings", s.DedupSavings)
	fmt.Fprintf(&b, "ObjectsWritten %d\n", s.ObjectsWritten)
	fmt.Fprintf(&b, "Requests %d\n", s.Requests)
	fmt.Fprintf(&b, "Retries %d\n", s.Retries)
	switch {
	case s.DryRun:
		b.WriteString("Snapshot none (dry run: nothing was stored)\n")
	case s.Snapshot == "":
		b.WriteString("Snapshot none (nothing changed)\n")
	default:
		fmt.Fprintf(&b, "Snapshot %s\n", s.Snapshot)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// DuplicityBytes formats n as duplicity does: "0 bytes", "1 byte",
// "512 bytes", then 1024-based KB, MB, GB, TB with three significant
// digits ("1.00 GB", "12.3 MB", "839 MB").
func DuplicityBytes(n int64) string {
	if n < 1024 && n > -1024 {
		if n == 1 {
			return "1 byte"
		}
		return fmt.Sprintf("%d bytes", n)
	}
	v := float64(n)
	units := []string{"KB", "MB", "GB", "TB", "PB", "EB"}
	u := -1
	for (v >= 1024 || v <= -1024) && u < len(units)-1 {
		v /= 1024
		u++
	}
	av := v
	if av < 0 {
		av = -av
	}
	switch {
	case av >= 100:
		return fmt.Sprintf("%.0f %s", v, units[u])
	case av >= 10:
		return fmt.Sprintf("%.1f %s", v, units[u])
	}
	return fmt.Sprintf("%.2f %s", v, units[u])
}

// DuplicitySeconds formats a duration in seconds as duplicity does:
// "12.34 seconds", "1 minute 5.00 seconds", "2 hours 1 minute 0.00 seconds".
func DuplicitySeconds(sec float64) string {
	var parts []string
	plural := func(n int, unit string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, unit)
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	if h := int(sec / 3600); h > 0 {
		parts = append(parts, plural(h, "hour"))
		sec -= float64(h) * 3600
	}
	if m := int(sec / 60); m > 0 {
		parts = append(parts, plural(m, "minute"))
		sec -= float64(m) * 60
	}
	parts = append(parts, fmt.Sprintf("%.2f seconds", sec))
	return strings.Join(parts, " ")
}
