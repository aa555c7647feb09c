package transfer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CutoffMode says how a run stops when it reaches Options.MaxTransfer or
// Options.MaxDuration (rclone's --cutoff-mode).
type CutoffMode int

// Cutoff modes. The zero value is rclone's default, hard.
const (
	// CutoffHard stops at once: running transfers are cut (and leave no
	// partial file: a Put that fails leaves nothing), no new one starts.
	CutoffHard CutoffMode = iota
	// CutoffSoft starts no new transfer; running ones finish.
	CutoffSoft
	// CutoffCautious (MaxTransfer only) starts no transfer that would take
	// the bytes of the started ones past the limit; running ones finish.
	// For MaxDuration it is CutoffSoft.
	CutoffCautious
)

// ParseCutoffMode parses "hard", "soft" or "cautious" (any case).
func ParseCutoffMode(s string) (CutoffMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "hard", "":
		return CutoffHard, nil
	case "soft":
		return CutoffSoft, nil
	case "cautious":
		return CutoffCautious, nil
	}
	return 0, fmt.Errorf("bad cutoff mode %q: want hard, soft or cautious", s)
}

// Errors a run returns when it stopped at a limit (it unwraps to them;
// files it did not get to are not failures).
var (
	// ErrMaxTransfer: the run reached Options.MaxTransfer.
	ErrMaxTransfer = errors.New("max transfer limit reached")
	// ErrMaxDuration: the run reached Options.MaxDuration.
	ErrMaxDuration = errors.New("max duration reached")
)

// cutoff enforces MaxTransfer and MaxDuration for one run.
type cutoff struct {
	mode   CutoffMode
	max    int64                   // MaxTransfer; <= 0 none
	sent   atomic.Int64            // bytes the transfers read
	booked atomic.Int64            // cautious: the sizes of the started transfers
	cancel context.CancelCauseFunc // cuts the run (hard)
	stopLs context.CancelFunc      // ends the listing (any mode)
	timer  *time.Timer             // MaxDuration's

	once   sync.Once
	reason atomic.Pointer[error] // why the run stopped; nil while it runs
}

// startCutoff sets e.cut (left nil when the run has no limit) and
// returns the run's context, which a hard cutoff cancels, and the
// listing's, which any cutoff cancels (no transfer will start, so
// listing on is wasted); call stop when the run ends.
func (e *engine) startCutoff(ctx context.Context) (run, list context.Context, stop func()) {
	o := e.opts
	if o.MaxTransfer <= 0 && o.MaxDuration <= 0 {
		return ctx, ctx, func() {}
	}
	c := &cutoff{mode: o.CutoffMode, max: o.MaxTransfer}
	ctx, c.cancel = context.WithCancelCause(ctx)
	list, c.stopLs = context.WithCancel(ctx)
	if o.MaxDuration > 0 {
		c.timer = time.AfterFunc(o.MaxDuration, func() {
			mode := c.mode
			if mode == CutoffCautious {
				mode = CutoffSoft
			}
			c.stop(ErrMaxDuration, mode)
		})
	}
	e.cut = c
	return ctx, list, func() {
		if c.timer != nil {
			c.timer.Stop()
		}
		c.stopLs()
		c.cancel(nil)
	}
}

// stop ends the run for err: no new transfer starts, and in hard mode
// the running ones are cut. The first reason sticks.
func (c *cutoff) stop(err error, mode CutoffMode) {
	c.once.Do(func() { c.reason.Store(&err) })
	c.stopLs()
	if mode == CutoffHard {
		c.cancel(err)
	}
}

// stopped returns why the run stopped, or nil. A nil cutoff never stops.
func (c *cutoff) stopped() error {
	if c == nil {
		return nil
	}
	if p := c.reason.Load(); p != nil {
		return *p
	}
	return nil
}

// admit reports whether a transfer of size bytes may start.
func (c *cutoff) admit(size int64) bool {
	if c == nil {
		return true
	}
	if c.stopped() != nil {
		return false
	}
	if c.mode == CutoffCautious && c.max > 0 {
		if c.booked.Add(size) > c.max {
			c.booked.Add(-size)
			c.stop(ErrMaxTransfer, CutoffSoft)
			return false
		}
	}
	return true
}

// room returns how many bytes a read may take before the hard limit
// (-1: no limit), stopping the run when none are left.
func (c *cutoff) room() int64 {
	if c == nil || c.max <= 0 || c.mode != CutoffHard {
		return -1
	}
	r := c.max - c.sent.Load()
	if r <= 0 {
		c.stop(ErrMaxTransfer, CutoffHard)
		return 0
	}
	return r
}

// add counts n bytes read; in soft mode reaching the limit stops new
// transfers.
func (c *cutoff) add(n int) {
	if c == nil {
		return
	}
	if s := c.sent.Add(int64(n)); c.max > 0 && s >= c.max && c.mode == CutoffSoft {
		c.stop(ErrMaxTransfer, CutoffSoft)
	}
}

// cancelled reports whether err is an operation's failure because the
// run stopped at a limit (not a failure of its own).
func (c *cutoff) cancelled(err error) bool {
	return c.stopped() != nil && errors.Is(err, context.Canceled)
}

// finish returns the run's result: err (the run's own), with the reason
// the run stopped in front when it hit a limit.
func (c *cutoff) finish(err error) error {
	why := c.stopped()
	if why == nil {
		return err
	}
	// Other errors after a hard cutoff are its cancellation's.
	var re *RunError
	if errors.As(err, &re) {
		return fmt.Errorf("%w (and %w)", why, err)
	}
	return why
}

// String returns "hard", "soft" or "cautious".
func (m CutoffMode) String() string {
	switch m {
	case CutoffHard:
		return "hard"
	case CutoffSoft:
		return "soft"
	case CutoffCautious:
		return "cautious"
	}
	return fmt.Sprintf("CutoffMode(%d)", int(m))
}
