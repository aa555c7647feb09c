package transfer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"

	"ferry/internal/backend"
	"ferry/internal/filter"
)

// CheckOptions tune a Check.
type CheckOptions struct {
	Checkers int // parallel listings and comparisons; <= 0 means DefaultCheckers
	// Checksum compares content fingerprints instead of mtimes, computing
	// the fingerprint of a side that lacks one (reading at most 8 KiB of
	// it). When the fingerprints agree and one side is a
	// backend.ContentMatcher (MEGA), the other side's file is read whole
	// and MAC'd under the MEGA file's key: equal meta-MACs prove equal
	// content, and nothing is downloaded from MEGA. Without Checksum files
	// match when their sizes are equal and their mtimes agree within the
	// coarser precision of the two backends.
	Checksum bool
	SizeOnly bool // compare sizes only
	OneWay   bool // don't report files missing on the source
	Filter   *filter.Filter
	Stats    *Stats
	Logger   *slog.Logger
	// Report receives MissingOnDst, MissingOnSrc, Differs, Matches and
	// Failed events, from several goroutines at once.
	Report func(Event)
}

// CheckResult counts what Check found.
type CheckResult struct {
	Matches      int `json:"matches"`
	Differences  int `json:"differences"` // Differs + MissingOnDst + MissingOnSrc
	Differ       int `json:"differ"`
	MissingOnDst int `json:"missingOnDst"`
	MissingOnSrc int `json:"missingOnSrc"`
	Errors       int `json:"errors"`
}

// Check compares the files under src and dst without changing anything.
// It returns an error wrapping ErrDifferences when it found any
// difference, a *RunError when comparisons failed (differences take
// precedence), or ctx's error.
func Check(ctx context.Context, src, dst Location, opts CheckOptions) (CheckResult, error) {
	var res CheckResult
	for _, l := range []Location{src, dst} {
		st, err := l.Backend.Stat(ctx, l.Path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return res, fmt.Errorf("%s: %w: %w", l, ErrDirNotFound, err)
			}
			return res, err
		}
		if !st.IsDir {
			return res, fmt.Errorf("%s: %w", l, backend.ErrNotDir)
		}
	}
	stats := opts.Stats
	if stats == nil {
		stats = new(Stats)
	}
	stats.begin()
	log := loggerOr(opts.Logger)
	// Like sync's decisions: size and mtime (within the coarser precision)
	// by default, fingerprints with --checksum, sizes with --size-only.
	cmp := newComparer(src.Backend, dst.Backend, compareOptions{checksum: opts.Checksum, sizeOnly: opts.SizeOnly})
	var (
		mu       sync.Mutex
		firstErr error // +checklocks:mu
		warned   sync.Once
	)
	report := func(ev Event) {
		mu.Lock()
		switch ev.Action {
		case Matches:
			res.Matches++
		case Differs:
			res.Differ++
		case MissingOnDst:
			res.MissingOnDst++
		case MissingOnSrc:
			res.MissingOnSrc++
		case Failed:
			res.Errors++
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", ev.Path, ev.Err)
			}
		}
		mu.Unlock()
		if ev.Action == Failed {
			stats.addError(ev.Err)
		}
		if opts.Report != nil {
			opts.Report(ev)
		}
	}
	handle := func(ctx context.Context, rel string, s, d *backend.Entry) {
		switch {
		case d == nil:
			report(Event{Action: MissingOnDst, Path: rel, Size: s.Size})
			return
		case s == nil:
			if !opts.OneWay {
				report(Event{Action: MissingOnSrc, Path: rel, Size: d.Size})
			}
			return
		case s.IsDir != d.IsDir:
			report(Event{Action: Differs, Path: rel, Reason: "file on one side, directory on the other"})
			return
		}
		stats.totalChecks.Add(1)
		defer stats.checks.Add(1)
		dec, reason, err := cmp.compare(ctx, *s, *d)
		if err != nil {
			if ctx.Err() == nil {
				report(Event{Action: Failed, Path: rel, Err: err})
			}
			return
		}
		if dec == decSkip && opts.Checksum && !s.IsDir {
			applied, same, by, err := matchContent(ctx, src.Backend, dst.Backend, *s, *d)
			switch {
			case err != nil:
				if ctx.Err() == nil {
					report(Event{Action: Failed, Path: rel, Err: err})
				}
				return
			case applied && same:
				reason = by + " matches the whole content"
			case applied:
				dec, reason = decCopy, "content differs ("+by+")"
			}
		}
		if reason == reasonNoFingerprints {
			warned.Do(func() { log.Warn("no fingerprints on either side: comparing sizes only") })
		}
		if dec == decSkip {
			report(Event{Action: Matches, Path: rel, Size: s.Size, Reason: reason})
		} else {
			report(Event{Action: Differs, Path: rel, Size: s.Size, Reason: reason})
		}
	}
	co2 := opts.Checkers
	if co2 <= 0 {
		co2 = DefaultCheckers
	}
	m := &marcher{
		src: src, dst: dst, filter: opts.Filter, checkers: co2, log: log,
		dstOnlyDirs: !opts.OneWay,
		handle:      handle,
		listErr: func(rel string, err error) {
			report(Event{Action: Failed, Path: rel, Err: fmt.Errorf("list: %w", err)})
		},
	}
	if err := m.run(ctx); err != nil {
		return res, err
	}
	mu.Lock()
	defer mu.Unlock()
	res.Differences = res.Differ + res.MissingOnDst + res.MissingOnSrc
	if res.Differences > 0 {
		return res, &DifferencesError{N: res.Differences}
	}
	if res.Errors > 0 {
		return res, &RunError{Errors: res.Errors, First: firstErr}
	}
	return res, nil
}

// DifferencesError is Check's error when it found differences; it
// matches ErrDifferences with errors.Is.
type DifferencesError struct{ N int }

// Error says how many differences were found.
func (e *DifferencesError) Error() string {
	if e.N == 1 {
		return "1 difference found"
	}
	return fmt.Sprintf("%d differences found", e.N)
}

// Is reports whether target is ErrDifferences.
func (e *DifferencesError) Is(target error) bool { return target == ErrDifferences }
