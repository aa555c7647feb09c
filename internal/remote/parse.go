package remote

import (
	"errors"
	"fmt"
	"strings"

	"ferry/internal/config"
)

// ErrSyntax is wrapped by Parse's errors: the argument is not a valid
// "remote:path".
var ErrSyntax = errors.New("bad remote:path")

// Parse splits a command-line argument into a remote name and a path, with
// rclone's rules:
//
//   - "name:path" is path on remote name; "name:" is its root.
//   - An argument with no colon, or with a slash before its first colon
//     ("./a:b", "/tmp/x:y"), is a local path: remote is "".
//   - ":type:path" and ":type,key=value,...:path" are connection strings
//     (a remote not in the config file); remote is returned with its
//     leading colon, e.g. ":mega,user=a@b.c".
//
// A remote name with characters a config section may not have ("a*b:x") or
// a colon with nothing before it (":x") is an error naming arg.
func Parse(arg string) (remote, path string, err error) {
	if arg == "" {
		return "", "", fmt.Errorf("empty path: %w", ErrSyntax)
	}
	if strings.HasPrefix(arg, ":") {
		return parseConnection(arg)
	}
	i := strings.IndexByte(arg, ':')
	if i < 0 || strings.ContainsAny(arg[:i], `/\`) {
		return "", arg, nil
	}
	name := arg[:i]
	if err := config.CheckName(name); err != nil {
		return "", "", fmt.Errorf("%q: %w: %v", arg, ErrSyntax, err)
	}
	return name, arg[i+1:], nil
}

// parseConnection parses ":type[,key=value...]:path". Values may not
// contain ',' or ':'.
func parseConnection(arg string) (remote, path string, err error) {
	spec, path, ok := strings.Cut(arg[1:], ":")
	if !ok {
		return "", "", fmt.Errorf("%q: %w: want \"remote:path\" or \":type:path\"", redact(arg), ErrSyntax)
	}
	typ, params, _ := strings.Cut(spec, ",")
	if typ == "" || strings.ContainsFunc(typ, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }) {
		return "", "", fmt.Errorf("%q: %w: want \"remote:path\" or \":type:path\" with a backend type", redact(arg), ErrSyntax)
	}
	if params != "" {
		for _, kv := range strings.Split(params, ",") {
			if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
				return "", "", fmt.Errorf("%q: %w: want key=value after %q", redact(arg), ErrSyntax, ":"+typ+",")
			}
		}
	}
	return ":" + spec, path, nil
}

// connection splits a connection-string remote ":type,k=v" into its type
// and options.
func connection(remote string) (typ string, opts map[string]string) {
	typ, params, _ := strings.Cut(strings.TrimPrefix(remote, ":"), ",")
	opts = map[string]string{}
	if params != "" {
		for _, kv := range strings.Split(params, ",") {
			k, v, _ := strings.Cut(kv, "=")
			opts[k] = v
		}
	}
	return typ, opts
}
