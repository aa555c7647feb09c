package cli

import (
	"path/filepath"
	"testing"
)

func TestMovetoCommand(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"old.txt": "data", "other": "o"})
	if code, out, errOut := runCLI(t, t.Context(), "", "moveto", filepath.Join(dir, "old.txt"), filepath.Join(dir, "sub", "new.txt")); code != 0 {
		t.Fatalf("moveto: exit %d\n%s%s", code, out, errOut)
	}
	sameFiles(t, "after moveto", readFiles(t, dir), map[string]string{"sub/new.txt": "data", "other": "o"})
	if code, _, errOut := runCLI(t, t.Context(), "", "moveto", filepath.Join(dir, "missing"), filepath.Join(dir, "x")); code != exitNotFound {
		t.Errorf("moveto of a missing file: exit %d, want %d\n%s", code, exitNotFound, errOut)
	}
}
