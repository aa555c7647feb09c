package cli

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"ferry/internal/backend"
	"ferry/internal/transfer"
	"ferry/internal/ui"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"100", 100 << 10, false},
		{"0", 0, false},
		{"10B", 10, false},
		{"1.5K", 1536, false},
		{"1M", 1 << 20, false},
		{"1Mi", 1 << 20, false},
		{"1MiB", 1 << 20, false},
		{"1mb", 1 << 20, false},
		{"2G", 2 << 30, false},
		{"1T", 1 << 40, false},
		{"off", -1, false},
		{"OFF", -1, false},
		{"-1", -1, false},
		{"", 0, true},
		{"abc", 0, true},
		{"-5M", 0, true},
		{"1X", 0, true},
		{"1e30P", 0, true},
	}
	for _, tc := range tests {
		got, err := parseSize(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("parseSize(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	var s sizeFlag = -1
	if s.String() != "off" {
		t.Errorf("String() = %q", s.String())
	}
	if err := s.Set("2K"); err != nil || s != 2048 || s.String() != "2048B" {
		t.Errorf("Set(2K): %v %d %q", err, s, s.String())
	}
}

func TestEventMessage(t *testing.T) {
	tests := []struct {
		ev        transfer.Event
		wantLevel ui.Level
		wantMsg   string
	}{
		{transfer.Event{Action: transfer.Copied, Reason: "new"}, ui.LevelInfo, "Copied (new)"},
		{transfer.Event{Action: transfer.Copied, Size: 2048, DryRun: true}, ui.LevelNotice, "Skipped copy as --dry-run is set (size 2.000 KiB)"},
		{transfer.Event{Action: transfer.Deleted, DryRun: true}, ui.LevelNotice, "Skipped delete as --dry-run is set (size 0 B)"},
		{transfer.Event{Action: transfer.RemovedDir, DryRun: true}, ui.LevelNotice, "Skipped remove directory as --dry-run is set"},
		{transfer.Event{Action: transfer.Renamed, NewPath: "a-1.txt", DryRun: true}, ui.LevelNotice, "Skipped rename to a-1.txt as --dry-run is set"},
		{transfer.Event{Action: transfer.Failed, Err: errors.New("boom")}, ui.LevelError, "boom"},
		{transfer.Event{Action: transfer.Deleted}, ui.LevelInfo, "Deleted"},
		{transfer.Event{Action: transfer.Deleted, ID: "h1", Reason: "identical copy"}, ui.LevelNotice, "Deleted h1 (identical copy)"},
		{transfer.Event{Action: transfer.Duplicate, Count: 3}, ui.LevelNotice, "Found 3 objects with duplicate names"},
		{transfer.Event{Action: transfer.Moved, Reason: "server-side"}, ui.LevelInfo, "Moved (server-side)"},
	}
	for _, tc := range tests {
		level, msg := eventMessage(tc.ev)
		if level != tc.wantLevel || msg != tc.wantMsg {
			t.Errorf("eventMessage(%+v) = %v %q, want %v %q", tc.ev, level, msg, tc.wantLevel, tc.wantMsg)
		}
	}
}

func TestAskDedupe(t *testing.T) {
	dups := []backend.Entry{
		{Path: "a.txt", Size: 1, ModTime: time.Unix(0, 0), ID: "h1"},
		{Path: "a.txt", Size: 2, ModTime: time.Unix(0, 0), ID: "h2"},
	}
	tests := []struct {
		in   string
		want transfer.DedupeChoice
	}{
		{"s\n", transfer.DedupeChoice{Action: transfer.DedupeSkip}},
		{"R\n", transfer.DedupeChoice{Action: transfer.DedupeRename}},
		{"x\nk\n9\n2\n", transfer.DedupeChoice{Action: transfer.DedupeFirst, Keep: 1}},
	}
	for _, tc := range tests {
		var out bytes.Buffer
		got, err := askDedupe(&out, bufio.NewReader(strings.NewReader(tc.in)), "a.txt", dups)
		if err != nil || got != tc.want {
			t.Errorf("answers %q: %+v %v, want %+v", tc.in, got, err, tc.want)
		}
		if !strings.Contains(out.String(), "ID h2") {
			t.Errorf("prompt lacks the IDs:\n%s", out.String())
		}
	}
	if _, err := askDedupe(&bytes.Buffer{}, bufio.NewReader(strings.NewReader("")), "a.txt", dups); err == nil {
		t.Errorf("no answer: no error")
	}
}
