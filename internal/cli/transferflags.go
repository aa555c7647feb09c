package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"ferry/internal/filter"
	"ferry/internal/transfer"
	"ferry/internal/ui"
)

// transferOptions are the flags shared by copy, copyto, sync, move and
// moveto.
type transferOptions struct {
	filters           filterOptions
	transfers         int
	checkers          int
	maxBacklog        int
	dryRun            bool
	checksum          bool
	sizeOnly          bool
	ignoreExisting    bool
	noUpdateModTime   bool
	bwlimit           bwlimitFlag
	progress          bool
	json              bool
	errorOnNoTransfer bool
	sync              syncFlags    // rclone's sync-semantics flags (syncflags.go)
	stats             statsOptions // statsflags.go
	limits            limitOptions // limitflags.go
}

// addTransferFlags binds the shared transfer flags to o.
func addTransferFlags(f *pflag.FlagSet, o *transferOptions) {
	addFilterFlags(f, &o.filters)
	f.IntVar(&o.transfers, "transfers", transfer.DefaultTransfers, "number of file transfers to run in parallel")
	f.IntVar(&o.checkers, "checkers", transfer.DefaultCheckers, "number of directory listings and comparisons to run in parallel")
	f.IntVar(&o.maxBacklog, "max-backlog", transfer.DefaultMaxBacklog, "number of files the listing may decide on ahead of the transfers (their totals show in -P early)")
	f.BoolVarP(&o.dryRun, "dry-run", "n", false, "show what would be done without changing anything")
	f.BoolVarP(&o.checksum, "checksum", "c", false, "skip based on fingerprints (MEGA's), not modification times")
	f.BoolVar(&o.sizeOnly, "size-only", false, "skip based on size only, not modification time or fingerprint")
	f.BoolVar(&o.ignoreExisting, "ignore-existing", false, "skip all files that exist on the destination")
	f.BoolVar(&o.noUpdateModTime, "no-update-modtime", false, "leave a destination file whose content matches (by fingerprint) but whose modification time differs as it is, instead of setting its time")
	f.Var(&o.bwlimit, "bwlimit", `bandwidth limit in bytes/s over all transfers (1M = 1 MiB/s; no suffix = KiB/s; off), UP:DOWN (10M:100M) or a timetable ("08:00,512k 12:00,off", "Mon-08:00,1M Sat-00:00,off")`)
	f.BoolVarP(&o.progress, "progress", "P", false, "show progress during the transfer")
	f.BoolVar(&o.json, "json", false, "print the final statistics as JSON on stdout")
	f.BoolVar(&o.errorOnNoTransfer, "error-on-no-transfer", false, "exit with code 9 if no files were transferred")
	addSyncFlags(f, &o.sync)
	addStatsFlags(f, &o.stats)
	addLimitFlags(f, &o.limits)
}

// validate checks flag combinations.
func (o *transferOptions) validate() error {
	if o.checksum && o.sizeOnly {
		return usagef("--checksum and --size-only exclude each other")
	}
	if o.transfers < 1 || o.checkers < 1 {
		return usagef("--transfers and --checkers must be at least 1")
	}
	if err := o.limits.apply(new(transfer.Options)); err != nil {
		return err
	}
	if err := o.stats.setup(); err != nil {
		return err
	}
	return o.sync.validate()
}

// errNoFilesTransferred is --error-on-no-transfer's exit status 9.
var errNoFilesTransferred = errors.New("no files were transferred")

// transferFunc is one of the engine's entry points.
type transferFunc func(ctx context.Context, src, dst transfer.Location, opts transfer.Options) error

// runTransfer opens source and destination, runs fn with the flags in o,
// shows progress and prints the summary.
func runTransfer(ctx context.Context, g *globals, o transferOptions, srcArg, dstArg string, fn transferFunc) error {
	if err := o.validate(); err != nil {
		return err
	}
	flt, err := o.filters.build(g)
	if err != nil {
		return err
	}
	// Retries count in the statistics from the first call (a login
	// included); the engine's own observer names the file.
	stats := new(transfer.Stats)
	ctx = stats.ObserveRetries(ctx, g.logger(), "")
	src, err := g.openRemote(ctx, srcArg)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := g.openWritable(ctx, dstArg)
	if err != nil {
		return err
	}
	defer dst.Close()
	backupDir, err := o.sync.resolveBackupDir(ctx, g, dst.Remote)
	if err != nil {
		return err
	}

	out := startOutputWith(g, o.json, o.progress, stats, &o.stats)
	ctx = stats.ObserveRetries(ctx, out.logger, "")
	opts := o.engineOptions(flt, dst.Remote != "", src.Remote != "", backupDir)
	opts.Stats, opts.Logger, opts.Report = stats, out.logger, out.report
	err = fn(ctx, transfer.Location{Backend: src.Backend, Path: src.Path}, transfer.Location{Backend: dst.Backend, Path: dst.Path}, opts)
	// Like rclone, the final statistics are printed with -v (or a log
	// level that shows --stats-log-level), -P or --json; a plain run
	// prints only what went wrong.
	snap := out.finish(o.json || o.progress || out.statsShown(g, err != nil))
	if err == nil && o.errorOnNoTransfer && snap.Transfers == 0 {
		return errNoFilesTransferred
	}
	return err
}

// engineOptions is the engine's view of the flags in o (validated): flt
// is the built filter; up and down say whether the destination and the
// source are remotes (an UP:DOWN --bwlimit limits each way); backupDir
// is the --backup-dir path in the destination's backend. Statistics,
// logger and reports are the caller's.
func (o *transferOptions) engineOptions(flt *filter.Filter, up, down bool, backupDir string) transfer.Options {
	opts := transfer.Options{
		Transfers:       o.transfers,
		Checkers:        o.checkers,
		MaxBacklog:      o.maxBacklog,
		DryRun:          o.dryRun,
		Checksum:        o.checksum,
		SizeOnly:        o.sizeOnly,
		IgnoreExisting:  o.ignoreExisting,
		Filter:          flt,
		NoUpdateModTime: o.noUpdateModTime,
		Limiter:         o.bwlimit.limiter().Direction(up, down),
	}
	o.sync.apply(&opts, backupDir)
	_ = o.limits.apply(&opts) // checked by validate
	return opts
}

// output is where a transfer command's messages, logs, progress and
// summary go.
type output struct {
	printer  ui.Printer
	progress *ui.Progress
	logger   *slog.Logger
	stats    *transfer.Stats
	ticker   *statsTicker  // --stats without -P; nil when off
	so       *statsOptions // nil: the commands without statistics flags
}

// startOutput sets up the printer (text or JSON) and, with -P, the live
// display; logs and messages then pass above the display.
func startOutput(g *globals, asJSON, progress bool, stats *transfer.Stats) *output {
	return startOutputWith(g, asJSON, progress, stats, nil)
}

// startOutputWith is startOutput with the statistics flags (set up) of a
// command that has them: the periodic statistics and their format.
func startOutputWith(g *globals, asJSON, progress bool, stats *transfer.Stats, so *statsOptions) *output {
	o := &output{stats: stats, so: so}
	errw := g.stdio.Err
	popts := ui.ProgressOptions{}
	if so != nil {
		popts.Interval, popts.Format = so.progressInterval(), so.format
	}
	if progress {
		o.progress = ui.StartProgress(errw, stats.Snapshot, popts)
		errw = o.progress.Writer()
	}
	// The printer and the logger share errw: stderr (above the display),
	// or the log file, while the display stays on the terminal.
	errw = &ui.LockedWriter{W: g.log.writer(errw)}
	o.logger = loggerOn(g, errw)
	o.printer = ui.NewPrinter(g.stdio.Out, errw, asJSON, g.log.printerLevel())
	if tp, ok := o.printer.(*ui.TextPrinter); ok {
		tp.Log = o.logger // messages in the log's format, as rclone prints them
		if so != nil {
			tp.Format = so.format
		}
	}
	if so != nil && !progress {
		o.ticker = startStatsTicker(o.logger, so, stats)
	}
	return o
}

// statsShown reports whether a run prints its final statistics without
// -P or --json: as rclone, when the log level shows --stats-log-level
// (-v for the default INFO), and with --stats 0 only after errors.
func (o *output) statsShown(g *globals, failed bool) bool {
	if o.so == nil {
		return g.log.info()
	}
	return o.so.shown(g.log.level) && (o.so.interval > 0 || failed)
}

// finish stops the display and, if summary, prints the statistics.
func (o *output) finish(summary bool) transfer.Snapshot {
	o.ticker.Stop()
	if o.progress != nil {
		o.progress.Stop()
	}
	snap := o.stats.Snapshot()
	if summary {
		o.printer.Summary(snap)
	}
	return snap
}

// report turns an engine event into a message, in rclone's words.
func (o *output) report(ev transfer.Event) {
	level, msg := eventMessage(ev)
	o.printer.Message(level, ev.Path, msg)
}

// eventMessage words an event like rclone's log lines.
func eventMessage(ev transfer.Event) (ui.Level, string) {
	if ev.DryRun {
		what := map[transfer.Action]string{
			transfer.Copied: "copy", transfer.Moved: "move", transfer.Deleted: "delete",
			transfer.RemovedDir: "remove directory", transfer.ModTimeUpdated: "update modification time",
			transfer.Renamed: "rename to " + ev.NewPath, transfer.MadeDir: "make directory",
		}[ev.Action]
		if what == "" {
			what = ev.Action.String()
		}
		msg := "Skipped " + what + " as --dry-run is set"
		if ev.Action != transfer.RemovedDir && ev.Action != transfer.Renamed && ev.Action != transfer.MadeDir {
			msg += " (size " + ui.FormatBytes(ev.Size) + ")"
		}
		return ui.LevelNotice, msg
	}
	switch ev.Action {
	case transfer.Failed:
		return ui.LevelError, ev.Err.Error()
	case transfer.Copied:
		return ui.LevelInfo, "Copied (" + ev.Reason + ")"
	case transfer.Moved:
		return ui.LevelInfo, "Moved (" + ev.Reason + ")"
	case transfer.Deleted:
		if ev.ID != "" {
			return ui.LevelNotice, "Deleted " + ev.ID + " (" + ev.Reason + ")"
		}
		if ev.Reason != "" {
			return ui.LevelInfo, "Deleted (" + ev.Reason + ")"
		}
		return ui.LevelInfo, "Deleted"
	case transfer.RemovedDir:
		return ui.LevelInfo, "Removed directory"
	case transfer.MadeDir:
		return ui.LevelInfo, "Made directory"
	case transfer.ModTimeUpdated:
		return ui.LevelInfo, "Updated modification time in destination"
	case transfer.Duplicate:
		what := "objects"
		if ev.Reason != "" {
			what = ev.Reason
		}
		return ui.LevelNotice, fmt.Sprintf("Found %d %s with duplicate names", ev.Count, what)
	case transfer.Kept:
		return ui.LevelNotice, "Kept " + ev.ID + " (" + ev.Reason + ")"
	case transfer.Renamed:
		return ui.LevelNotice, "Renamed " + ev.ID + " to " + ev.NewPath
	case transfer.Skipped:
		return ui.LevelNotice, fmt.Sprintf("Skipping %d duplicates", ev.Count)
	}
	return ui.LevelInfo, ev.Action.String()
}

// sizeFlag is a byte count flag in rclone's notation: a number with an
// optional binary suffix B, K, M, G, T or P (KiB when there is none),
// or "off" (stored as -1).
type sizeFlag int64

// String implements pflag.Value.
func (s *sizeFlag) String() string {
	if *s < 0 {
		return "off"
	}
	return strconv.FormatInt(int64(*s), 10) + "B"
}

// Type implements pflag.Value.
func (s *sizeFlag) Type() string { return "size" }

// Set implements pflag.Value.
func (s *sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = sizeFlag(n)
	return nil
}

// parseSize parses a sizeFlag value.
func parseSize(v string) (int64, error) {
	t := strings.TrimSpace(v)
	if strings.EqualFold(t, "off") || t == "-1" {
		return -1, nil
	}
	// Strip an optional "B", "iB" or "i" after the unit letter.
	lower := strings.ToLower(t)
	for _, suf := range []string{"ib", "i"} {
		if len(lower) > len(suf)+1 && strings.HasSuffix(lower, suf) && strings.ContainsRune("kmgtp", rune(lower[len(lower)-len(suf)-1])) {
			lower = lower[:len(lower)-len(suf)]
			break
		}
	}
	if len(lower) > 2 && strings.HasSuffix(lower, "b") && strings.ContainsRune("kmgtp", rune(lower[len(lower)-2])) {
		lower = lower[:len(lower)-1]
	}
	mult := float64(1 << 10)
	if lower != "" {
		c := lower[len(lower)-1]
		switch c {
		case 'b':
			mult = 1
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		case 'p':
			mult = 1 << 50
		default:
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("bad size %q: unknown unit %q (want B, K, M, G, T or P)", v, c)
			}
		}
		if c < '0' || c > '9' {
			lower = lower[:len(lower)-1]
		}
	}
	f, err := strconv.ParseFloat(lower, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f*mult > math.MaxInt64/2 {
		return 0, fmt.Errorf("bad size %q: want e.g. 100K, 1.5M, 2G or off", v)
	}
	return int64(f * mult), nil
}
