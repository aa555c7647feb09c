package cli

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"ferry/internal/transfer"
	"ferry/internal/ui"
)

// Defaults of the statistics flags, rclone's.
const (
	defaultStatsInterval   = time.Minute
	defaultOneLineDateForm = "2006/01/02 15:04:05 - "
)

// statsOptions are rclone's statistics flags of the transfer commands
// and check: --stats, --stats-log-level, --stats-one-line,
// --stats-one-line-date, --stats-one-line-date-format, --stats-unit.
type statsOptions struct {
	interval    time.Duration // --stats; 0 disables the periodic statistics
	intervalSet *pflag.Flag   // --stats itself, to see whether it was given (-P's refresh)
	levelArg    string        // --stats-log-level
	oneLine     bool
	oneLineDate bool
	dateFormat  string
	unit        string // bytes or bits

	level  slog.Level     // --stats-log-level parsed, set by setup
	format ui.StatsFormat // set by setup
}

// addStatsFlags binds the statistics flags to o.
func addStatsFlags(f *pflag.FlagSet, o *statsOptions) {
	f.DurationVar(&o.interval, "stats", defaultStatsInterval, "log the statistics this often (0 disables; with -P: the display's refresh)")
	o.intervalSet = f.Lookup("stats")
	f.StringVar(&o.levelArg, "stats-log-level", "INFO", "log level of the periodic statistics: DEBUG, INFO, NOTICE or ERROR")
	f.BoolVar(&o.oneLine, "stats-one-line", false, "make the statistics fit on one line")
	f.BoolVar(&o.oneLineDate, "stats-one-line-date", false, "one-line statistics with the date in front (implies --stats-one-line)")
	f.StringVar(&o.dateFormat, "stats-one-line-date-format", "", `the date's Go time layout, separator included (default "`+defaultOneLineDateForm+`"; implies --stats-one-line-date)`)
	f.StringVar(&o.unit, "stats-unit", "bytes", "unit of the rates in the statistics: bytes or bits (per second)")
}

// setup checks the flags; errors are usage errors.
func (o *statsOptions) setup() error {
	if o.interval < 0 {
		return usagef("--stats: %v is negative (0 disables the statistics)", o.interval)
	}
	l, err := ui.ParseLevel(o.levelArg)
	if err != nil {
		return usagef("--stats-log-level: %v", err)
	}
	o.level = l
	switch strings.ToLower(o.unit) {
	case "bytes", "":
	case "bits":
		o.format.Bits = true
	default:
		return usagef("--stats-unit: %q: want bytes or bits", o.unit)
	}
	if o.dateFormat != "" {
		o.oneLineDate = true
	}
	if o.oneLineDate {
		o.oneLine = true
		o.format.Date = o.dateFormat
		if o.format.Date == "" {
			o.format.Date = defaultOneLineDateForm
		}
	}
	o.format.OneLine = o.oneLine
	return nil
}

// progressInterval is -P's refresh: --stats when given, else the
// display's default.
func (o *statsOptions) progressInterval() time.Duration {
	if o.intervalSet != nil && o.intervalSet.Changed && o.interval > 0 {
		return o.interval
	}
	return 0
}

// shown reports whether the statistics reach the log at log level l.
func (o *statsOptions) shown(l slog.Level) bool { return o.level >= l }

// statsTicker logs the statistics every interval until stop.
type statsTicker struct {
	stop chan struct{}
	done chan struct{}
}

// startStatsTicker logs snapshot() at level in format f on log every
// interval, as rclone does without -P; nil when interval is 0 or log
// does not show level.
func startStatsTicker(log *slog.Logger, o *statsOptions, stats *transfer.Stats) *statsTicker {
	if o.interval <= 0 || !log.Enabled(context.Background(), o.level) {
		return nil
	}
	t := &statsTicker{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		tick := time.NewTicker(o.interval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				ui.LogStats(context.Background(), log, o.level, stats.Snapshot(), o.format)
			case <-t.stop:
				return
			}
		}
	}()
	return t
}

// Stop ends the ticker and waits for it; a nil ticker is a no-op.
func (t *statsTicker) Stop() {
	if t == nil {
		return
	}
	close(t.stop)
	<-t.done
}
