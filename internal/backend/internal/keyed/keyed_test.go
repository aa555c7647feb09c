package keyed

import (
	"sync"
	"testing"
	"time"
)

// TestSameKeyExcludes checks that callers of one key take turns and that
// no entry is left once all have unlocked.
func TestSameKeyExcludes(t *testing.T) {
	var k Mutex
	var wg sync.WaitGroup
	inside, most := 0, 0
	var mu sync.Mutex // guards inside and most
	for range 20 {
		wg.Go(func() {
			unlock := k.Lock("a")
			mu.Lock()
			inside++
			most = max(most, inside)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			inside--
			mu.Unlock()
			unlock()
		})
	}
	wg.Wait()
	if most != 1 {
		t.Errorf("%d callers held one key at once, want 1", most)
	}
	if n := k.held(); n != 0 {
		t.Errorf("%d entries left after every unlock, want 0", n)
	}
}

// TestKeysIndependent checks that a held key does not block another.
func TestKeysIndependent(t *testing.T) {
	var k Mutex
	unlockA := k.Lock("a")
	done := make(chan struct{})
	go func() {
		k.Lock("b")()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal(`Lock("b") waited for a held "a"`)
	}
	unlockA()
	if n := k.held(); n != 0 {
		t.Errorf("%d entries left after every unlock, want 0", n)
	}
}
