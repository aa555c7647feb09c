package megaserver

import (
	"errors"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// committer runs the write transactions of many goroutines as group
// commits: a writer that finds no commit running commits at once (no
// timer to wait for, unlike bolt's Batch, whose delay every sequential
// client paid on each command), and the writers that arrive while a
// commit runs share the next one, and its fsync.
//
// As with bolt's Batch, a function may run more than once and must have
// no side effects outside its transaction: when one function of a group
// fails, the transaction is rolled back, that function runs again alone
// (for its own error) and the others are committed without it.
type committer struct {
	db *bolt.DB

	mu      sync.Mutex
	pending []*commitCall // +checklocks:mu; waiting for the next commit
	running bool          // +checklocks:mu; a leader is committing
}

type commitCall struct {
	fn   func(*bolt.Tx) error
	done chan error // the result, or errLead first: commit the pending group
}

// errLead tells a waiting writer that it leads the next group commit.
var errLead = errors.New("megaserver: lead the next commit")

// Do runs fn in a write transaction and returns once it is committed
// (nil) or failed (fn's error or the commit's).
func (c *committer) Do(fn func(*bolt.Tx) error) error {
	call := &commitCall{fn: fn, done: make(chan error, 1)}
	c.mu.Lock()
	c.pending = append(c.pending, call)
	lead := !c.running
	c.running = true
	c.mu.Unlock()
	if !lead {
		if err := <-call.done; err != errLead {
			return err
		}
	}
	c.mu.Lock()
	group := c.pending
	c.pending = nil
	c.mu.Unlock()
	c.commit(group) // includes call
	c.mu.Lock()
	if len(c.pending) > 0 {
		c.pending[0].done <- errLead // the next group gets its own leader
	} else {
		c.running = false
	}
	c.mu.Unlock()
	return <-call.done
}

// commit runs group in one transaction and tells each call its result.
func (c *committer) commit(group []*commitCall) {
	for len(group) > 0 {
		failed := -1
		err := c.db.Update(func(tx *bolt.Tx) error {
			for i, call := range group {
				if err := call.fn(tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			for _, call := range group {
				call.done <- err
			}
			return
		}
		bad := group[failed]
		bad.done <- c.db.Update(bad.fn)
		group = append(group[:failed:failed], group[failed+1:]...)
	}
}
