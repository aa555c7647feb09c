package cli

import (
	"context"
	"net"
	"time"

	"github.com/spf13/pflag"

	"ferry/internal/netdial"
	"ferry/internal/retry"
)

// Defaults of the network flags, rclone's.
const (
	defaultLowLevelRetries = retry.DefaultMaxAttempts // 10
	defaultTimeout         = 5 * time.Minute
	defaultConnectTimeout  = time.Minute
)

// netOptions are rclone's network flags, shared by every command that
// talks to a service: --low-level-retries, --timeout, --contimeout.
type netOptions struct {
	lowLevelRetries int
	timeout         time.Duration // idle timeout of a connection's reads and writes
	connectTimeout  time.Duration
}

// addNetFlags binds the network flags to o.
func addNetFlags(f *pflag.FlagSet, o *netOptions) {
	f.IntVar(&o.lowLevelRetries, "low-level-retries", defaultLowLevelRetries, "attempts of one request to MEGA or MediaFire (an API call, a chunk) before it fails")
	f.DurationVar(&o.timeout, "timeout", defaultTimeout, "fail a request when its connection moves no data for this long (0: never)")
	f.DurationVar(&o.connectTimeout, "contimeout", defaultConnectTimeout, "fail connecting to a server after this long (0: the system's limit)")
}

// validate checks the flags; errors are usage errors.
func (o *netOptions) validate() error {
	switch {
	case o.lowLevelRetries < 1:
		return usagef("--low-level-retries must be at least 1 (one attempt, no retries), got %d", o.lowLevelRetries)
	case o.timeout < 0 || o.connectTimeout < 0:
		return usagef("--timeout and --contimeout can't be negative")
	}
	return nil
}

// dial is the service clients' dial function with the two timeouts.
func (o *netOptions) dial() func(ctx context.Context, network, addr string) (net.Conn, error) {
	return netdial.Dialer{Connect: o.connectTimeout, Idle: o.timeout}.DialContext
}
