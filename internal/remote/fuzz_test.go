package remote

import (
	"errors"
	"strings"
	"testing"

	"ferry/internal/config"
)

// FuzzParse checks Parse's invariants: it never panics, errors wrap
// ErrSyntax, a named remote is a valid config name and the argument is
// remote + ":" + path, and a local path is the argument itself.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"remote:path", "remote:", "a/b:c", ":mega,user=x:p", ":foo", "a*b:c", "", "plain"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		remote, path, err := Parse(arg)
		switch {
		case err != nil:
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q): %v does not wrap ErrSyntax", arg, err)
			}
		case remote == "":
			if path != arg {
				t.Fatalf("Parse(%q): local path %q", arg, path)
			}
		case strings.HasPrefix(remote, ":"):
			if remote+":"+path != arg {
				t.Fatalf("Parse(%q) = %q, %q", arg, remote, path)
			}
		default:
			if config.CheckName(remote) != nil || remote+":"+path != arg {
				t.Fatalf("Parse(%q) = %q, %q", arg, remote, path)
			}
		}
	})
}
