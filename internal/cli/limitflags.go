package cli

import (
	"time"

	"github.com/spf13/pflag"

	"ferry/internal/transfer"
)

// limitOptions are rclone's retry and cutoff flags of the transfer
// commands: --retries, --retries-sleep, --max-transfer, --cutoff-mode,
// --max-duration.
type limitOptions struct {
	retries      int
	retriesSleep time.Duration
	maxTransfer  sizeFlag
	cutoffMode   string
	maxDuration  time.Duration
}

// addLimitFlags binds the retry and cutoff flags to o.
func addLimitFlags(f *pflag.FlagSet, o *limitOptions) {
	f.IntVar(&o.retries, "retries", transfer.DefaultRetries, "attempts of each file transfer that fails with a temporary error (1: no retry)")
	f.DurationVar(&o.retriesSleep, "retries-sleep", 0, "wait this long between the attempts of a file (0: a growing backoff from 200ms to 10s)")
	o.maxTransfer = -1
	f.Var(&o.maxTransfer, "max-transfer", "stop after transferring this much (suffixes as --min-size; exit code 8)")
	f.StringVar(&o.cutoffMode, "cutoff-mode", "hard", "how --max-transfer and --max-duration stop: hard (at once), soft (let running transfers finish) or cautious (start none that would pass --max-transfer)")
	f.DurationVar(&o.maxDuration, "max-duration", 0, "stop starting transfers after this long (with --cutoff-mode hard, stop the running ones too; exit code 10)")
}

// apply puts the flags into opts; errors are usage errors.
func (o *limitOptions) apply(opts *transfer.Options) error {
	mode, err := transfer.ParseCutoffMode(o.cutoffMode)
	if err != nil {
		return usagef("--cutoff-mode: %v", err)
	}
	if o.retriesSleep < 0 || o.maxDuration < 0 {
		return usagef("--retries-sleep and --max-duration can't be negative")
	}
	opts.Retries = o.retries
	if o.retries < 1 {
		opts.Retries = -1 // one attempt
	}
	opts.RetrySleep = o.retriesSleep
	opts.MaxTransfer = int64(o.maxTransfer)
	opts.MaxDuration = o.maxDuration
	opts.CutoffMode = mode
	return nil
}
