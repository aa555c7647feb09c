package mega

import (
	"context"
	"sync"
)

// notifier fans the client's OnChange out to ChangeNotify's listeners.
type notifier struct {
	mu   sync.Mutex // guards next and fns; held while calling them, so calls never overlap
	next int
	fns  map[int]func(dirs []string)
}

// add registers fn and returns its removal.
func (n *notifier) add(fn func([]string)) (remove func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fns == nil {
		n.fns = map[int]func([]string){}
	}
	id := n.next
	n.next++
	n.fns[id] = fn
	return func() {
		n.mu.Lock()
		delete(n.fns, id)
		n.mu.Unlock()
	}
}

// changed is the client's OnChange: action packets changed the tree.
// The client does not say which folders, so listeners get nil.
func (n *notifier) changed() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, fn := range n.fns {
		fn(nil)
	}
}

// ChangeNotify implements backend.ChangeNotifier. It long-polls the
// server's action packets (the client's Watch) until ctx ends, keeping
// the tree current, and calls fn after each batch that changed it. fn
// gets nil dirs: anything under the root may have changed. It returns
// ctx's error, or a permanent one such as an expired session.
func (b *Backend) ChangeNotify(ctx context.Context, fn func(dirs []string)) error {
	remove := b.notify.add(func(dirs []string) {
		b.dirty.Store(true) // the cache file is behind the tree now
		fn(dirs)
	})
	defer remove()
	err := b.c.Watch(ctx)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return b.pathErr("watch", "", err)
}
