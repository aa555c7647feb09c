// Package keyed provides a set of mutexes by key, for backends that
// serialize their mutations per path.
package keyed

import "sync"

// Mutex is a set of mutexes by key, created on demand and dropped when
// no one holds or waits for them. The zero value is ready to use; a
// Mutex must not be copied after first use.
type Mutex struct {
	mu    sync.Mutex // guards locks
	locks map[string]*entry
}

type entry struct {
	mu   sync.Mutex
	refs int // holders and waiters; guarded by Mutex.mu
}

// Lock locks key, waiting while another caller holds it, and returns
// the function that unlocks it. Different keys do not wait for each
// other.
func (k *Mutex) Lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = make(map[string]*entry)
	}
	e := k.locks[key]
	if e == nil {
		e = &entry{}
		k.locks[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// held returns how many keys have an entry (tests check that none leak).
func (k *Mutex) held() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.locks)
}
