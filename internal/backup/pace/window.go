package pace

import (
	"context"
	"sync"
)

// window is an AIMD concurrency window: at most limit calls hold a slot at
// once; a pushback halves limit (down to 1), and every increaseEvery
// successes since the last change add one (up to max).
//
// A burst of pushbacks from calls that were already in flight when the
// window last shrank is one signal, not many: each slot remembers the
// epoch (gen) it saw, and only a pushback from the current epoch halves
// the window and starts the next one. Otherwise eight calls failing
// together would take a window of 8 to 1 at once.
type window struct {
	mu            sync.Mutex
	limit         int // +checklocks:mu
	inFlight      int // +checklocks:mu
	max           int
	increaseEvery int
	successes     int             // +checklocks:mu; since the last change of limit
	gen           uint64          // +checklocks:mu; epoch, bumped by each decrease
	lowest        int             // +checklocks:mu; the smallest limit so far
	waiters       []chan struct{} // +checklocks:mu; FIFO of blocked acquires
}

// slot is one call's hold on the window.
type slot struct {
	gen uint64 // +checklocks:window.mu
}

func newWindow(max, increaseEvery int) *window {
	return &window{limit: max, max: max, increaseEvery: increaseEvery, lowest: max}
}

// acquire waits for a free slot or for ctx to end.
func (w *window) acquire(ctx context.Context) (*slot, error) {
	w.mu.Lock()
	if w.inFlight < w.limit && len(w.waiters) == 0 {
		w.inFlight++
		s := &slot{gen: w.gen}
		w.mu.Unlock()
		return s, nil
	}
	ch := make(chan struct{})
	w.waiters = append(w.waiters, ch)
	w.mu.Unlock()
	select {
	case <-ch:
		w.mu.Lock()
		s := &slot{gen: w.gen}
		w.mu.Unlock()
		return s, nil
	case <-ctx.Done():
		w.mu.Lock()
		defer w.mu.Unlock()
		for i, c := range w.waiters {
			if c == ch {
				w.waiters = append(w.waiters[:i], w.waiters[i+1:]...)
				return nil, ctx.Err()
			}
		}
		// The slot was handed over as ctx ended: give it back.
		w.inFlight--
		w.wakeLocked()
		return nil, ctx.Err()
	}
}

// release gives back s's slot, counting a success if ok.
func (w *window) release(s *slot, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inFlight--
	if ok {
		w.successes++
		if w.successes >= w.increaseEvery && w.limit < w.max {
			w.limit++
			w.successes = 0
		}
	}
	w.wakeLocked()
}

// pushback records that the service pushed back on s's call (a retryable
// error). It halves the window if s is of the current epoch, and reports
// the new limit and whether it changed. s then belongs to the new epoch,
// so the same call pushed back again halves the window again.
func (w *window) pushback(s *slot) (int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s.gen != w.gen {
		return w.limit, false
	}
	w.successes = 0
	w.gen++
	s.gen = w.gen
	if w.limit == 1 {
		return 1, false
	}
	w.limit = max(1, w.limit/2)
	w.lowest = min(w.lowest, w.limit)
	return w.limit, true
}

// wakeLocked hands free slots to waiters in arrival order.
func (w *window) wakeLocked() {
	for w.inFlight < w.limit && len(w.waiters) > 0 {
		ch := w.waiters[0]
		w.waiters = w.waiters[1:]
		w.inFlight++
		close(ch)
	}
}

// state returns the current limit, the lowest limit so far and the calls
// in flight.
func (w *window) state() (limit, lowest, inFlight int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.limit, w.lowest, w.inFlight
}
