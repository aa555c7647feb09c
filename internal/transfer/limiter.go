package transfer

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Bandwidth is a pair of rates in bytes per second: Up for bytes sent to
// a remote, Down for bytes fetched from one. 0 does not limit that
// direction.
type Bandwidth struct{ Up, Down int64 }

// Slot is one entry of a bandwidth timetable (rclone's --bwlimit
// "08:00,512k 12:00,off"): from Minute (minutes after midnight) of
// Weekday on, Rate applies until the next slot starts. Weekday -1 is every
// day.
type Slot struct {
	Weekday int // time.Sunday..time.Saturday, or -1 for every day
	Minute  int // 0..1439
	Rate    Bandwidth
}

// Limiter is a pair of token buckets over bytes (--bwlimit), shared by all
// the transfers of a run so that their sum stays under the limit. A nil
// *Limiter does not limit. It is safe for concurrent use.
//
// The buckets start empty, so that from the start of a run the bytes
// moved never exceed rate × elapsed time (plus one read): a full bucket
// at the start let a 5 s run average 20% over the limit. Callers take
// tokens after reading; a read larger than the bucket puts the bucket in
// debt and later callers wait it off, so the long-run rate holds whatever
// the read sizes. With a timetable the rate follows the local clock.
type Limiter struct {
	slots []Slot // sorted by minute of the week; one slot when constant

	mu   sync.Mutex
	up   bucket // +checklocks:mu
	down bucket // +checklocks:mu

	now   func() time.Time                                 // tests; nil = time.Now
	sleep func(done <-chan struct{}, d time.Duration) bool // tests; nil = timer
}

// bucket is one direction's tokens.
type bucket struct {
	tokens float64   // negative while in debt
	last   time.Time // when tokens was computed; zero before the first take
}

// NewLimiter returns a limiter of bytesPerSecond in both directions, or
// nil (no limit) when bytesPerSecond <= 0.
func NewLimiter(bytesPerSecond int64) *Limiter {
	if bytesPerSecond <= 0 {
		return nil
	}
	return NewScheduleLimiter([]Slot{{Weekday: -1, Rate: Bandwidth{bytesPerSecond, bytesPerSecond}}})
}

// NewScheduleLimiter returns a limiter following the timetable slots, or
// nil when no slot limits anything. Before the first slot of the week the
// last one applies (the timetable wraps around).
func NewScheduleLimiter(slots []Slot) *Limiter {
	limits := false
	var week []Slot
	for _, s := range slots {
		limits = limits || s.Rate.Up > 0 || s.Rate.Down > 0
		if s.Weekday >= 0 {
			week = append(week, s)
			continue
		}
		for d := range 7 {
			s.Weekday = d
			week = append(week, s)
		}
	}
	if !limits {
		return nil
	}
	// Stable: of two slots at one minute the later given wins, as it is
	// found last.
	slices.SortStableFunc(week, func(a, b Slot) int { return weekMinute(a) - weekMinute(b) })
	return &Limiter{slots: week}
}

// weekMinute is s's start in minutes after Sunday midnight.
func weekMinute(s Slot) int { return s.Weekday*24*60 + s.Minute }

// RateAt returns the limits in force at t; zero for a nil Limiter.
func (l *Limiter) RateAt(t time.Time) Bandwidth {
	if l == nil || len(l.slots) == 0 {
		return Bandwidth{}
	}
	m := weekMinute(Slot{Weekday: int(t.Weekday()), Minute: t.Hour()*60 + t.Minute()})
	cur := l.slots[len(l.slots)-1]
	for _, s := range l.slots {
		if weekMinute(s) > m {
			break
		}
		cur = s
	}
	return cur.Rate
}

// Rate returns the upload limit in force now in bytes per second; 0 for
// a nil Limiter or no limit.
func (l *Limiter) Rate() int64 {
	if l == nil {
		return 0
	}
	return l.RateAt(l.clock()).Up
}

// clock returns the current time.
func (l *Limiter) clock() time.Time {
	if l.now != nil {
		return l.now()
	}
	return time.Now()
}

// Direction returns a view of l that limits the bytes of one run: up when
// it sends them to a remote, down when it fetches them from one (both for
// a copy between two remotes). A view of neither direction limits by the
// upload rate, as a copy between local directories has no network side.
// The views share l's buckets.
func (l *Limiter) Direction(up, down bool) *DirLimiter {
	if l == nil {
		return nil
	}
	if !up && !down {
		up = true
	}
	return &DirLimiter{l: l, up: up, down: down}
}

// DirLimiter is a Limiter for one direction of transfer (see
// Limiter.Direction). A nil *DirLimiter does not limit.
type DirLimiter struct {
	l        *Limiter
	up, down bool
}

// WaitN takes n bytes' worth of tokens, waiting until the bucket has paid
// for them or ctx is done (then it returns ctx's error).
func (d *DirLimiter) WaitN(ctx context.Context, n int) error {
	if !d.wait(ctx.Done(), n) {
		return ctx.Err()
	}
	return nil
}

// wait takes n tokens from each bucket of d's directions and sleeps off
// the longer debt; false if done closed first.
func (d *DirLimiter) wait(done <-chan struct{}, n int) bool {
	if d == nil || n <= 0 {
		return true
	}
	l := d.l
	l.mu.Lock()
	now := l.clock()
	rate := l.RateAt(now)
	var delay time.Duration
	if d.up {
		delay = max(delay, l.up.take(now, rate.Up, n))
	}
	if d.down {
		delay = max(delay, l.down.take(now, rate.Down, n))
	}
	l.mu.Unlock()
	if delay <= 0 {
		return true
	}
	if l.sleep != nil {
		return l.sleep(done, delay)
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

// take refills the bucket up to now at rate (0: unlimited, the bucket is
// reset), takes n tokens (a debt owed under one slot of a timetable is
// paid at the next slot's rate) and returns how long the caller must wait for
// the debt to be paid. The bucket holds at most a tenth of a second's
// worth (at least 64 KiB), so an idle moment buys no large burst.
func (b *bucket) take(now time.Time, rate int64, n int) time.Duration {
	if rate <= 0 {
		*b = bucket{}
		return 0
	}
	burst := max(float64(rate)/10, 64<<10)
	if !b.last.IsZero() {
		b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*float64(rate))
	}
	b.last = now
	b.tokens -= float64(n)
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / float64(rate) * float64(time.Second))
}
