package netdial

import (
	"sync/atomic"
	"time"
)

// lastMove is the time of the last deadline move, safe for concurrent use.
type lastMove struct{ ns atomic.Int64 }

// due reports whether at least every has passed since the last move at
// now, and if so records now as the last move.
func (l *lastMove) due(now time.Time, every time.Duration) bool {
	n := now.UnixNano()
	prev := l.ns.Load()
	if prev != 0 && n-prev < int64(every) {
		return false
	}
	return l.ns.CompareAndSwap(prev, n)
}
