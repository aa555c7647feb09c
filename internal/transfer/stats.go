package transfer

import (
	"context"
	"ferry/internal/ui"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"ferry/internal/retry"
)

// Stats accumulates a run's counters. It is safe for concurrent use: the
// engine updates it while a progress display or a remote-control call
// reads Snapshot. One Stats may span several runs (the totals add up).
// The zero value is ready; its clock starts at the first update.
type Stats struct {
	bytes, totalBytes         atomic.Int64
	transfers, totalTransfers atomic.Int64
	checks, totalChecks       atomic.Int64
	deletes, deletedDirs      atomic.Int64
	renames, errors, modTimes atomic.Int64
	retries                   atomic.Int64
	dryRun                    atomic.Bool
	mu                        sync.Mutex
	start                     time.Time              // +checklocks:mu; zero until the first update
	lastError                 string                 // +checklocks:mu
	inflight                  map[*inflight]struct{} // +checklocks:mu
	nowFunc                   func() time.Time       // tests; nil = time.Now
}

// inflight is one running transfer.
type inflight struct {
	name  string
	size  int64
	start time.Time
	bytes atomic.Int64
}

// Snapshot is a consistent-enough copy of Stats at one moment, with the
// field names of rclone's core/stats. It is ui's record of a run's
// counters, which the printers render as they are.
type Snapshot = ui.Stats

// InFlight describes one running transfer in a Snapshot.
type InFlight = ui.InFlight

// now is the clock: time.Now, or nowFunc in tests.
func (s *Stats) now() time.Time {
	if s.nowFunc != nil {
		return s.nowFunc()
	}
	return time.Now()
}

// begin starts the clock if it has not started.
func (s *Stats) begin() {
	s.mu.Lock()
	if s.start.IsZero() {
		s.start = s.now()
	}
	s.mu.Unlock()
}

// Snapshot returns the current counters, the rate averaged since the
// first update and the ETA of the bytes known so far.
func (s *Stats) Snapshot() Snapshot {
	snap := Snapshot{
		Bytes:          s.bytes.Load(),
		TotalBytes:     s.totalBytes.Load(),
		Transfers:      s.transfers.Load(),
		TotalTransfers: s.totalTransfers.Load(),
		Checks:         s.checks.Load(),
		TotalChecks:    s.totalChecks.Load(),
		Deletes:        s.deletes.Load(),
		DeletedDirs:    s.deletedDirs.Load(),
		Renames:        s.renames.Load(),
		ModTimes:       s.modTimes.Load(),
		Errors:         s.errors.Load(),
		Retries:        s.retries.Load(),
		DryRun:         s.dryRun.Load(),
		ETA:            -1,
	}
	now := s.now()
	s.mu.Lock()
	snap.LastError = s.lastError
	if !s.start.IsZero() {
		snap.ElapsedTime = now.Sub(s.start).Seconds()
	}
	for t := range s.inflight {
		b := t.bytes.Load()
		f := InFlight{Name: t.name, Size: t.size, Bytes: b}
		if t.size > 0 {
			f.Percentage = int(b * 100 / t.size)
		}
		if el := now.Sub(t.start).Seconds(); el > 0 {
			f.Speed = float64(b) / el
		}
		snap.Transferring = append(snap.Transferring, f)
	}
	s.mu.Unlock()
	sort.Slice(snap.Transferring, func(i, j int) bool { return snap.Transferring[i].Name < snap.Transferring[j].Name })
	if snap.ElapsedTime > 0 {
		snap.Speed = float64(snap.Bytes) / snap.ElapsedTime
	}
	switch rest := snap.TotalBytes - snap.Bytes; {
	case snap.TotalBytes == 0:
		// Nothing known to transfer yet: no ETA (ETA stays -1).
	case rest <= 0:
		snap.ETA = 0
	case snap.Speed > 0:
		snap.ETA = float64(rest) / snap.Speed
	}
	return snap
}

// addError counts a failure and remembers its message.
func (s *Stats) addError(err error) {
	s.begin()
	s.errors.Add(1)
	s.mu.Lock()
	s.lastError = err.Error()
	s.mu.Unlock()
}

// queue counts a transfer decided on.
func (s *Stats) queue(size int64) {
	s.begin()
	s.totalTransfers.Add(1)
	s.totalBytes.Add(size)
}

// startTransfer registers a running transfer; call the returned done.
func (s *Stats) startTransfer(name string, size int64) *inflight {
	t := &inflight{name: name, size: size, start: s.now()}
	s.mu.Lock()
	if s.start.IsZero() {
		s.start = t.start
	}
	if s.inflight == nil {
		s.inflight = make(map[*inflight]struct{})
	}
	s.inflight[t] = struct{}{}
	s.mu.Unlock()
	return t
}

// endTransfer unregisters t. ok counts it as done; a failed transfer
// stays in the totals (so "9 / 10" shows it) but its partial bytes are
// taken back out.
func (s *Stats) endTransfer(t *inflight, ok bool) {
	s.mu.Lock()
	delete(s.inflight, t)
	s.mu.Unlock()
	if ok {
		s.transfers.Add(1)
		return
	}
	s.bytes.Add(-t.bytes.Load())
}

// addBytes counts n bytes moved by t.
func (s *Stats) addBytes(t *inflight, n int64) {
	t.bytes.Add(n)
	s.bytes.Add(n)
}

// opTransfer is the retry.Policy Op of the engine's whole-file retries.
const opTransfer = "transfer"

// ObserveRetries returns ctx with a retry.Observer that counts every
// retry made under it into s and logs it to log (nil: not logged): at
// debug level (-vv; -v shows the count in the statistics) for the
// service clients' own retries, with what was
// retried (the policy's Op), the attempt, the error and the wait; at warn
// level for a whole file the engine transfers again. path, if not empty,
// names the file the retries are for. The engine installs one per file;
// a command installs one around everything else it does (login, listing)
// so that those retries count too.
func (s *Stats) ObserveRetries(ctx context.Context, log *slog.Logger, path string) context.Context {
	return retry.WithObserver(ctx, func(op string, attempt int, err error, delay time.Duration) {
		s.retries.Add(1)
		if log == nil {
			return
		}
		level, msg := slog.LevelDebug, "retrying"
		if op == opTransfer {
			level, msg = slog.LevelWarn, "transfer failed, retrying"
		}
		attrs := make([]slog.Attr, 0, 5)
		if op != "" && op != opTransfer {
			attrs = append(attrs, slog.String(logKeyOp, op))
		}
		if path != "" {
			attrs = append(attrs, slog.String(logKeyPath, path))
		}
		attrs = append(attrs, slog.Int(logKeyAttempt, attempt), slog.Any(logKeyError, err), slog.Duration(logKeyDelay, delay))
		log.LogAttrs(ctx, level, msg, attrs...)
	})
}

// Attribute keys of the retry log records (the others are in options.go).
const (
	logKeyOp      = "op"
	logKeyAttempt = "attempt"
	logKeyDelay   = "delay"
)
