//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package mega

import "context"

// lockFile is a no-op where flock is unavailable: concurrent processes of
// one remote may then each log in once on a cold cache.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	return func() {}, ctx.Err()
}
