package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"ferry/internal/config"
)

// TestRcloneCommands (issue 13, item 8), on the built binary:
// listremotes (--long), obscure (an argument or stdin), config paths,
// help flags, help backends, help backend NAME, version --check without
// network, shell completion of remote names and of paths inside a
// remote, and gendocs writing man pages.
func TestRcloneCommands(t *testing.T) {
	env := binEnv(t)
	conf := strings.TrimPrefix(env[0], "FERRY_CONFIG=")
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"photos/2024/a.jpg": "a", "photos/2025/b.jpg": "b", "photos/notes.txt": "n", "other.txt": "o"})
	run := func(args ...string) string {
		t.Helper()
		code, out, errOut := runBin(t, env, args...)
		if code != 0 {
			t.Fatalf("ferry %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	run("config", "create", "disk", "local", "--no-check", "description=my photos")
	run("config", "create", "data", "memory", "--no-check")
	run("config", "update", "disk", "root="+root)

	if out := run("listremotes"); out != "disk:\ndata:\n" {
		t.Errorf("listremotes: %q", out)
	}
	if out := run("listremotes", "--long"); !regexp.MustCompile(`^disk: +local +my photos\ndata: +memory\n$`).MatchString(out) {
		t.Errorf("listremotes --long: %q", out)
	}

	ob := strings.TrimSpace(run("obscure", "hunter2 hunter2"))
	if pw, err := config.Reveal(ob); err != nil || pw != "hunter2 hunter2" {
		t.Errorf("obscure: %q reveals %q, %v", ob, pw, err)
	}
	cmd := []string{"obscure", "-"}
	code, out, _ := runBinStdin(t, env, "from stdin\n", cmd...)
	if pw, err := config.Reveal(strings.TrimSpace(out)); code != 0 || err != nil || pw != "from stdin" {
		t.Errorf("obscure -: exit %d, %q reveals %q, %v", code, out, pw, err)
	}

	if out := run("config", "paths"); !strings.Contains(out, "Config file: "+conf+"\n") || !strings.Contains(out, "Cache dir:   ") || !strings.Contains(out, "Temp dir:    ") {
		t.Errorf("config paths: %q", out)
	}
	if out := run("help", "flags"); !strings.Contains(out, "--log-file") || !strings.Contains(out, "--mega-user") || strings.Contains(out, "--transfers") {
		t.Errorf("help flags:\n%s", out)
	}
	if out := run("help", "flags", "^log"); !strings.Contains(out, "--log-level") || strings.Contains(out, "--mega-user") {
		t.Errorf("help flags ^log:\n%s", out)
	}
	if out := run("help", "backends"); !regexp.MustCompile(`(?m)^  mega +MEGA$`).MatchString(out) || !strings.Contains(out, "mediafire") {
		t.Errorf("help backends:\n%s", out)
	}
	if out := run("help", "backend", "mega"); !strings.Contains(out, "flag --mega-pass, env FERRY_MEGA_PASS; required; secret") {
		t.Errorf("help backend mega:\n%s", out)
	}
	if out := run("help", "copy"); !strings.Contains(out, "ferry copy source:path dest:path") {
		t.Errorf("help copy:\n%s", out)
	}
	if out := run("version", "--check"); !strings.Contains(out, "yours:  ") || !strings.Contains(out, "latest: cannot check") {
		t.Errorf("version --check: %q", out)
	}

	// Completion, as the shell scripts of "ferry completion bash" ask
	// for it: one candidate a line, then ":" and the directive.
	complete := func(args ...string) []string {
		t.Helper()
		out := run(append([]string{"__complete"}, args...)...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		return lines[:len(lines)-1]
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"copy", "d"}, "disk: data:"},
		{[]string{"copy", "di"}, "disk:"},
		{[]string{"copy", "./x", "da"}, "data:"},
		{[]string{"copy", "disk:"}, "disk:other.txt disk:photos/"},
		{[]string{"copy", "disk:pho"}, "disk:photos/"},
		{[]string{"lsf", "disk:photos/"}, "disk:photos/2024/ disk:photos/2025/ disk:photos/notes.txt"},
		{[]string{"sync", "disk:photos/20"}, "disk:photos/2024/ disk:photos/2025/"},
		{[]string{"config", "show", ""}, "disk data"},
	} {
		if got := strings.Join(complete(tc.args...), " "); got != tc.want {
			t.Errorf("complete %q: %q, want %q", tc.args, got, tc.want)
		}
	}
	if out := run("completion", "bash"); !strings.Contains(out, "__ferry_") {
		t.Errorf("completion bash: %.200s", out)
	}

	man := filepath.Join(t.TempDir(), "man")
	run("gendocs", man)
	for _, page := range []string{"ferry.1", "ferry-copy.1", "ferry-config-create.1", "ferry-listremotes.1"} {
		b, err := os.ReadFile(filepath.Join(man, page))
		if err != nil || !strings.Contains(string(b), ".TH \"FERRY\" \"1\"") {
			t.Errorf("%s: %v\n%.300s", page, err, b)
		}
	}
}

// runBinStdin is runBin with stdin.
func runBinStdin(t *testing.T, env []string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	return runBinIn(t, env, strings.NewReader(stdin), args...)
}
