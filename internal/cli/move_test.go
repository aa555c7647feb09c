package cli

import (
	"path/filepath"
	"testing"
)

func TestMoveCommand(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	writeFiles(t, src, map[string]string{"a.txt": "alpha", "dir/b.txt": "bravo", "same": "s"})
	writeFiles(t, dst, map[string]string{"same": "s"})
	if code, out, errOut := runCLI(t, t.Context(), "", "move", src, filepath.Join(dst, "")); code != 0 {
		t.Fatalf("move: exit %d\n%s%s", code, out, errOut)
	}
	sameFiles(t, "destination", readFiles(t, dst), map[string]string{"a.txt": "alpha", "dir/b.txt": "bravo", "same": "s"})
	sameFiles(t, "source", readFiles(t, src), map[string]string{})
}
