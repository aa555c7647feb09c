package filter

import (
	"fmt"
	"strings"
)

// Dump describes the compiled filter as rclone's --dump filters does: the
// bounds, then the file rules and the directory rules as the regular
// expressions matched (a directory's path carries a trailing "/"), each
// "+ " or "- ", first match wins. Rules implied for the parents of an
// include glob appear among the directory rules.
func (f *Filter) Dump() string {
	var b strings.Builder
	b.WriteString("--- start filters ---\n")
	if f != nil {
		if !f.modFrom.IsZero() {
			fmt.Fprintf(&b, "Last-modified date must be equal or greater than: %s\n", f.modFrom)
		}
		if !f.modTo.IsZero() {
			fmt.Fprintf(&b, "Last-modified date must be equal or less than: %s\n", f.modTo)
		}
		if f.minSize > 0 {
			fmt.Fprintf(&b, "Minimum size is: %d B\n", f.minSize)
		}
		if f.maxSize > 0 {
			fmt.Fprintf(&b, "Maximum size is: %d B\n", f.maxSize)
		}
		for _, m := range f.markers {
			fmt.Fprintf(&b, "Directories holding %q are excluded\n", m)
		}
		if f.files != nil {
			fmt.Fprintf(&b, "Files from lists: %d paths\n", len(f.fileList))
		}
	}
	b.WriteString("--- File filter rules ---\n")
	f.dumpRules(&b, func(r *rule) bool { return r.files })
	b.WriteString("--- Directory filter rules ---\n")
	f.dumpRules(&b, func(r *rule) bool { return r.dirs })
	b.WriteString("--- end filters ---\n")
	return b.String()
}

// dumpRules writes the rules that which selects, one a line.
func (f *Filter) dumpRules(b *strings.Builder, which func(*rule) bool) {
	if f == nil {
		return
	}
	for i := range f.rules {
		r := &f.rules[i]
		if !which(r) {
			continue
		}
		if r.include {
			b.WriteString("+ ")
		} else {
			b.WriteString("- ")
		}
		b.WriteString(r.re.String())
		b.WriteByte('\n')
	}
}
