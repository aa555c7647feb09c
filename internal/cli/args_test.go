package cli

import (
	"slices"
	"strings"
	"testing"
)

// TestCommandFirst: the command words move in front of the flags before
// them; a word naming no command of a group (ferry, serve, config) is an
// unknown command and is all that is kept, while the arguments of a
// command with subcommands of its own (backup SRC REMOTE) stay whole.
func TestCommandFirst(t *testing.T) {
	root := newRootCommand(&globals{})
	for _, tc := range []struct{ in, want string }{
		{"-P copy src dst", "copy -P src dst"},
		{"--transfers 2 -v copy src dst", "copy --transfers 2 -v src dst"},
		{"copy src dst -P", "copy src dst -P"},
		{"-v backup src m:repo", "backup -v src m:repo"},
		{"backup src m:repo --json", "backup src m:repo --json"},
		{"-v backup snapshots m:repo", "backup snapshots -v m:repo"},
		{"-P src dst", "src"},
		{"--dry-run serve -v webdav", "serve webdav"},
		{"config create -v m mega", "config create -v m mega"},
		{"-v config bogus --x", "config bogus"},
		{"-- copy", "-- copy"},
		{"-v help flags", "help flags -v"},
		{"completion bash", "completion bash"},
	} {
		got := strings.Join(commandFirst(root, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("commandFirst(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := commandFirst(root, nil); !slices.Equal(got, nil) {
		t.Errorf("commandFirst(nil) = %q", got)
	}
}
