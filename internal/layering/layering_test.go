package layering

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// pkgInfo is what `go list -json` says about a package (tests excluded).
type pkgInfo struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Deps       []string // transitive, standard library included
}

// list runs `go list -json` on the patterns.
func list(t *testing.T, patterns ...string) []pkgInfo {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-json"}, patterns...)...).Output()
	if err != nil {
		t.Fatalf("go list %v: %v", patterns, err)
	}
	var pkgs []pkgInfo
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkgInfo
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// ferryDeps returns the ferry packages among p's dependencies.
func ferryDeps(p pkgInfo) []string {
	var out []string
	for _, d := range p.Deps {
		if d == "ferry" || strings.HasPrefix(d, "ferry/") {
			out = append(out, d)
		}
	}
	return out
}

// external reports whether pkg is outside ferry and the standard library
// (its first element has a dot, like a module path).
func external(pkg string) bool {
	first, _, _ := strings.Cut(pkg, "/")
	return strings.Contains(first, ".")
}

// protocol reports whether pkg is a protocol package: a service's client,
// crypto, wire types or server (everything MEGA or MediaFire).
func protocol(pkg string) bool {
	for _, p := range []string{"ferry/mega", "ferry/megaserver", "ferry/mediafire", "ferry/mediafireserver"} {
		if pkg == p || strings.HasPrefix(pkg, p+"/") {
			return true
		}
	}
	return false
}

// concreteBackend reports whether pkg implements the contract for one
// storage system (internal/backend/<name>, not the contract or its suite).
func concreteBackend(pkg string) bool {
	rest, ok := strings.CutPrefix(pkg, "ferry/internal/backend/")
	return ok && rest != "backendtest" && !strings.Contains(rest, "/")
}

// rule is one import rule: every package matching applies is checked
// with allowed for each ferry package it depends on, transitively, and
// with external (when set) for each module outside ferry and the
// standard library.
type rule struct {
	name     string
	applies  func(pkg string) bool
	allowed  func(dep string) bool
	external func(dep string) bool
}

// rules are ferry's layering (docs/architecture.md): protocol libraries at the
// bottom, one storage contract in the middle, engines above it, the CLI
// on top. This test is the single place they are written down.
var rules = []rule{
	{
		name:    "megaapi imports only the standard library",
		applies: func(p string) bool { return p == "ferry/mega/megaapi" },
		allowed: func(d string) bool { return d == "ferry/mega/megaapi" },
	},
	{
		name:    "megacrypto imports only the standard library, x/crypto and x/sys/cpu (CPU features for the AES-NI kernels)",
		applies: func(p string) bool { return p == "ferry/mega/megacrypto" },
		allowed: func(d string) bool { return d == "ferry/mega/megacrypto" },
		external: func(d string) bool {
			return strings.HasPrefix(d, "golang.org/x/crypto/") || d == "golang.org/x/sys/cpu"
		},
	},
	{
		name:    "the server never imports the client or anything above the protocol",
		applies: func(p string) bool { return p == "ferry/megaserver" || strings.HasPrefix(p, "ferry/megaserver/") },
		allowed: func(d string) bool {
			return d != "ferry/mega" && (protocol(d) || d == "ferry/internal/retry" || d == "ferry/internal/metadb")
		},
	},
	{
		name: "the MediaFire server never imports the client or anything above the protocol",
		applies: func(p string) bool {
			return p == "ferry/mediafireserver" || strings.HasPrefix(p, "ferry/mediafireserver/")
		},
		allowed: func(d string) bool {
			return d != "ferry/mediafire" && !strings.HasPrefix(d, "ferry/mediafire/") && (protocol(d) || d == "ferry/internal/metadb")
		},
	},
	{
		name:    "the client never imports the server or anything above the protocol",
		applies: func(p string) bool { return p == "ferry/mega" },
		allowed: func(d string) bool {
			return !strings.HasPrefix(d, "ferry/megaserver") && (protocol(d) || d == "ferry/internal/retry")
		},
	},
	{
		name:    "mfapi imports only the standard library",
		applies: func(p string) bool { return p == "ferry/mediafire/mfapi" },
		allowed: func(d string) bool { return d == "ferry/mediafire/mfapi" },
	},
	{
		name:    "the MediaFire client imports only its wire types and retry (never the server or anything above the protocol)",
		applies: func(p string) bool { return p == "ferry/mediafire" },
		allowed: func(d string) bool { return d == "ferry/mediafire/mfapi" || d == "ferry/internal/retry" },
	},
	{
		name:    "the MediaFire backend imports the contract and the client, never the server",
		applies: func(p string) bool { return p == "ferry/internal/backend/mediafire" },
		allowed: func(d string) bool {
			return !strings.HasPrefix(d, "ferry/mediafireserver") && !strings.HasPrefix(d, "ferry/mega")
		},
	},
	{
		name: "retry, netdial, ui and filter import no ferry package",
		applies: func(p string) bool {
			return slices.Contains([]string{"ferry/internal/retry", "ferry/internal/netdial", "ferry/internal/ui", "ferry/internal/filter"}, p)
		},
		allowed: func(string) bool { return false },
	},
	{
		name:    "the storage contract imports no backend and no protocol",
		applies: func(p string) bool { return p == "ferry/internal/backend" },
		allowed: func(string) bool { return false },
	},
	{
		name: "engines import the contract, never a protocol package or a concrete backend",
		applies: func(p string) bool {
			for _, e := range []string{"transfer", "vfs", "mount", "backup", "rc"} {
				if p == "ferry/internal/"+e || strings.HasPrefix(p, "ferry/internal/"+e+"/") {
					return true
				}
			}
			return false
		},
		allowed: func(d string) bool { return !protocol(d) && !concreteBackend(d) },
	},
	{
		name: "the helpers the backends share (internal/backend/internal/...) and the servers' store (metadb) import no ferry package",
		applies: func(p string) bool {
			return strings.HasPrefix(p, "ferry/internal/backend/internal/") || p == "ferry/internal/metadb"
		},
		allowed: func(string) bool { return false },
	},
	{
		name:    "the backup repository and the chunker import only the contract (the repository also the chunker's parameters)",
		applies: func(p string) bool { return p == "ferry/internal/backup/repo" || p == "ferry/internal/backup/chunker" },
		allowed: func(d string) bool { return d == "ferry/internal/backend" || d == "ferry/internal/backup/chunker" },
	},
}

// violations checks pkgs against rules and returns one line per broken
// import, and one per rule that matches none of pkgs.
func violations(rules []rule, pkgs []pkgInfo) []string {
	var out []string
	for _, r := range rules {
		matched := false
		for _, p := range pkgs {
			if !r.applies(p.ImportPath) {
				continue
			}
			matched = true
			for _, d := range ferryDeps(p) {
				if d != p.ImportPath && !r.allowed(d) {
					out = append(out, p.ImportPath+" depends on "+d+": "+r.name)
				}
			}
			if r.external == nil {
				continue
			}
			for _, d := range p.Deps {
				if external(d) && !r.external(d) {
					out = append(out, p.ImportPath+" depends on "+d+": "+r.name)
				}
			}
		}
		if !matched {
			out = append(out, "rule matches no package (renamed?): "+r.name)
		}
	}
	return out
}

// TestLayering checks every ferry package against the rules.
func TestLayering(t *testing.T) {
	for _, v := range violations(rules, list(t, "ferry/...")) {
		t.Error(v)
	}
}

// TestRulesCatch shows that each rule can fail: a package breaking it
// is reported.
func TestRulesCatch(t *testing.T) {
	bad := map[string]pkgInfo{
		rules[0].name:  {ImportPath: "ferry/mega/megaapi", Deps: []string{"ferry/internal/retry"}},
		rules[1].name:  {ImportPath: "ferry/mega/megacrypto", Deps: []string{"golang.org/x/sys/unix"}},
		rules[2].name:  {ImportPath: "ferry/megaserver", Deps: []string{"ferry/mega"}},
		rules[3].name:  {ImportPath: "ferry/mediafireserver", Deps: []string{"ferry/mediafire"}},
		rules[4].name:  {ImportPath: "ferry/mega", Deps: []string{"ferry/megaserver"}},
		rules[5].name:  {ImportPath: "ferry/mediafire/mfapi", Deps: []string{"ferry/internal/retry"}},
		rules[6].name:  {ImportPath: "ferry/mediafire", Deps: []string{"ferry/mediafireserver"}},
		rules[7].name:  {ImportPath: "ferry/internal/backend/mediafire", Deps: []string{"ferry/mediafireserver"}},
		rules[8].name:  {ImportPath: "ferry/internal/retry", Deps: []string{"ferry/mega/megaapi"}},
		rules[9].name:  {ImportPath: "ferry/internal/backend", Deps: []string{"ferry/internal/backend/local"}},
		rules[10].name: {ImportPath: "ferry/internal/transfer", Deps: []string{"ferry/internal/backend/mega"}},
		rules[11].name: {ImportPath: "ferry/internal/backend/internal/keyed", Deps: []string{"ferry/internal/backend"}},
		rules[12].name: {ImportPath: "ferry/internal/backup/repo", Deps: []string{"ferry/internal/transfer"}},
	}
	if len(bad) != len(rules) {
		t.Fatalf("%d rules, %d examples of breaking them", len(rules), len(bad))
	}
	for _, r := range rules {
		v := violations([]rule{r}, []pkgInfo{bad[r.name]})
		if len(v) != 1 {
			t.Errorf("rule %q on %+v: %q, want one violation", r.name, bad[r.name], v)
		}
	}
}

// cliWiring are the files of internal/cli that may import protocol
// packages: they wire the local servers in (serve, quickstart). Every
// other command learns what it needs through the contract and errors.
var cliWiring = []string{"serve.go", "quickstart.go"}

// TestCLIImports checks, file by file, that the CLI imports protocol
// packages only in its server wiring.
func TestCLIImports(t *testing.T) {
	pkgs := list(t, "ferry/internal/cli")
	if len(pkgs) != 1 {
		t.Fatalf("go list ferry/internal/cli: %d packages", len(pkgs))
	}
	p := pkgs[0]
	for _, f := range p.GoFiles {
		if slices.Contains(cliWiring, f) {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, f), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, is := range af.Imports {
			if imp, _ := strconv.Unquote(is.Path.Value); protocol(imp) {
				t.Errorf("internal/cli/%s imports %s: only %v wire protocol packages in", f, imp, cliWiring)
			}
		}
	}
}
