package config

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseError reports a malformed line of a config file.
type ParseError struct {
	File string // path of the file
	Line int    // 1-based; 0 when the error concerns the whole file
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
}

// parse reads plain INI text. name is the file's path for errors.
func parse(name string, data []byte) (*File, error) {
	f := &File{path: name}
	if !utf8.Valid(data) {
		// Find the first bad line for the message.
		for i, l := range bytes.Split(data, []byte("\n")) {
			if !utf8.Valid(l) {
				return nil, &ParseError{name, i + 1, "invalid UTF-8"}
			}
		}
	}
	text := strings.TrimPrefix(string(data), "\ufeff")
	var (
		cur      *Remote
		comments []string
		lines    = strings.Split(text, "\n")
	)
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, raw := range lines {
		n := i + 1
		line := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		switch {
		case line == "":
			continue
		case line[0] == '#' || line[0] == ';':
			comments = append(comments, line)
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				return nil, &ParseError{name, n, `expected "[remote name]"`}
			}
			rn := strings.TrimSpace(line[1 : len(line)-1])
			if err := CheckName(rn); err != nil {
				return nil, &ParseError{name, n, err.Error()}
			}
			if prev := f.Remote(rn); prev != nil {
				return nil, &ParseError{name, n, fmt.Sprintf("remote %q defined twice (first on line %d)", rn, prev.line)}
			}
			cur = &Remote{Name: rn, line: n, comments: comments}
			comments = nil
			f.remotes = append(f.remotes, cur)
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, &ParseError{name, n, `expected "key = value"`}
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if err := checkKey(k); err != nil {
				return nil, &ParseError{name, n, err.Error()}
			}
			if cur == nil {
				return nil, &ParseError{name, n, fmt.Sprintf("option %q outside a [remote] section", k)}
			}
			if e := cur.entry(k); e != nil {
				return nil, &ParseError{name, n, fmt.Sprintf("option %q repeated in [%s] (first on line %d)", k, cur.Name, e.line)}
			}
			if strings.HasPrefix(v, `"`) {
				uq, err := strconv.Unquote(v)
				if err != nil {
					return nil, &ParseError{name, n, fmt.Sprintf("option %q: bad quoted value", k)}
				}
				v = uq
			}
			cur.entries = append(cur.entries, entry{key: k, value: v, line: n, comments: comments})
			comments = nil
		}
	}
	f.trailer = comments
	return f, nil
}

// checkKey accepts option names: letters, digits, '_' and '-'.
func checkKey(k string) error {
	if k == "" {
		return fmt.Errorf(`expected "key = value", got an empty key`)
	}
	for _, r := range k {
		if !(r == '_' || r == '-' || r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return fmt.Errorf("invalid option name %q (letters, digits, '_' and '-' only)", k)
		}
	}
	return nil
}

// CheckName reports whether name is a valid remote name: letters, digits,
// '_', '.', '+', '@', '-' and spaces, not starting with '-' or a space, not
// ending with a space, and not "." or "..". The rules are rclone's.
func CheckName(name string) error {
	if name == "" {
		return fmt.Errorf("empty remote name")
	}
	if name == "." || name == ".." {
		return fmt.Errorf("invalid remote name %q", name)
	}
	for i, r := range name {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), strings.ContainsRune("_.+@", r):
		case r == '-' || r == ' ':
			if i == 0 {
				return fmt.Errorf("invalid remote name %q: it may not start with %q", name, r)
			}
		default:
			return fmt.Errorf("invalid remote name %q: character %q not allowed (letters, digits, spaces and _ . + @ - only)", name, r)
		}
	}
	if strings.HasSuffix(name, " ") {
		return fmt.Errorf("invalid remote name %q: it may not end with a space", name)
	}
	return nil
}

// format writes f as plain INI text.
func (f *File) format() []byte {
	var b bytes.Buffer
	for i, r := range f.remotes {
		if i > 0 {
			b.WriteByte('\n')
		}
		for _, c := range r.comments {
			b.WriteString(c + "\n")
		}
		b.WriteString("[" + r.Name + "]\n")
		for _, e := range r.entries {
			for _, c := range e.comments {
				b.WriteString(c + "\n")
			}
			b.WriteString(e.key + " = " + quoteValue(e.value) + "\n")
		}
	}
	if len(f.trailer) > 0 {
		if len(f.remotes) > 0 {
			b.WriteByte('\n')
		}
		for _, c := range f.trailer {
			b.WriteString(c + "\n")
		}
	}
	return b.Bytes()
}

// quoteValue quotes v when it would not read back as itself.
func quoteValue(v string) string {
	if v != strings.TrimSpace(v) || strings.HasPrefix(v, `"`) || !utf8.ValidString(v) {
		return strconv.Quote(v)
	}
	for _, r := range v {
		if unicode.IsControl(r) || r == '\ufeff' || r == utf8.RuneError {
			return strconv.Quote(v)
		}
	}
	return v
}
