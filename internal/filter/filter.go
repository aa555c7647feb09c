// Package filter decides which files and directories a transfer sees, with
// rclone's rule language and flags: --include, --include-from, --exclude,
// --exclude-from, --filter, --filter-from, --files-from (and -raw, 0),
// --exclude-if-present, --min-size, --max-size, --min-age, --max-age and
// --ignore-case.
//
// # Rules
//
// A rule is an action (include "+" or exclude "-") and a glob. Rules are
// tried in order and the first whose glob matches decides; a path no rule
// matches is included. Whatever the order of the flags, the rules come in
// rclone's order: --include, --include-from, --exclude, --exclude-from,
// --filter, --filter-from, and when there was any --include or
// --include-from an implicit "- **" closes the list, so only included
// paths pass ("+" rules of --filter imply nothing). Mixing --include and
// --exclude is allowed but --filter states the order explicitly.
//
// Paths are relative to the root of the transfer, slash-separated, without
// a leading "/" (the contract form of ferry/internal/backend).
//
// # Globs
//
//	glob      matches
//	*         any sequence of characters except "/"
//	**        any sequence of characters, "/" included
//	?         any single character except "/"
//	[a-z]     a character class ([!a-z] or [^a-z] negated)
//	{a,b}     alternatives (which may hold globs)
//	{{re}}    the regular expression re
//	\x        the character x itself; \d, \w, \s ... (a letter): the
//	          regular expression's class
//	[[:alpha:]] a named class inside a class
//
// A glob starting with "/" is anchored at the root; otherwise it matches
// the end of the path at any depth ("*.jpg" matches "a/b/c.jpg", "b/c.jpg"
// matches "a/b/c.jpg"). A glob ending in "/" matches directories only;
// excluding a directory excludes everything below it and the walk does not
// descend into it. With IgnoreCase globs match regardless of case.
//
// # Rule files
//
// Each line of a --filter-from file (and each --filter) is "+ glob",
// "- glob", "!" (clear the rules so far, including those from flags) or a
// comment starting with "#" or ";". Each line of an --include-from or
// --exclude-from file is a glob. Lines are trimmed, blank lines are
// ignored; anything else is an error naming the file and line. The file
// "-" is stdin.
//
// # Other filters
//
// A --files-from list replaces every other filter (combining them is an
// error, as in rclone): only the listed paths pass, and the directories
// on their way; Files gives the list, so a caller can look the paths up
// instead of walking. --exclude-if-present names a file ("name/": a
// directory) whose presence excludes the directory holding it; the walk
// checks for it (IsMarker, Markers) before descending. Sizes and ages
// apply to files only.
package filter

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"
)

// Options are the user's filter flags. The zero value includes everything.
type Options struct {
	Include     []string // --include globs
	IncludeFrom []string // --include-from files: one glob a line
	Exclude     []string // --exclude globs
	ExcludeFrom []string // --exclude-from files: one glob a line
	Filter      []string // --filter rules: "+ glob", "- glob" or "!"
	FilterFrom  []string // --filter-from files
	// FilesFrom, FilesFromRaw and FilesFrom0 are --files-from,
	// --files-from-raw and --files-from0 files: only the paths they list
	// pass. They cannot be combined with any other filter.
	FilesFrom, FilesFromRaw, FilesFrom0 []string
	// FilesFromStrict is --files-from-strict: a listed path the source
	// lacks is an error, not skipped. See Filter.Strict.
	FilesFromStrict bool
	// ExcludeIfPresent are --exclude-if-present names: a directory
	// holding a file of that name ("name/": a directory) is excluded
	// with everything below it. See Filter.IsMarker.
	ExcludeIfPresent []string
	// MinSize and MaxSize bound file sizes in bytes (inclusive); 0 or
	// less means no bound, so "only empty files" cannot be said.
	MinSize, MaxSize int64
	// MinAge and MaxAge bound file modification times, as ParseAge reads
	// them ("" or "off": no bound).
	MinAge, MaxAge string
	// IgnoreCase makes every glob match regardless of case.
	IgnoreCase bool
	// Stdin is read for a file named "-"; nil reads os.Stdin.
	Stdin io.Reader
	// Now is the time ages are measured from; zero means time.Now().
	Now time.Time
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
	minSize, maxSize int64     // 0: no bound
	modFrom, modTo   time.Time // zero: no bound
	ignoreCase       bool
	markers          []string // --exclude-if-present names
	// files-from: the listed paths in order, the set of them and of
	// their parent directories; files == nil without --files-from.
	fileList    []string
	files, dirs map[string]struct{}
	strict      bool // --files-from-strict
	stdin       io.Reader
	warnings    []string
}

// Warnings returns what New found questionable but accepted, as rclone
// words it: mixing --include and --exclude.
func (f *Filter) Warnings() []string {
	if f == nil {
		return nil
	}
	return f.warnings
}

// New compiles opts. Rules are added in rclone's order whatever the
// order of the flags: --include, --include-from, --exclude,
// --exclude-from, --filter, --filter-from, then "- **" when there was
// any --include or --include-from.
func New(opts Options) (*Filter, error) {
	f := &Filter{
		minSize: max(opts.MinSize, 0), maxSize: max(opts.MaxSize, 0),
		ignoreCase: opts.IgnoreCase, stdin: opts.Stdin,
		strict: opts.FilesFromStrict,
	}
	if err := f.addAges(opts); err != nil {
		return nil, err
	}
	for _, g := range opts.Include {
		if err := f.Add(true, g); err != nil {
			return nil, fmt.Errorf("--include %q: %w", g, err)
		}
	}
	for _, name := range opts.IncludeFrom {
		if err := f.addGlobFile("--include-from", name, true); err != nil {
			return nil, err
		}
	}
	for _, g := range opts.Exclude {
		if err := f.Add(false, g); err != nil {
			return nil, fmt.Errorf("--exclude %q: %w", g, err)
		}
	}
	for _, name := range opts.ExcludeFrom {
		if err := f.addGlobFile("--exclude-from", name, false); err != nil {
			return nil, err
		}
	}
	if len(opts.Include)+len(opts.IncludeFrom) > 0 && len(opts.Exclude)+len(opts.ExcludeFrom) > 0 {
		f.warnings = append(f.warnings, "Using --filter is recommended instead of both --include and --exclude: includes always come first, whatever the order on the command line")
	}
	for _, r := range opts.Filter {
		if err := f.addRule(r); err != nil {
			return nil, fmt.Errorf("--filter %q: %w", r, err)
		}
	}
	for _, name := range opts.FilterFrom {
		if err := f.addFile(name); err != nil {
			return nil, err
		}
	}
	if len(opts.Include) > 0 || len(opts.IncludeFrom) > 0 {
		if err := f.Add(false, "/**"); err != nil {
			return nil, err
		}
	}
	for _, m := range opts.ExcludeIfPresent {
		if strings.Trim(m, "/") == "" || strings.Contains(strings.TrimSuffix(m, "/"), "/") {
			return nil, fmt.Errorf("--exclude-if-present %q: want a file name (or a directory name ending in /), not a path", m)
		}
		f.markers = append(f.markers, m)
	}
	if len(opts.FilesFrom)+len(opts.FilesFromRaw)+len(opts.FilesFrom0) > 0 {
		if f.Active() {
			return nil, fmt.Errorf("--files-from, --files-from-raw and --files-from0 override every other filter: use them alone")
		}
		if err := f.addFilesFrom(opts.FilesFrom, opts.FilesFromRaw, opts.FilesFrom0); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// open opens the file name for reading, or stdin for "-".
func (f *Filter) open(flag, name string) (io.ReadCloser, error) {
	if name == "-" {
		if f.stdin == nil {
			return os.Stdin, nil
		}
		return io.NopCloser(f.stdin), nil
	}
	r, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return r, nil
}

// eachLine calls fn with each line of the file name ("-": stdin) and its
// number. Unless raw, lines are trimmed of white space, and blank lines
// and comments (starting with "#" or ";") are skipped. For --files-from0
// the "lines" end in NUL bytes.
func (f *Filter) eachLine(flag, name string, raw bool, fn func(line string, n int) error) error {
	r, err := f.open(flag, name)
	if err != nil {
		return err
	}
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	if flag == "--files-from0" {
		sc.Split(splitNUL)
	}
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if !raw {
			line = strings.TrimSpace(line)
			if line == "" || line[0] == '#' || line[0] == ';' {
				continue
			}
		}
		if err := fn(line, n); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s %s: %w", flag, name, err)
	}
	return nil
}

// splitNUL is a bufio.SplitFunc for NUL-terminated records (the last
// may lack its NUL).
func splitNUL(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// addFile reads rules from the file name ("-": stdin).
func (f *Filter) addFile(name string) error {
	return f.eachLine("--filter-from", name, false, func(line string, n int) error {
		if err := f.addRule(line); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
		return nil
	})
}

// addGlobFile reads globs, one a line, from the file name ("-": stdin)
// and adds each as an include or exclude rule.
func (f *Filter) addGlobFile(flag, name string, include bool) error {
	return f.eachLine(flag, name, false, func(line string, n int) error {
		if err := f.Add(include, line); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
		return nil
	})
}

// AddRules reads rules in the --filter-from format from r; name is used in
// error messages.
func (f *Filter) AddRules(r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if err := f.addRule(line); err != nil {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// addRule adds one rule in the --filter-from format: "+ glob", "- glob",
// or "!", which clears the rules so far.
func (f *Filter) addRule(line string) error {
	switch {
	case line == "!":
		f.rules = nil
		return nil
	case len(line) > 2 && (line[0] == '+' || line[0] == '-') && line[1] == ' ':
		return f.Add(line[0] == '+', strings.TrimLeft(line[2:], " "))
	}
	return fmt.Errorf("%q is not a rule: want \"+ glob\", \"- glob\", \"!\" or a # comment", line)
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
	re, err := globRegexp(glob, f.ignoreCase)
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
	if !strings.HasPrefix(glob, "/") || dirsUnknown(glob) {
		// Unanchored (or too hard to split): a match may be at any
		// depth, so any directory may hold one.
		f.rules = append(f.rules, rule{include: true, glob: "**", re: anyPath, dirs: true, implied: true})
		return
	}
	elems := strings.Split(strings.TrimPrefix(glob, "/"), "/")
	prefix := ""
	for _, el := range elems[:len(elems)-1] {
		if strings.Contains(el, "**") {
			// From here on any depth can match.
			if re, err := globRegexp("/"+prefix+"**", f.ignoreCase); err == nil {
				f.rules = append(f.rules, rule{include: true, glob: "/" + prefix + "**", re: re, dirs: true, implied: true})
			}
			return
		}
		prefix += el + "/"
		if re, err := globRegexp("/"+prefix, f.ignoreCase); err == nil {
			f.rules = append(f.rules, rule{include: true, glob: "/" + prefix, re: re, dirs: true, implied: true})
		}
	}
}

// Active reports whether f can exclude anything.
func (f *Filter) Active() bool {
	return f != nil && (len(f.rules) > 0 || f.minSize > 0 || f.maxSize > 0 ||
		!f.modFrom.IsZero() || !f.modTo.IsZero() || len(f.markers) > 0 || f.files != nil)
}

// IncludeFile reports whether the file at p (relative to the transfer
// root) with the given size passes the filter's rules and size bounds. It
// does not apply the age bounds: callers that know the modification
// time use Include.
func (f *Filter) IncludeFile(p string, size int64) bool {
	if f == nil {
		return true
	}
	if f.files != nil {
		_, ok := f.files[p]
		return ok
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

// Include reports whether the file at p (relative to the transfer root)
// with the given size and modification time passes the filter.
func (f *Filter) Include(p string, size int64, modTime time.Time) bool {
	if f == nil {
		return true
	}
	if !f.modFrom.IsZero() && modTime.Before(f.modFrom) {
		return false
	}
	if !f.modTo.IsZero() && modTime.After(f.modTo) {
		return false
	}
	return f.IncludeFile(p, size)
}

// IncludeDir reports whether the walk should descend into directory p
// (relative to the transfer root; "" is the root, always included). A
// directory is excluded only when a rule excludes it and everything below
// it, so files it holds are then excluded too. With --files-from only the
// directories holding listed paths are included. IncludeDir does not see
// --exclude-if-present: that needs the directory's listing (IsMarker).
func (f *Filter) IncludeDir(p string) bool {
	if f == nil || p == "" {
		return true
	}
	if f.files != nil {
		_, ok := f.dirs[p]
		return ok
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
