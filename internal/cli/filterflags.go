package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"ferry/internal/filter"
)

// filterOptions are the filter flags of the transfer commands, check,
// the listings and delete: rclone's, with its semantics (internal/filter).
type filterOptions struct {
	include, includeFrom    []string
	exclude, excludeFrom    []string
	filter, filterFrom      []string
	filesFrom, filesFromRaw []string
	filesFrom0              []string
	excludeIfPresent        []string
	minSize, maxSize        sizeFlag
	minAge, maxAge          string
	ignoreCase              bool
	filesFromStrict         bool
}

// addFilterFlags binds the filter flags to o.
func addFilterFlags(f *pflag.FlagSet, o *filterOptions) {
	f.StringArrayVar(&o.include, "include", nil, "include files matching the glob (repeatable; excludes everything else)")
	f.StringArrayVar(&o.includeFrom, "include-from", nil, `read include globs from a file, one a line ("-": stdin; repeatable; excludes everything else)`)
	f.StringArrayVar(&o.exclude, "exclude", nil, "exclude files matching the glob (repeatable)")
	f.StringArrayVar(&o.excludeFrom, "exclude-from", nil, `read exclude globs from a file, one a line ("-": stdin; repeatable)`)
	f.StringArrayVarP(&o.filter, "filter", "f", nil, `add a rule: "+ glob" includes, "- glob" excludes, "!" clears the rules so far (repeatable, in order)`)
	f.StringArrayVar(&o.filterFrom, "filter-from", nil, `read "+ glob" / "- glob" / "!" rules from a file ("-": stdin; repeatable)`)
	f.StringArrayVar(&o.filesFrom, "files-from", nil, `only the paths listed in this file, relative to the source ("-": stdin; # and ; comments; repeatable; no other filter with it)`)
	f.StringArrayVar(&o.filesFromRaw, "files-from-raw", nil, "as --files-from, taking every line as it is (no trimming, no comments)")
	f.StringArrayVar(&o.filesFrom0, "files-from0", nil, "as --files-from-raw, the paths ending in NUL bytes (find -print0)")
	f.BoolVar(&o.filesFromStrict, "files-from-strict", false, "a path a --files-from list names that the source lacks is an error (and a sync deletes nothing), not skipped")
	f.StringArrayVar(&o.excludeIfPresent, "exclude-if-present", nil, `exclude a directory, with all below it, when it holds a file of this name ("NAME/": a directory; repeatable)`)
	o.minSize, o.maxSize = -1, -1
	f.Var(&o.minSize, "min-size", "only transfer files at least this big (100 = 100 KiB; suffixes B, K, M, G, T)")
	f.Var(&o.maxSize, "max-size", "only transfer files at most this big (suffixes as --min-size)")
	f.StringVar(&o.minAge, "min-age", "", `only transfer files older than this: a duration (90s, 2d; ms, s, m, h, d, w, M, y) or a date ("2006-01-02", "2006-01-02 15:04:05", RFC 3339)`)
	f.StringVar(&o.maxAge, "max-age", "", "only transfer files younger than this (as --min-age)")
	f.BoolVar(&o.ignoreCase, "ignore-case", false, "match the filter globs regardless of case")
}

// build compiles the filter flags; errors are usage errors. With
// --dump filters it prints the compiled rules on stdout, as rclone does.
func (o *filterOptions) build(g *globals) (*filter.Filter, error) {
	f, err := filter.New(filter.Options{
		Include: o.include, IncludeFrom: o.includeFrom,
		Exclude: o.exclude, ExcludeFrom: o.excludeFrom,
		Filter: o.filter, FilterFrom: o.filterFrom,
		FilesFrom: o.filesFrom, FilesFromRaw: o.filesFromRaw, FilesFrom0: o.filesFrom0,
		FilesFromStrict:  o.filesFromStrict,
		ExcludeIfPresent: o.excludeIfPresent,
		MinSize:          int64(o.minSize), MaxSize: int64(o.maxSize),
		MinAge: o.minAge, MaxAge: o.maxAge,
		IgnoreCase: o.ignoreCase,
		Stdin:      g.stdio.In,
	})
	if err != nil {
		return nil, usageError{err}
	}
	for _, w := range f.Warnings() {
		g.logger().Warn(w)
	}
	if g.accepted.dump.filters {
		fmt.Fprint(g.stdio.Out, f.Dump())
	}
	return f, nil
}
