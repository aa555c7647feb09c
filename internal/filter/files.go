package filter

import (
	"path"
	"strings"
)

// addFilesFrom reads the --files-from lists (trimmed, comments and blank
// lines skipped), then the --files-from-raw ones (every line as it is),
// then the --files-from0 ones (raw, NUL-separated). Leading and trailing
// "/" are dropped: paths are relative to the root of the command.
func (f *Filter) addFilesFrom(lists, raw, nul []string) error {
	f.files, f.dirs = map[string]struct{}{}, map[string]struct{}{}
	add := func(line string, _ int) error {
		f.addListed(line)
		return nil
	}
	for _, name := range lists {
		if err := f.eachLine("--files-from", name, false, add); err != nil {
			return err
		}
	}
	for _, name := range raw {
		if err := f.eachLine("--files-from-raw", name, true, add); err != nil {
			return err
		}
	}
	for _, name := range nul {
		if err := f.eachLine("--files-from0", name, true, add); err != nil {
			return err
		}
	}
	return nil
}

// addListed adds one listed path and its parent directories.
func (f *Filter) addListed(p string) {
	p = strings.Trim(p, "/")
	if p == "" {
		return
	}
	if _, dup := f.files[p]; dup {
		return
	}
	f.files[p] = struct{}{}
	f.fileList = append(f.fileList, p)
	for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
		if _, ok := f.dirs[d]; ok {
			break
		}
		f.dirs[d] = struct{}{}
	}
}

// Files returns the paths --files-from, --files-from-raw and
// --files-from0 listed, in
// their order and without repeats, or nil without those flags. A caller
// may look each up instead of walking the tree: nothing else passes.
// Paths are as listed (without leading or trailing "/"), so one may not
// be in the contract's form; see Clean.
func (f *Filter) Files() []string {
	if f == nil {
		return nil
	}
	return f.fileList
}

// Strict reports whether a listed path the source lacks is an error
// (--files-from-strict) rather than skipped.
func (f *Filter) Strict() bool { return f.HasFiles() && f.strict }

// HasFiles reports whether the filter is a --files-from list.
func (f *Filter) HasFiles() bool { return f != nil && f.files != nil }

// Clean reports whether a listed path p is in the contract's form (no
// empty, "." or ".." elements), so that it can be looked up as it is. A
// walk can never meet any other path, so a caller skips those.
func Clean(p string) bool {
	if p == "" || strings.Contains(p, "//") || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		return false
	}
	for el := range strings.SplitSeq(p, "/") {
		if el == "." || el == ".." {
			return false
		}
	}
	return true
}

// Markers returns the --exclude-if-present names ("name/" for a
// directory), or nil.
func (f *Filter) Markers() []string {
	if f == nil {
		return nil
	}
	return f.markers
}

// IsMarker reports whether an entry named name (a directory if isDir)
// excludes the directory holding it: --exclude-if-present named it
// ("name" for a file, "name/" for a directory). The walks check each
// source directory's listing (or stat the markers) before descending,
// since a marker excludes its directory with everything below it.
func (f *Filter) IsMarker(name string, isDir bool) bool {
	if f == nil {
		return false
	}
	for _, m := range f.markers {
		dirMarker := strings.HasSuffix(m, "/")
		if dirMarker == isDir && strings.TrimSuffix(m, "/") == name {
			return true
		}
	}
	return false
}
