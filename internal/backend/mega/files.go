package mega

import (
	"context"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"

	megaclient "ferry/mega"
)

// maxOpenFiles bounds the download URLs a backend keeps (one
// *megaclient.File per node handle, a few hundred bytes each).
const maxOpenFiles = 1024

// fileCache keeps the opened *megaclient.File of recently read nodes, so
// ranged reads of one node reuse its download URL instead of asking for a
// new one with a `g` command per read. A URL that expired is renewed
// inside megaclient.File (a 403, 404 or 410 from the storage server gets
// a new one once). Entries go when the backend removes the node, when the
// node's size no longer matches, and least recently used first beyond
// maxOpenFiles. The zero value is ready to use; it is safe for concurrent
// use.
type fileCache struct {
	once  sync.Once
	files *lru.Cache[string, *megaclient.File]
}

func (fc *fileCache) init() {
	fc.once.Do(func() {
		fc.files, _ = lru.New[string, *megaclient.File](maxOpenFiles) // only a size <= 0 fails
	})
}

// open returns n's File, reusing the one opened before.
func (fc *fileCache) open(ctx context.Context, c contentOpener, n *megaclient.Node) (*megaclient.File, error) {
	fc.init()
	if f, ok := fc.files.Get(n.Handle); ok {
		if f.Size() == n.Size {
			return f, nil
		}
		fc.files.Remove(n.Handle)
	}
	f, err := c.Open(ctx, n)
	if err != nil {
		return nil, err
	}
	fc.files.Add(n.Handle, f)
	return f, nil
}

// forget drops the File of node handle h.
func (fc *fileCache) forget(h string) {
	fc.init()
	fc.files.Remove(h)
}
