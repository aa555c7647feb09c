package backup

import (
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/internal/backup/repo"
)

// forgetDates are snapshot times (UTC) for the policy table: several a
// day, gaps of days, a week boundary (2026-11-29 is a Sunday), a month and a
// year boundary.
var forgetDates = []string{
	"2025-12-31 23:00",
	"2026-01-01 01:00",
	"2026-10-15 12:00",
	"2026-11-20 08:00",
	"2026-11-28 10:00", // Saturday
	"2026-11-29 09:00", // Sunday, same ISO week as the 28th
	"2026-11-30 07:00", // Monday, a new ISO week
	"2026-12-01 03:00",
	"2026-12-01 03:30",
	"2026-12-01 21:00",
	"2026-12-02 04:00",
	"2026-12-02 04:10",
}

func parseDates(t *testing.T, loc *time.Location, ds []string) []time.Time {
	t.Helper()
	var ts []time.Time
	for _, d := range ds {
		tm, err := time.ParseInLocation("2006-01-02 15:04", d, loc)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tm)
	}
	return ts
}

// kept returns the kept dates of vs, newest first, as "MM-DD hh:mm".
func kept(ts []time.Time, vs []Verdict) string {
	var out []string
	for i := len(ts) - 1; i >= 0; i-- {
		if vs[i].Keep {
			out = append(out, ts[i].Format("01-02 15:04"))
		}
	}
	return strings.Join(out, " ")
}

func TestApplyPolicy(t *testing.T) {
	ts := parseDates(t, time.UTC, forgetDates)
	tests := []struct {
		name string
		p    Policy
		want string
	}{
		{"last 1", Policy{Last: 1}, "12-02 04:10"},
		{"last 3", Policy{Last: 3}, "12-02 04:10 12-02 04:00 12-01 21:00"},
		{"last more than there are", Policy{Last: 20}, kept(ts, allKept(len(ts)))},
		{"daily 3: the newest of each of the 3 newest days", Policy{Daily: 3}, "12-02 04:10 12-01 21:00 11-30 07:00"},
		{"hourly 3: 04:10 and 04:00 share an hour", Policy{Hourly: 3}, "12-02 04:10 12-01 21:00 12-01 03:30"},
		{"weekly 2: Saturday and Sunday share an ISO week", Policy{Weekly: 2}, "12-02 04:10 11-29 09:00"},
		{"monthly 3", Policy{Monthly: 3}, "12-02 04:10 11-30 07:00 10-15 12:00"},
		{"yearly 2: the year boundary", Policy{Yearly: 2}, "12-02 04:10 12-31 23:00"},
		{"yearly 5: counts left keep the oldest too", Policy{Yearly: 5}, "12-02 04:10 12-31 23:00"},
		{"monthly unlimited", Policy{Monthly: -1}, "12-02 04:10 11-30 07:00 10-15 12:00 01-01 01:00 12-31 23:00"},
		{"daily 30: the newest of every day", Policy{Daily: 30},
			"12-02 04:10 12-01 21:00 11-30 07:00 11-29 09:00 11-28 10:00 11-20 08:00 10-15 12:00 01-01 01:00 12-31 23:00"},
		{"rules add up", Policy{Last: 2, Weekly: 2, Yearly: 1}, "12-02 04:10 12-02 04:00 11-29 09:00"},
		{"older-than keeps the newer ones", Policy{OlderThan: ts[7]}, "12-02 04:10 12-02 04:00 12-01 21:00 12-01 03:30 12-01 03:00"},
		{"older-than plus monthly", Policy{OlderThan: ts[10], Monthly: 2}, "12-02 04:10 12-02 04:00 11-30 07:00"},
		{"older-than past everything still keeps the latest", Policy{OlderThan: ts[11].Add(time.Hour)}, "12-02 04:10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Location = time.UTC // the dates are UTC
			got := kept(ts, ApplyPolicy(ts, tt.p))
			if got != tt.want {
				t.Errorf("ApplyPolicy(%s) keeps\n %s\nwant\n %s", tt.p, got, tt.want)
			}
		})
	}
}

func allKept(n int) []Verdict {
	vs := make([]Verdict, n)
	for i := range vs {
		vs[i].Keep = true
	}
	return vs
}

// TestApplyPolicyLocalTime checks that the day buckets are counted in the
// policy's time zone: 23:30 UTC and 00:30 UTC the next day are one day in
// New York and two in UTC.
func TestApplyPolicyLocalTime(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	ts := parseDates(t, time.UTC, []string{"2026-12-01 12:00", "2026-12-01 23:30", "2026-12-02 00:30"})
	if got, want := kept(ts, ApplyPolicy(ts, Policy{Daily: 2, Location: time.UTC})), "12-02 00:30 12-01 23:30"; got != want {
		t.Errorf("UTC: kept %s, want %s", got, want)
	}
	// In New York all three are on Dec 1: the newest is kept and, with a
	// count left, the oldest.
	if got, want := kept(ts, ApplyPolicy(ts, Policy{Daily: 2, Location: ny})), "12-02 00:30 12-01 12:00"; got != want {
		t.Errorf("New York: kept %s, want %s", got, want)
	}
}

// TestApplyPolicyOrder checks that the input order does not matter and
// that the verdicts come back in it, with reasons.
func TestApplyPolicyOrder(t *testing.T) {
	ts := parseDates(t, time.UTC, forgetDates)
	want := ApplyPolicy(ts, Policy{Daily: 2, Last: 1, Location: time.UTC})
	rev := slices.Clone(ts)
	slices.Reverse(rev)
	got := ApplyPolicy(rev, Policy{Daily: 2, Last: 1, Location: time.UTC})
	slices.Reverse(got)
	for i := range want {
		if got[i].Keep != want[i].Keep || !slices.Equal(got[i].Reasons, want[i].Reasons) {
			t.Errorf("snapshot %s: reversed input gives %+v, want %+v", ts[i], got[i], want[i])
		}
	}
	newest := want[len(want)-1]
	if !slices.Equal(newest.Reasons, []string{"last", "daily"}) {
		t.Errorf("newest snapshot's reasons = %q, want [last daily]", newest.Reasons)
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := (Policy{Daily: -2}).Validate(); err == nil || !strings.Contains(err.Error(), "--keep-daily -2") {
		t.Errorf("Validate(daily -2) = %v, want an error naming --keep-daily -2", err)
	}
	if err := (Policy{Daily: -1, Last: 3}).Validate(); err != nil {
		t.Errorf("Validate(daily -1) = %v", err)
	}
	if !(Policy{}).Empty() || (Policy{Weekly: 1}).Empty() {
		t.Error("Empty is wrong")
	}
}

// TestPlanForgetGroups checks that each source's snapshots are counted
// apart, so --keep-last 1 keeps one of each.
func TestPlanForgetGroups(t *testing.T) {
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var snaps []repo.Snapshot
	for i := range 6 {
		s := repo.Snapshot{Time: base.Add(time.Duration(i) * time.Hour), Hostname: "h", Paths: []string{"/a"}}
		if i%2 == 1 {
			s.Paths = []string{"/b"}
		}
		s.ID[0] = byte(i + 1)
		snaps = append(snaps, s)
	}
	gs, err := PlanForget(snaps, Policy{Last: 1}, []string{"host", "paths"})
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 {
		t.Fatalf("%d groups, want 2: %+v", len(gs), gs)
	}
	for _, g := range gs {
		if len(g.Keep) != 1 || len(g.Remove) != 2 {
			t.Errorf("group %s: keep %d remove %d, want 1 and 2", g.Key, len(g.Keep), len(g.Remove))
		}
		if want := byte(5); g.Key == `host=h paths=["/a"]` && g.Keep[0].ID[0] != want {
			t.Errorf("group /a keeps snapshot %d, want the newest, %d", g.Keep[0].ID[0], want)
		}
	}
	gs, err = PlanForget(snaps, Policy{Last: 1}, nil)
	if err != nil || len(gs) != 1 || len(gs[0].Keep) != 1 || gs[0].Keep[0].ID[0] != 6 {
		t.Errorf("no grouping: %+v, %v; want one group keeping snapshot 6", gs, err)
	}
	if _, err := PlanForget(snaps, Policy{Last: 1}, []string{"colour"}); err == nil || !strings.Contains(err.Error(), `"colour"`) {
		t.Errorf("group by colour: %v", err)
	}
}
