package filter

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// anyPath matches every path.
var anyPath = regexp.MustCompile(`^.*$`)

// globRegexp compiles a glob (see the package doc) to a regular expression
// matched against a whole path; directory paths carry a trailing "/".
// With ignoreCase it matches regardless of case.
func globRegexp(glob string, ignoreCase bool) (*regexp.Regexp, error) {
	var b strings.Builder
	if ignoreCase {
		b.WriteString("(?i)")
	}
	if rest, ok := strings.CutPrefix(glob, "/"); ok {
		b.WriteString("^")
		glob = rest
	} else {
		b.WriteString("(?:^|/)")
	}
	if err := globBody(&b, glob); err != nil {
		return nil, err
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("glob %q: %w", glob, err)
	}
	return re, nil
}

// globBody writes the regular expression for glob to b. Inside {...} a
// "," separates alternatives.
func globBody(b *strings.Builder, glob string) error {
	depth := 0 // open braces
	for i := 0; i < len(glob); i++ {
		c := glob[i]
		switch c {
		case '\\':
			if i+1 == len(glob) {
				return errors.New(`glob ends in "\"`)
			}
			i++
			if c := glob[i]; c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
				// A regexp escape, as rclone takes it: \d, \s, \w, \pL.
				b.WriteByte('\\')
				b.WriteByte(c)
			} else {
				b.WriteString(regexp.QuoteMeta(glob[i : i+1]))
			}
		case '*':
			if i+1 < len(glob) && glob[i+1] == '*' {
				b.WriteString(".*")
				i++
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '[':
			end := classEnd(glob, i)
			if end < 0 {
				return fmt.Errorf("unclosed [ in glob %q", glob)
			}
			class := glob[i+1 : end]
			b.WriteByte('[')
			if class != "" && (class[0] == '!' || class[0] == '^') {
				b.WriteByte('^')
				class = class[1:]
			}
			b.WriteString(class)
			b.WriteByte(']')
			i = end
		case '{':
			if strings.HasPrefix(glob[i:], "{{") {
				// {{regexp}}: a regular expression, as it is.
				end := strings.Index(glob[i+2:], "}}")
				if end < 0 {
					return fmt.Errorf("unclosed {{ in glob %q", glob)
				}
				b.WriteString("(?:" + glob[i+2:i+2+end] + ")")
				i += 2 + end + 1
				continue
			}
			depth++
			b.WriteString("(?:")
		case ',':
			if depth > 0 {
				b.WriteByte('|')
			} else {
				b.WriteString(",")
			}
		case '}':
			if depth == 0 {
				return fmt.Errorf("unmatched } in glob %q", glob)
			}
			depth--
			b.WriteByte(')')
		default:
			// Multi-byte UTF-8 sequences pass through byte by byte;
			// QuoteMeta leaves non-ASCII bytes alone.
			b.WriteString(regexp.QuoteMeta(glob[i : i+1]))
		}
	}
	if depth != 0 {
		return fmt.Errorf("unclosed { in glob %q", glob)
	}
	return nil
}

// classEnd returns the index of the "]" closing the class opened at
// glob[start], or -1. A "]" right after "[" or "[!" is literal.
func classEnd(glob string, start int) int {
	i := start + 1
	if i < len(glob) && (glob[i] == '!' || glob[i] == '^') {
		i++
	}
	if i < len(glob) && glob[i] == ']' {
		i++
	}
	for ; i < len(glob); i++ {
		switch glob[i] {
		case '\\':
			i++
		case '[':
			// A named class inside, [:alpha:].
			if strings.HasPrefix(glob[i:], "[:") {
				if end := strings.Index(glob[i+2:], ":]"); end >= 0 {
					i += 2 + end + 1
				}
			}
		case ']':
			return i
		}
	}
	return -1
}

// dirsUnknown reports whether the directories that may hold a match of
// glob cannot be told from it: it holds a {{regexp}}, or alternatives
// that hold "/" or "**" or nest.
func dirsUnknown(glob string) bool {
	if strings.Contains(glob, "{{") {
		return true
	}
	depth := 0
	for i := 0; i < len(glob); i++ {
		switch glob[i] {
		case '\\':
			i++
		case '{':
			depth++
			if depth > 1 {
				return true
			}
		case '}':
			depth = max(depth-1, 0)
		case '/':
			if depth > 0 {
				return true
			}
		case '*':
			if depth > 0 && i+1 < len(glob) && glob[i+1] == '*' {
				return true
			}
		}
	}
	return false
}
