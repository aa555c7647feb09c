package backup

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"ferry/internal/backup/repo"
)

// Policy says which snapshots of a group forget keeps. Its zero value
// keeps nothing by rule; Empty reports it, and callers refuse to apply an
// empty policy (it would remove every snapshot but the newest).
//
// The rules follow restic's forget: the snapshots are walked newest first;
// Last keeps the n newest; Hourly, Daily, Weekly, Monthly and Yearly keep
// the newest snapshot of each of the n newest hours, days, ISO weeks,
// months and years (in Location) that hold a snapshot. A count of -1 keeps
// one per bucket without limit. When a rule has counts left after the
// last bucket, it also keeps the oldest snapshot, so a young repository
// keeps its history. OlderThan, duplicity's remove-older-than, keeps every
// snapshot taken at or after it: only older snapshots are removed, and
// only those no other rule keeps.
//
// A snapshot is kept when any rule keeps it; the newest snapshot of a
// group is always kept, so no policy empties a group.
type Policy struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly int

	// OlderThan, when not zero, keeps the snapshots taken at or after it.
	OlderThan time.Time

	// Location is the time zone the buckets are counted in; nil is
	// time.Local.
	Location *time.Location
}

// Empty reports whether p has no rule.
func (p Policy) Empty() bool {
	return p.Last == 0 && p.Hourly == 0 && p.Daily == 0 && p.Weekly == 0 &&
		p.Monthly == 0 && p.Yearly == 0 && p.OlderThan.IsZero()
}

// Validate reports a negative count other than -1.
func (p Policy) Validate() error {
	for _, r := range p.rules() {
		if r.count < -1 {
			return fmt.Errorf("forget policy: --keep-%s %d: want a count >= 0, or -1 for no limit", r.name, r.count)
		}
	}
	return nil
}

// String describes p as its flags, e.g. "--keep-last 3 --keep-daily 7".
func (p Policy) String() string {
	var parts []string
	for _, r := range p.rules() {
		if r.count != 0 {
			parts = append(parts, fmt.Sprintf("--keep-%s %d", r.name, r.count))
		}
	}
	if !p.OlderThan.IsZero() {
		parts = append(parts, "--older-than "+p.OlderThan.Format(time.RFC3339))
	}
	if len(parts) == 0 {
		return "(no policy)"
	}
	return strings.Join(parts, " ")
}

// Verdict is the policy's decision on one snapshot.
type Verdict struct {
	Keep bool
	// Reasons names the rules that keep it: "last", "hourly", "daily",
	// "weekly", "monthly", "yearly", "oldest daily" (a rule with counts
	// left kept the oldest), "newer than --older-than", "latest".
	Reasons []string
}

// rule is one counting rule of a Policy.
type rule struct {
	name   string
	count  int
	bucket func(t time.Time, i int) int // the bucket of the snapshot at time t, index i
}

func (p Policy) rules() []rule {
	return []rule{
		{"last", p.Last, func(_ time.Time, i int) int { return i }},
		{"hourly", p.Hourly, func(t time.Time, _ int) int {
			y, m, d := t.Date()
			return ((y*100+int(m))*100+d)*100 + t.Hour()
		}},
		{"daily", p.Daily, func(t time.Time, _ int) int {
			y, m, d := t.Date()
			return (y*100+int(m))*100 + d
		}},
		{"weekly", p.Weekly, func(t time.Time, _ int) int {
			y, w := t.ISOWeek()
			return y*100 + w
		}},
		{"monthly", p.Monthly, func(t time.Time, _ int) int {
			y, m, _ := t.Date()
			return y*100 + int(m)
		}},
		{"yearly", p.Yearly, func(t time.Time, _ int) int { return t.Year() }},
	}
}

// ApplyPolicy decides for each of times, the snapshot times of one group
// in any order, whether p keeps it. The result is in the order of times.
// Snapshots with equal times are ordered by their index, the later one
// counting as newer.
func ApplyPolicy(times []time.Time, p Policy) []Verdict {
	loc := p.Location
	if loc == nil {
		loc = time.Local
	}
	out := make([]Verdict, len(times))
	if len(times) == 0 {
		return out
	}
	// order lists the indexes of times newest first.
	order := make([]int, len(times))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := times[b].Compare(times[a]); c != 0 {
			return c
		}
		return b - a
	})
	keep := func(i int, reason string) {
		out[i].Keep = true
		out[i].Reasons = append(out[i].Reasons, reason)
	}
	for _, r := range p.rules() {
		left := r.count
		last, started := 0, false
		for n, i := range order {
			if left == 0 {
				break
			}
			b := r.bucket(times[i].In(loc), n)
			switch {
			case !started || b != last:
				keep(i, r.name)
			case n == len(order)-1:
				keep(i, "oldest "+r.name)
			default:
				continue
			}
			last, started = b, true
			if left > 0 {
				left--
			}
		}
	}
	if !p.OlderThan.IsZero() {
		for i, t := range times {
			if !t.Before(p.OlderThan) {
				keep(i, "newer than --older-than")
			}
		}
	}
	if !out[order[0]].Keep {
		keep(order[0], "latest")
	}
	return out
}

// ForgetGroup is one group of snapshots and the policy's decision on it.
type ForgetGroup struct {
	// Key names the group: its values of the --group-by fields, e.g.
	// "host=h paths=[/home/me]".
	Key    string
	Keep   []repo.Snapshot // newest first
	Remove []repo.Snapshot // newest first
	// Reasons holds, for each kept snapshot, why it is kept.
	Reasons map[repo.ID][]string
}

// GroupFields are the snapshot fields forget may group by.
var GroupFields = []string{"host", "paths", "tags"}

// PlanForget groups snaps by the fields in groupBy (a subset of
// GroupFields; none puts every snapshot in one group) and applies p to
// each group, as restic's forget does: a policy for the snapshots of one
// source never removes those of another.
func PlanForget(snaps []repo.Snapshot, p Policy, groupBy []string) ([]ForgetGroup, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	for _, f := range groupBy {
		if !slices.Contains(GroupFields, f) {
			return nil, fmt.Errorf("forget: cannot group by %q: want some of %s", f, strings.Join(GroupFields, ", "))
		}
	}
	byKey := make(map[string][]repo.Snapshot)
	var keys []string
	for _, s := range snaps {
		var parts []string
		for _, f := range groupBy {
			switch f {
			case "host":
				parts = append(parts, "host="+s.Hostname)
			case "paths":
				ps := slices.Clone(s.Paths)
				slices.Sort(ps)
				parts = append(parts, fmt.Sprintf("paths=%q", ps))
			case "tags":
				ts := slices.Clone(s.Tags)
				slices.Sort(ts)
				parts = append(parts, fmt.Sprintf("tags=%q", ts))
			}
		}
		k := strings.Join(parts, " ")
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], s)
	}
	slices.Sort(keys)
	var out []ForgetGroup
	for _, k := range keys {
		ss := byKey[k]
		slices.SortStableFunc(ss, func(a, b repo.Snapshot) int { return b.Time.Compare(a.Time) })
		times := make([]time.Time, len(ss))
		for i, s := range ss {
			times[i] = s.Time
		}
		g := ForgetGroup{Key: k, Reasons: make(map[repo.ID][]string)}
		for i, v := range ApplyPolicy(times, p) {
			if v.Keep {
				g.Keep = append(g.Keep, ss[i])
				g.Reasons[ss[i].ID] = v.Reasons
			} else {
				g.Remove = append(g.Remove, ss[i])
			}
		}
		out = append(out, g)
	}
	return out, nil
}
