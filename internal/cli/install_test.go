package cli

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMakeInstallAndQuickstart (issue 13, item 1) runs the README's
// first steps as a new user would: "make install" puts a working ferry
// into $GOBIN, and "make quickstart" prints a line before it starts
// compiling, so the first minute is not silent, then the round trip.
func TestMakeInstallAndQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ferry twice")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	gobin := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "make", "-s", "-C", repo, "install")
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "MAKEFLAGS=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "==> building and installing ferry") || !strings.Contains(string(out), "==> installed "+gobin+"/ferry") {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	if v, err := exec.Command(filepath.Join(gobin, "ferry"), "version").Output(); err != nil || !strings.HasPrefix(string(v), "ferry ") {
		t.Fatalf("installed ferry version: %v %q", err, v)
	}

	cmd = exec.CommandContext(t.Context(), "make", "-s", "-C", repo, "quickstart")
	cmd.Env = append(os.Environ(), "MAKEFLAGS=", "XDG_CACHE_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var lines []string
	var first time.Duration
	for sc.Scan() {
		if lines = append(lines, sc.Text()); len(lines) == 1 {
			first = time.Since(start)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("make quickstart: %v\n%s", err, strings.Join(lines, "\n"))
	}
	all := strings.Join(lines, "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "==> compiling ferry, then running ferry quickstart") || !strings.Contains(all, "8 files identical, mtimes preserved") {
		t.Errorf("make quickstart:\n%s", all)
	}
	if first > 5*time.Second {
		t.Errorf("the first line came after %v", first)
	}
}
