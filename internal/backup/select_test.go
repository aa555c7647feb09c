package backup

import (
	"errors"
	"strings"
	"testing"
	"time"

	"ferry/internal/backup/repo"
)

func TestSelectSnapshot(t *testing.T) {
	base := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
	var snaps []repo.Snapshot
	for i, prefix := range []byte{0xab, 0xac, 0x12} {
		s := repo.Snapshot{Time: base.Add(time.Duration(i) * 24 * time.Hour)}
		s.ID[0], s.ID[1] = prefix, byte(i)
		snaps = append(snaps, s)
	}
	pick := func(id string, at time.Time) (byte, error) {
		s, err := SelectSnapshot(snaps, id, at)
		return s.ID[1], err
	}
	for _, tt := range []struct {
		id   string
		at   time.Time
		want byte
	}{
		{"", time.Time{}, 2},
		{"", base.Add(24 * time.Hour), 1},   // exactly at the second
		{"", base.Add(47 * time.Hour), 1},   // between the second and third
		{"", base.Add(1000 * time.Hour), 2}, // after all
		{"ab", time.Time{}, 0},              // prefix
		{"AC01", time.Time{}, 1},            // upper case
		{snaps[2].ID.String(), base, 2},     // the ID wins over the time
	} {
		got, err := pick(tt.id, tt.at)
		if err != nil || got != tt.want {
			t.Errorf("SelectSnapshot(%q, %s) = %d, %v; want %d", tt.id, tt.at, got, err, tt.want)
		}
	}
	if _, err := pick("a", time.Time{}); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("ambiguous prefix: %v", err)
	}
	if _, err := pick("ff", time.Time{}); !errors.Is(err, ErrNoSnapshot) {
		t.Errorf("unknown prefix: %v", err)
	}
	if _, err := pick("", base.Add(-time.Second)); !errors.Is(err, ErrNoSnapshot) || !strings.Contains(err.Error(), "the first is from 2026-12-01T04:00:00Z") {
		t.Errorf("before the first: %v", err)
	}
	if _, err := SelectSnapshot(nil, "", time.Time{}); !errors.Is(err, ErrNoSnapshot) {
		t.Errorf("no snapshots: %v", err)
	}
}
