package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCheckCommand(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	writeFiles(t, src, map[string]string{"same": "s", "differ": "aaa", "only-src": "x", "d/deep": "d"})
	writeFiles(t, dst, map[string]string{"same": "s", "differ": "bbbb", "only-dst": "y", "d/deep": "d"})

	code, out, errOut := runCLI(t, t.Context(), "", "check", src, dst)
	if code != 1 {
		t.Errorf("check with differences: exit %d, want 1", code)
	}
	for _, want := range []string{
		"ERROR : only-src: file not in " + "",
		"ERROR : only-dst: file not in ",
		"ERROR : differ: sizes differ",
		"3 differences found",
		"2 matching files",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("check output lacks %q:\n%s", want, errOut)
		}
	}
	if out != "" {
		t.Errorf("check wrote to stdout: %q", out)
	}

	code, out, _ = runCLI(t, t.Context(), "", "check", "--one-way", "--json", src, dst)
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("check --json output %q: %v", out, err)
	}
	if code != 1 || rep.Differences != 2 || rep.MissingOnSrc != 0 || len(rep.MissingOnDstPaths) != 1 || rep.MissingOnDstPaths[0] != "only-src" || rep.Matches != 2 {
		t.Errorf("check --one-way --json: exit %d, %+v", code, rep)
	}

	code, _, errOut = runCLI(t, t.Context(), "", "check", "--exclude", "only-*", "--exclude", "differ", src, dst)
	if code != 0 || !strings.Contains(errOut, "2 matching files") {
		t.Errorf("check of matching trees: exit %d\n%s", code, errOut)
	}
	// Both plain local sides: --checksum falls back to sizes with a warning.
	code, _, errOut = runCLI(t, t.Context(), "", "check", "--checksum", "--exclude", "only-*", src, dst)
	if code != 1 || !strings.Contains(errOut, "differ: sizes differ") {
		t.Errorf("check --checksum: exit %d\n%s", code, errOut)
	}
}
