// Package metadb opens the metadata store (bbolt) of a ferry server's
// data directory and keeps the server's secret in it. megaserver and
// mediafireserver share it, so both lock their data directory and keep
// their secret the same way.
package metadb

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// File is the store's file name in the data directory.
const File = "meta.db"

// lockWait is how long Open waits for another process to release the
// data directory.
const lockWait = time.Second

// Open opens (creating it if needed) dir/meta.db, locked against other
// processes. When another process holds it for a second, the error says
// that dir "is in use by another ferry server".
func Open(dir string) (*bolt.DB, error) {
	path := filepath.Join(dir, File)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockWait,
		// A commit writes and fsyncs its pages and meta page, not the
		// free list: bolt rebuilds that at open from the pages the tree
		// reaches (as etcd runs it), so a kill -9 loses nothing. It saves
		// a page write per commit, most commits of a small-file upload.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("data directory %s is in use by another ferry server", dir)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// secretKey is the key of the secret in its bucket.
var secretKey = []byte("secret")

// secretSize is the secret's length in bytes.
const secretSize = 32

// Secret returns the server's secret (32 bytes, an HMAC key) from the
// bucket b, which must be in a writable transaction: the first call on a
// store draws one from crypto/rand and stores it there.
func Secret(b *bolt.Bucket) ([]byte, error) {
	if sec := b.Get(secretKey); len(sec) == secretSize {
		return bytes.Clone(sec), nil
	}
	sec := make([]byte, secretSize)
	rand.Read(sec) // never fails (crypto/rand.Read's doc)
	if err := b.Put(secretKey, sec); err != nil {
		return nil, err
	}
	return sec, nil
}
