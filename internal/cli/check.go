package cli

import (
	"bufio"
	"context"
	"os"
	"slices"
	"strconv"
	"sync"

	"github.com/spf13/cobra"

	"ferry/internal/transfer"
	"ferry/internal/ui"
)

// checkOptions are the flags of "ferry check".
type checkOptions struct {
	filters  filterOptions
	checkers int
	checksum bool
	sizeOnly bool
	oneWay   bool
	progress bool
	json     bool
	reports  checkReportFiles
	stats    statsOptions // statsflags.go
}

// checkReportFiles are check's --combined, --differ, --missing-on-src,
// --missing-on-dst, --match and --error: files ("-" for stdout) that get
// one path a line of each kind, as rclone writes them.
type checkReportFiles struct {
	combined, differ, missingOnSrc, missingOnDst, match, errors string
}

// newCheckCommand builds "ferry check", binding its flags to an options struct.
func newCheckCommand(g *globals) *cobra.Command {
	var o checkOptions
	cmd := &cobra.Command{
		Use:   "check source:path dest:path",
		Short: "Check that the files in source and destination match",
		Long: `Compare source and destination without changing anything, and report files
missing on either side and files that differ. By default files match when
their sizes are equal and their modification times agree (within the
coarser precision of the two sides: 1 s on MEGA). With --checksum, content
fingerprints are compared instead: a side without them (a local disk) gets
them computed from a few KiB of each file. When they agree and one side is
MEGA, the other side's file is read whole and MAC'd under the MEGA file's
key: equal meta-MACs prove equal content. On MediaFire the other side's
SHA-256 is compared with the hash MediaFire records. Nothing is downloaded
from MEGA or MediaFire; the reason a file differs names what was compared.
--size-only compares sizes.

Exits with status 1 if differences were found, like rclone.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	addFilterFlags(f, &o.filters)
	f.IntVar(&o.checkers, "checkers", transfer.DefaultCheckers, "number of directory listings and comparisons to run in parallel")
	f.BoolVarP(&o.checksum, "checksum", "c", false, "compare fingerprints, computing them for a side that lacks them")
	f.BoolVar(&o.sizeOnly, "size-only", false, "compare sizes only")
	f.BoolVar(&o.oneWay, "one-way", false, "don't report files missing on the source")
	f.BoolVarP(&o.progress, "progress", "P", false, "show progress during the check")
	f.BoolVar(&o.json, "json", false, "print the report as JSON on stdout")
	f.StringVar(&o.reports.combined, "combined", "", `write every path to this file ("-": stdout), marked "= " matching, "- " only in the source, "+ " only in the destination, "* " differing, "! " failed`)
	f.StringVar(&o.reports.differ, "differ", "", "write the paths that differ to this file")
	f.StringVar(&o.reports.missingOnSrc, "missing-on-src", "", "write the paths missing on the source to this file")
	f.StringVar(&o.reports.missingOnDst, "missing-on-dst", "", "write the paths missing on the destination to this file")
	f.StringVar(&o.reports.match, "match", "", "write the paths that match to this file")
	f.StringVar(&o.reports.errors, "error", "", "write the paths that could not be checked to this file")
	addStatsFlags(f, &o.stats)
	return cmd
}

// checkReport is check's --json output.
type checkReport struct {
	transfer.CheckResult
	MissingOnDstPaths []string `json:"missingOnDstPaths"`
	MissingOnSrcPaths []string `json:"missingOnSrcPaths"`
	DifferPaths       []string `json:"differPaths"`
	ErrorPaths        []string `json:"errorPaths"`
	ElapsedTime       float64  `json:"elapsedTime"`
}

// runCheck runs "ferry check" with the parsed flags o and arguments args.
func runCheck(ctx context.Context, g *globals, o checkOptions, args []string) error {
	if o.checksum && o.sizeOnly {
		return usagef("--checksum and --size-only exclude each other")
	}
	if o.checkers < 1 {
		return usagef("--checkers must be at least 1")
	}
	if err := o.stats.setup(); err != nil {
		return err
	}
	flt, err := o.filters.build(g)
	if err != nil {
		return err
	}
	src, err := g.openRemote(ctx, args[0])
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := g.openRemote(ctx, args[1])
	if err != nil {
		return err
	}
	defer dst.Close()
	rw, err := openCheckReports(g, o.reports)
	if err != nil {
		return err
	}
	defer rw.close()
	srcLoc := transfer.Location{Backend: src.Backend, Path: src.Path}
	dstLoc := transfer.Location{Backend: dst.Backend, Path: dst.Path}

	stats := new(transfer.Stats)
	out := startOutputWith(g, o.json, o.progress, stats, &o.stats)
	ctx = stats.ObserveRetries(ctx, out.logger, "")
	var (
		mu  sync.Mutex
		rep checkReport
	)
	report := func(ev transfer.Event) {
		var level ui.Level
		var msg string
		switch ev.Action {
		case transfer.MissingOnDst:
			level, msg = ui.LevelError, "file not in "+dstLoc.String()
		case transfer.MissingOnSrc:
			level, msg = ui.LevelError, "file not in "+srcLoc.String()
		case transfer.Differs:
			level, msg = ui.LevelError, ev.Reason
		case transfer.Matches:
			level, msg = ui.LevelInfo, "OK"
		case transfer.Failed:
			level, msg = ui.LevelError, ev.Err.Error()
		}
		if !o.json || ev.Action == transfer.Failed {
			out.printer.Message(level, ev.Path, msg)
		}
		mu.Lock()
		defer mu.Unlock()
		rw.write(ev.Action, ev.Path)
		switch ev.Action {
		case transfer.MissingOnDst:
			rep.MissingOnDstPaths = append(rep.MissingOnDstPaths, ev.Path)
		case transfer.MissingOnSrc:
			rep.MissingOnSrcPaths = append(rep.MissingOnSrcPaths, ev.Path)
		case transfer.Differs:
			rep.DifferPaths = append(rep.DifferPaths, ev.Path)
		case transfer.Failed:
			rep.ErrorPaths = append(rep.ErrorPaths, ev.Path)
		}
	}
	res, err := transfer.Check(ctx, srcLoc, dstLoc, transfer.CheckOptions{
		Checkers: o.checkers, Checksum: o.checksum, SizeOnly: o.sizeOnly, OneWay: o.oneWay,
		Filter: flt, Stats: stats, Logger: out.logger, Report: report,
	})
	snap := out.finish(false)
	if ctx.Err() != nil {
		return err
	}
	if cerr := rw.close(); cerr != nil && err == nil {
		err = cerr
	}
	if o.json {
		rep.CheckResult = res
		rep.ElapsedTime = snap.ElapsedTime
		for _, l := range []*[]string{&rep.MissingOnDstPaths, &rep.MissingOnSrcPaths, &rep.DifferPaths, &rep.ErrorPaths} {
			if *l == nil {
				*l = []string{}
			}
			slices.Sort(*l)
		}
		out.printer.Result("", rep)
		return err
	}
	p := out.printer
	if res.MissingOnDst > 0 {
		p.Message(ui.LevelNotice, dstLoc.String(), checkPlural(res.MissingOnDst, "file")+" missing")
	}
	if res.MissingOnSrc > 0 {
		p.Message(ui.LevelNotice, srcLoc.String(), checkPlural(res.MissingOnSrc, "file")+" missing")
	}
	// Always, as rclone: a script greps for "0 differences found".
	p.Message(ui.LevelNotice, dstLoc.String(), checkPlural(res.Differences, "difference")+" found")
	if res.Errors > 0 {
		p.Message(ui.LevelNotice, dstLoc.String(), checkPlural(res.Errors, "error")+" while checking")
	}
	p.Message(ui.LevelNotice, dstLoc.String(), checkPlural(res.Matches, "matching file"))
	return err
}

// checkPlural formats "1 file", "2 files".
func checkPlural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// checkReports are check's open report files.
type checkReports struct {
	byAction map[transfer.Action][]*bufio.Writer
	combined *bufio.Writer
	files    []*os.File
	closed   bool
}

// openCheckReports creates the report files named in r.
func openCheckReports(g *globals, r checkReportFiles) (*checkReports, error) {
	rw := &checkReports{byAction: map[transfer.Action][]*bufio.Writer{}}
	open := func(name string) (*bufio.Writer, error) {
		if name == "-" {
			return bufio.NewWriter(g.stdio.Out), nil
		}
		f, err := os.Create(name)
		if err != nil {
			return nil, usagef("check: report file: %v", err)
		}
		rw.files = append(rw.files, f)
		return bufio.NewWriter(f), nil
	}
	for _, spec := range []struct {
		name   string
		action transfer.Action
	}{
		{r.differ, transfer.Differs}, {r.missingOnSrc, transfer.MissingOnSrc}, {r.missingOnDst, transfer.MissingOnDst},
		{r.match, transfer.Matches}, {r.errors, transfer.Failed},
	} {
		if spec.name == "" {
			continue
		}
		w, err := open(spec.name)
		if err != nil {
			rw.close()
			return nil, err
		}
		rw.byAction[spec.action] = append(rw.byAction[spec.action], w)
	}
	if r.combined != "" {
		w, err := open(r.combined)
		if err != nil {
			rw.close()
			return nil, err
		}
		rw.combined = w
	}
	return rw, nil
}

// combinedMarks are --combined's line prefixes (rclone's).
var combinedMarks = map[transfer.Action]string{
	transfer.Matches: "= ", transfer.MissingOnDst: "- ", transfer.MissingOnSrc: "+ ",
	transfer.Differs: "* ", transfer.Failed: "! ",
}

// write records path under action; the caller serialises calls.
func (rw *checkReports) write(action transfer.Action, path string) {
	for _, w := range rw.byAction[action] {
		w.WriteString(path + "\n")
	}
	if mark, ok := combinedMarks[action]; ok && rw.combined != nil {
		rw.combined.WriteString(mark + path + "\n")
	}
}

// close flushes and closes the files; later calls do nothing.
func (rw *checkReports) close() error {
	if rw.closed {
		return nil
	}
	rw.closed = true
	var first error
	for _, ws := range rw.byAction {
		for _, w := range ws {
			if err := w.Flush(); err != nil && first == nil {
				first = err
			}
		}
	}
	if rw.combined != nil {
		if err := rw.combined.Flush(); err != nil && first == nil {
			first = err
		}
	}
	for _, f := range rw.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
