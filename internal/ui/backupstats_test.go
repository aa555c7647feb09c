package ui

import (
	"strings"
	"testing"
	"time"
)

func TestDuplicityBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 bytes"}, {1, "1 byte"}, {1023, "1023 bytes"}, {1024, "1.00 KB"},
		{12_900_000, "12.3 MB"}, {880_000_000, "839 MB"}, {1 << 30, "1.00 GB"}, {5 << 40, "5.00 TB"},
	} {
		if got := DuplicityBytes(tc.n); got != tc.want {
			t.Errorf("DuplicityBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestDuplicitySeconds(t *testing.T) {
	for _, tc := range []struct {
		s    float64
		want string
	}{
		{12.34, "12.34 seconds"}, {65, "1 minute 5.00 seconds"}, {7260, "2 hours 1 minute 0.00 seconds"},
	} {
		if got := DuplicitySeconds(tc.s); got != tc.want {
			t.Errorf("DuplicitySeconds(%v) = %q, want %q", tc.s, got, tc.want)
		}
	}
}

// TestWriteBackupStats: the block has duplicity's field names in its
// order, then ferry's lines.
func TestWriteBackupStats(t *testing.T) {
	start := time.Unix(1733112000, 0)
	s := BackupStats{
		StartTime: start, EndTime: start.Add(12340 * time.Millisecond),
		SourceFiles: 2001, SourceFileSize: 1 << 30, NewFiles: 2001, NewFileSize: 1 << 30,
		DeltaEntries: 2001, RawDeltaSize: 1 << 30, TotalDestinationSizeChange: 880_000_000,
		StoredBytes: 870_000_000, DedupSavings: 1 << 20, ObjectsWritten: 17, Requests: 40, Snapshot: "1a2b3c4d",
	}
	var b strings.Builder
	if err := WriteBackupStats(&b, s); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
		f, _, _ := strings.Cut(line, " ")
		names = append(names, f)
	}
	want := "--------------[ StartTime EndTime ElapsedTime SourceFiles SourceFileSize NewFiles NewFileSize DeletedFiles " +
		"ChangedFiles ChangedFileSize ChangedDeltaSize DeltaEntries RawDeltaSize TotalDestinationSizeChange Errors " +
		"------------------------------------------------- StoredBytes DedupSavings ObjectsWritten Requests Retries Snapshot"
	if strings.Join(names, " ") != want {
		t.Fatalf("fields\n%s\nwant\n%s", strings.Join(names, " "), want)
	}
	for _, line := range []string{
		"StartTime 1733112000.00 (" + start.Local().Format(time.ANSIC) + ")",
		"ElapsedTime 12.34 (12.34 seconds)",
		"SourceFileSize 1073741824 (1.00 GB)",
		"TotalDestinationSizeChange 880000000 (839 MB)",
		"ChangedFileSize 0 (0 bytes)",
		"Snapshot 1a2b3c4d",
	} {
		if !strings.Contains(got, line+"\n") {
			t.Errorf("no line %q in\n%s", line, got)
		}
	}
	b.Reset()
	s.Snapshot = ""
	WriteBackupStats(&b, s)
	if !strings.Contains(b.String(), "Snapshot none (nothing changed)\n") {
		t.Errorf("no 'nothing changed' line in\n%s", b.String())
	}
}
