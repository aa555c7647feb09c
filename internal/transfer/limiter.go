package transfer

import (
	"context"
	"sync"
	"time"
)

// Limiter is a token bucket over bytes (--bwlimit), shared by all the
// transfers of a run so that their sum stays under the limit. A nil
// *Limiter does not limit. It is safe for concurrent use.
//
// Callers take tokens after reading; a read larger than the bucket puts
// the bucket in debt and later callers wait it off, so the long-run rate
// holds whatever the read sizes.
type Limiter struct {
	rate  float64 // bytes per second
	burst float64 // bucket size in bytes

	mu     sync.Mutex
	tokens float64   // +checklocks:mu; negative while in debt
	last   time.Time // +checklocks:mu; when tokens was computed

	now   func() time.Time                                 // tests; nil = time.Now
	sleep func(done <-chan struct{}, d time.Duration) bool // tests; nil = timer
}

// NewLimiter returns a limiter of bytesPerSecond, or nil (no limit) when
// bytesPerSecond <= 0. The bucket holds one second's worth, at least
// 64 KiB, and starts full.
func NewLimiter(bytesPerSecond int64) *Limiter {
	if bytesPerSecond <= 0 {
		return nil
	}
	burst := max(float64(bytesPerSecond), 64<<10)
	return &Limiter{rate: float64(bytesPerSecond), burst: burst, tokens: burst}
}

// Rate returns the limit in bytes per second; 0 for a nil Limiter.
func (l *Limiter) Rate() int64 {
	if l == nil {
		return 0
	}
	return int64(l.rate)
}

// WaitN takes n bytes' worth of tokens, waiting until the bucket has paid
// for them or ctx is done (then it returns ctx's error).
func (l *Limiter) WaitN(ctx context.Context, n int) error {
	if !l.wait(ctx.Done(), n) {
		return ctx.Err()
	}
	return nil
}

// wait takes n tokens and sleeps off any debt; false if done closed first.
func (l *Limiter) wait(done <-chan struct{}, n int) bool {
	if l == nil || n <= 0 {
		return true
	}
	l.mu.Lock()
	now := time.Now()
	if l.now != nil {
		now = l.now()
	}
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	l.tokens -= float64(n)
	var d time.Duration
	if l.tokens < 0 {
		d = time.Duration(-l.tokens / l.rate * float64(time.Second))
	}
	l.mu.Unlock()
	if d <= 0 {
		return true
	}
	if l.sleep != nil {
		return l.sleep(done, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}
