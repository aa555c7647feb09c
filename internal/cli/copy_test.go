package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// xferTime is the mtime of files the transfer command tests write.
var xferTime = time.Date(2024, 5, 17, 12, 34, 56, 0, time.UTC)

// writeFiles creates files (slash paths relative to dir) with xferTime.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, xferTime, xferTime); err != nil {
			t.Fatal(err)
		}
	}
}

// readFiles returns the files under dir as slash path -> content.
func readFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

// sameFiles fails unless got equals want.
func sameFiles(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d files %v, want %d %v", what, len(got), got, len(want), want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q = %q, want %q", what, k, got[k], v)
		}
	}
}

func TestCopyCommand(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "new")
	files := map[string]string{"a.txt": "alpha", "dir/b.txt": "bravo", "skip.tmp": "tmp"}
	writeFiles(t, src, files)

	code, out, errOut := runCLI(t, t.Context(), "", "copy", "--dry-run", src, dst)
	if code != 0 || !strings.Contains(errOut, "Skipped copy as --dry-run is set") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	if got := readFiles(t, dst); len(got) != 0 {
		t.Fatalf("dry run copied %v", got)
	}

	code, out, errOut = runCLI(t, t.Context(), "", "copy", "-v", "--exclude", "*.tmp", src, dst)
	if code != 0 {
		t.Fatalf("copy: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "Transferred:  2 / 2, 100%") {
		t.Errorf("summary lacks the transfer count:\n%s", errOut)
	}
	if out != "" {
		t.Errorf("copy wrote to stdout: %q", out)
	}
	sameFiles(t, "after copy", readFiles(t, dst), map[string]string{"a.txt": "alpha", "dir/b.txt": "bravo"})
	st, err := os.Stat(filepath.Join(dst, "dir", "b.txt"))
	if err != nil || !st.ModTime().Equal(xferTime) {
		t.Errorf("mtime %v (%v), want %v", st.ModTime(), err, xferTime)
	}

	// Again: nothing to do; --json summary on stdout; exit 9 with
	// --error-on-no-transfer.
	code, out, errOut = runCLI(t, t.Context(), "", "copy", "--json", "--exclude", "*.tmp", "--error-on-no-transfer", src, dst)
	if code != exitNoTransfer {
		t.Errorf("copy with nothing to do and --error-on-no-transfer: exit %d, want %d\n%s", code, exitNoTransfer, errOut)
	}
	var stats struct {
		Transfers, Checks int64
	}
	if err := json.Unmarshal([]byte(out), &stats); err != nil || stats.Transfers != 0 || stats.Checks != 2 {
		t.Errorf("json summary %q: %+v %v", out, stats, err)
	}

	// Errors and exit codes.
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"copy", filepath.Join(src, "missing"), dst}, exitDirNotFound},
		{[]string{"copy", src}, exitUsage},
		{[]string{"copy", "--checksum", "--size-only", src, dst}, exitUsage},
		{[]string{"copy", "--bwlimit", "fast", src, dst}, exitUsage},
		{[]string{"copy", "--filter-from", filepath.Join(src, "nope"), src, dst}, exitUsage},
		{[]string{"copy", "--transfers", "0", src, dst}, exitUsage},
		{[]string{"copy", src, filepath.Join(src, "dir")}, exitUsage},
	} {
		if code, _, errOut := runCLI(t, t.Context(), "", tc.args...); code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.code, errOut)
		}
	}
}

func TestCopyProgressAndBwlimit(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	writeFiles(t, src, map[string]string{"a": strings.Repeat("x", 4096), "b": "y"})
	// stderr is not a terminal here: -P draws nothing, the summary stays.
	code, _, errOut := runCLI(t, t.Context(), "", "copy", "-P", "--bwlimit", "10M", "--transfers", "1", "--checkers", "1", src, dst)
	if code != 0 || strings.Contains(errOut, "\x1b[") || !strings.Contains(errOut, "Elapsed time:") {
		t.Errorf("copy -P: exit %d\n%q", code, errOut)
	}
	sameFiles(t, "after copy -P", readFiles(t, dst), map[string]string{"a": strings.Repeat("x", 4096), "b": "y"})
}
