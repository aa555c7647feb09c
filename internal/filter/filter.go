// Package filter decides which files and directories a transfer sees, with
// rclone's rule language: --include, --exclude and --filter-from, plus
// --min-size and --max-size.
//
// # Rules
//
// A rule is an action (include "+" or exclude "-") and a glob. Rules are
// tried in order and the first whose glob matches decides; a path no rule
// matches is included. --include rules come first, then --exclude rules,
// then the rules of each --filter-from file, and when there was any
// --include an implicit "- **" closes the list, so only included paths
// pass. Mixing --include and --exclude is allowed but --filter-from states
// the order explicitly.
//
// Paths are relative to the root of the transfer, slash-separated, without
// a leading "/" (the contract form of ferry/internal/backend).
//
// # Globs
//
//   - any sequence of characters except "/"
//     **        any sequence of characters, "/" included
//     ?         any single character except "/"
//     [a-z]     a character class ([!a-z] or [^a-z] negated)
//     {a,b}     alternatives (which may hold globs)
//     \x        the character x itself
//
// A glob starting with "/" is anchored at the root; otherwise it matches
// the end of the path at any depth ("*.jpg" matches "a/b/c.jpg", "b/c.jpg"
// matches "a/b/c.jpg"). A glob ending in "/" matches directories only;
// excluding a directory excludes everything below it and the walk does not
// descend into it.
//
// # Filter files
//
// Each line of a --filter-from file is "+ glob", "- glob", "!" (clear the
// rules so far, including those from flags) or a comment starting with "#"
// or ";". Blank lines are ignored; anything else is an error naming the file
// and line.
package filter

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// Options are the user's filter flags. The zero value includes everything.
type Options struct {
	Include    []string // --include globs
	Exclude    []string // --exclude globs
	FilterFrom []string // --filter-from files
	// MinSize and MaxSize bound file sizes in bytes (inclusive); 0 or
	// less means no bound, so "only empty files" cannot be said.
	MinSize, MaxSize int64
}

// rule is one compiled rule.
type rule struct {
	include bool
	glob    string // as written, for messages
	re      *regexp.Regexp
	files   bool // applies to file paths
	dirs    bool // applies to directory paths (tested with a trailing "/")
	implied bool // added by Add for the parents of an include glob
}

// Filter is a compiled rule list. A nil *Filter includes everything. A
// Filter is immutable and safe for concurrent use.
type Filter struct {
	rules            []rule
	minSize, maxSize int64 // 0: no bound
}

// New compiles opts.
func New(opts Options) (*Filter, error) {
	f := &Filter{minSize: max(opts.MinSize, 0), maxSize: max(opts.MaxSize, 0)}
	for _, g := range opts.Include {
		if err := f.Add(true, g); err != nil {
			return nil, fmt.Errorf("--include %q: %w", g, err)
		}
	}
	for _, g := range opts.Exclude {
		if err := f.Add(false, g); err != nil {
			return nil, fmt.Errorf("--exclude %q: %w", g, err)
		}
	}
	for _, name := range opts.FilterFrom {
		if err := f.addFile(name); err != nil {
			return nil, err
		}
	}
	if len(opts.Include) > 0 {
		if err := f.Add(false, "/**"); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// addFile reads rules from the file name.
func (f *Filter) addFile(name string) error {
	r, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("--filter-from: %w", err)
	}
	defer r.Close()
	return f.AddRules(r, name)
}

// AddRules reads rules in the --filter-from format from r; name is used in
// error messages.
func (f *Filter) AddRules(r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line == "!":
			f.rules = nil
			continue
		case len(line) > 2 && (line[0] == '+' || line[0] == '-') && line[1] == ' ':
			if err := f.Add(line[0] == '+', strings.TrimLeft(line[2:], " ")); err != nil {
				return fmt.Errorf("%s:%d: %w", name, n, err)
			}
		default:
			return fmt.Errorf("%s:%d: %q is not a rule: want \"+ glob\", \"- glob\", \"!\" or a # comment", name, n, line)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// Add appends one rule: include or exclude glob.
func (f *Filter) Add(include bool, glob string) error {
	if glob == "" || glob == "/" {
		return fmt.Errorf("empty glob")
	}
	dirOnly := strings.HasSuffix(glob, "/")
	if dirOnly && !include {
		// Excluding "dir/" excludes the directory and all below it, files
		// included: the glob "dir/**" does both.
		glob += "**"
		dirOnly = false
	}
	re, err := globRegexp(glob)
	if err != nil {
		return err
	}
	r := rule{include: include, glob: glob, re: re, files: !dirOnly, dirs: dirOnly}
	if strings.Contains(glob, "**") {
		// "a/**" also matches "a/" itself, so it can decide directories.
		r.dirs = true
	}
	if include && r.files {
		// The files this rule includes may be below directories that later
		// rules (the implicit "- **") exclude: include those directories.
		f.addParentDirs(glob)
	}
	f.rules = append(f.rules, r)
	return nil
}

// addParentDirs adds directory-only include rules for every directory that
// can hold a file glob matches.
func (f *Filter) addParentDirs(glob string) {
	if !strings.HasPrefix(glob, "/") {
		// Unanchored: a match may be at any depth, so any directory may
		// hold one.
		f.rules = append(f.rules, rule{include: true, glob: "**", re: anyPath, dirs: true, implied: true})
		return
	}
	elems := strings.Split(strings.TrimPrefix(glob, "/"), "/")
	prefix := ""
	for _, el := range elems[:len(elems)-1] {
		if strings.Contains(el, "**") {
			// From here on any depth can match.
			if re, err := globRegexp("/" + prefix + "**"); err == nil {
				f.rules = append(f.rules, rule{include: true, glob: "/" + prefix + "**", re: re, dirs: true, implied: true})
			}
			return
		}
		prefix += el + "/"
		if re, err := globRegexp("/" + prefix); err == nil {
			f.rules = append(f.rules, rule{include: true, glob: "/" + prefix, re: re, dirs: true, implied: true})
		}
	}
}

// Active reports whether f can exclude anything.
func (f *Filter) Active() bool {
	return f != nil && (len(f.rules) > 0 || f.minSize > 0 || f.maxSize > 0)
}

// IncludeFile reports whether the file at p (relative to the transfer
// root) with the given size passes the filter.
func (f *Filter) IncludeFile(p string, size int64) bool {
	if f == nil {
		return true
	}
	if size < f.minSize {
		return false
	}
	if f.maxSize > 0 && size > f.maxSize {
		return false
	}
	for i := range f.rules {
		r := &f.rules[i]
		if r.files && r.re.MatchString(p) {
			return r.include
		}
	}
	return true
}

// IncludeDir reports whether the walk should descend into directory p
// (relative to the transfer root; "" is the root, always included). A
// directory is excluded only when a rule excludes it and everything below
// it, so files it holds are then excluded too.
func (f *Filter) IncludeDir(p string) bool {
	if f == nil || p == "" {
		return true
	}
	d := p + "/"
	for i := range f.rules {
		r := &f.rules[i]
		if r.dirs && r.re.MatchString(d) {
			return r.include
		}
	}
	return true
}

// String lists the rules, one a line, in the --filter-from format.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	var b strings.Builder
	for _, r := range f.rules {
		if r.implied {
			continue
		}
		if r.include {
			b.WriteString("+ ")
		} else {
			b.WriteString("- ")
		}
		b.WriteString(r.glob)
		b.WriteByte('\n')
	}
	return b.String()
}
