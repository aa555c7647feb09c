package layering

import (
	"os/exec"
	"strings"
	"testing"
)

// deps lists the packages pkg depends on, transitively.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestLayering(t *testing.T) {
	tests := []struct {
		pkg string
		// allowed reports whether pkg may depend on dep.
		allowed func(dep string) bool
		rule    string
	}{
		{
			pkg: "ferry/mega/megacrypto",
			allowed: func(d string) bool {
				return d == "ferry/mega/megacrypto" || strings.HasPrefix(d, "golang.org/x/crypto") || strings.HasPrefix(d, "golang.org/x/sys")
			},
			rule: "megacrypto imports only the standard library and x/crypto",
		},
		{
			pkg:     "ferry/mega/megaapi",
			allowed: func(d string) bool { return d == "ferry/mega/megaapi" },
			rule:    "megaapi imports only the standard library",
		},
		{
			pkg:     "ferry/megaserver",
			allowed: func(d string) bool { return d != "ferry/mega" && !strings.HasPrefix(d, "ferry/internal/cli") },
			rule:    "megaserver never imports the client (ferry/mega)",
		},
		{
			pkg: "ferry/mega",
			allowed: func(d string) bool {
				return !strings.HasPrefix(d, "ferry/megaserver") && !strings.HasPrefix(d, "ferry/internal/cli")
			},
			rule: "the client never imports the server or the CLI",
		},
	}
	for _, tc := range tests {
		t.Run(tc.pkg, func(t *testing.T) {
			for _, d := range deps(t, tc.pkg) {
				if !tc.allowed(d) {
					t.Errorf("%s depends on %s: %s", tc.pkg, d, tc.rule)
				}
			}
		})
	}
}
