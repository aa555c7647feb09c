package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestCopytoCommand(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	writeFiles(t, src, map[string]string{"a.txt": "alpha", "tree/x": "x"})
	if code, out, errOut := runCLI(t, t.Context(), "", "copyto", filepath.Join(src, "a.txt"), filepath.Join(dst, "renamed.txt")); code != 0 {
		t.Fatalf("copyto: exit %d\n%s%s", code, out, errOut)
	}
	// A directory source behaves like copy.
	if code, out, errOut := runCLI(t, t.Context(), "", "copyto", filepath.Join(src, "tree"), filepath.Join(dst, "t2")); code != 0 {
		t.Fatalf("copyto dir: exit %d\n%s%s", code, out, errOut)
	}
	sameFiles(t, "after copyto", readFiles(t, dst), map[string]string{"renamed.txt": "alpha", "t2/x": "x"})
	code, _, errOut := runCLI(t, t.Context(), "", "copyto", "-v", filepath.Join(src, "a.txt"), filepath.Join(dst, "renamed.txt"))
	if code != 0 || !strings.Contains(errOut, "Transferred:  0 / 0, -") || !strings.Contains(errOut, "Checks:       1 / 1") {
		t.Errorf("copyto again: exit %d\n%s", code, errOut)
	}
	sameFiles(t, "source", readFiles(t, src), map[string]string{"a.txt": "alpha", "tree/x": "x"})
}
