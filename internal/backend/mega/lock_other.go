//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package mega

import (
	"context"
	"os"
)

// lockFile is a no-op where flock is unavailable: concurrent processes of
// one remote may then each log in once on a cold cache.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	return func() {}, ctx.Err()
}

// lockTemp is a no-op where flock is unavailable.
func lockTemp(*os.File) error { return nil }

// tryLockTemp always succeeds where flock is unavailable: removeStaleTemps
// then goes by the file's age alone.
func tryLockTemp(*os.File) (bool, error) { return true, nil }
