package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listDir returns the names under dir, recursively, relative to it.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, rel)
		}
		return nil
	})
	return names
}

// TestCorruptBlobFailsEveryDownload flips one byte of a 3 MB file's blob
// on the server's disk. copy, copyto, sync and move to a local directory
// must each exit 7 (fatal: retries won't help) and leave nothing at the
// destination, and move must keep its source; cat, too, exits 7.
func TestCorruptBlobFailsEveryDownload(t *testing.T) {
	srv, remote := megaCLI(t)
	const size = 3_000_000
	src := t.TempDir()
	data := bytes.Repeat([]byte("integrity "), size/10)
	if err := os.WriteFile(filepath.Join(src, "victim.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, t.Context(), "", append([]string{"copy", src, ":mega:dir"}, remote...)...); code != 0 {
		t.Fatalf("upload: exit %d\n%s", code, errOut)
	}
	srv.FlipByte(t, size, 1_000_000)

	for _, tc := range []struct {
		name string
		args func(dst string) []string
	}{
		{"copy", func(dst string) []string { return []string{"copy", ":mega:dir", dst} }},
		{"copyto", func(dst string) []string {
			return []string{"copyto", ":mega:dir/victim.bin", filepath.Join(dst, "victim.bin")}
		}},
		{"sync", func(dst string) []string { return []string{"sync", ":mega:dir", dst} }},
		{"move", func(dst string) []string { return []string{"move", ":mega:dir", dst} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := t.TempDir()
			code, _, errOut := runCLI(t, t.Context(), "", append(tc.args(dst), remote...)...)
			if code != exitFatal {
				t.Errorf("%s of a corrupt file: exit %d, want %d\n%s", tc.name, code, exitFatal, errOut)
			}
			if !strings.Contains(errOut, "MAC") {
				t.Errorf("%s: the error does not mention the MAC:\n%s", tc.name, errOut)
			}
			if names := listDir(t, dst); len(names) != 0 {
				t.Errorf("%s left %q at the destination", tc.name, names)
			}
		})
	}
	// move kept the source.
	code, out, errOut := runCLI(t, t.Context(), "", append([]string{"lsf", ":mega:dir"}, remote...)...)
	if code != 0 || out != "victim.bin\n" {
		t.Errorf("after the failed move, lsf = exit %d %q %s", code, out, errOut)
	}
	code, _, errOut = runCLI(t, t.Context(), "", append([]string{"cat", ":mega:dir/victim.bin"}, remote...)...)
	if code != exitFatal {
		t.Errorf("cat of a corrupt file: exit %d, want %d\n%s", code, exitFatal, errOut)
	}
}

// TestDuplicateNamesDownloadIntact has another client make two files
// named same.txt in one folder, 30 bytes with a newer mtime first, then
// 10 bytes with an older one (so "first listed", "newest created" and
// "newest mtime" disagree). copy and copyto must each write one intact
// file, never the bytes of one with the size of the other; copy takes
// the one dedupe's "newest" would keep.
func TestDuplicateNamesDownloadIntact(t *testing.T) {
	srv, remote := megaCLI(t)
	c := otherClient(t, srv)
	dir, err := c.Mkdir(t.Context(), c.Root(), "dup")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	long := strings.Repeat("L", 30)
	short := strings.Repeat("s", 10)
	if _, err := c.Upload(t.Context(), dir, "same.txt", strings.NewReader(long), 30, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Upload(t.Context(), dir, "same.txt", strings.NewReader(short), 10, t0); err != nil {
		t.Fatal(err)
	}

	dst := t.TempDir()
	code, _, errOut := runCLI(t, t.Context(), "", append([]string{"copy", ":mega:dup", dst}, remote...)...)
	if code != 0 {
		t.Fatalf("copy: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "duplicate object") {
		t.Errorf("copy did not warn about the duplicate:\n%s", errOut)
	}
	got, err := os.ReadFile(filepath.Join(dst, "same.txt"))
	if err != nil || string(got) != long {
		t.Errorf("copy wrote %q (%v), want the newer file %q", got, err, long)
	}

	// copyto by path: the backend's choice, but whole.
	dst2 := filepath.Join(t.TempDir(), "one.txt")
	code, _, errOut = runCLI(t, t.Context(), "", append([]string{"copyto", ":mega:dup/same.txt", dst2}, remote...)...)
	if code != 0 {
		t.Fatalf("copyto: exit %d\n%s", code, errOut)
	}
	if got, err := os.ReadFile(dst2); err != nil || (string(got) != long && string(got) != short) {
		t.Errorf("copyto wrote %q (%v), want one of the two files whole", got, err)
	}
}

// TestCorruptBlobFailsRcCopy: the remote-control daemon's sync/copy of a
// file whose blob was corrupted fails, and leaves nothing at the
// destination.
func TestCorruptBlobFailsRcCopy(t *testing.T) {
	srv, remote := megaCLI(t)
	const size = 2_500_000
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "victim.bin"), bytes.Repeat([]byte("rc-check "), size/9+1)[:size], 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, t.Context(), "", append([]string{"copy", src, ":mega:dir"}, remote...)...); code != 0 {
		t.Fatalf("upload: exit %d\n%s", code, errOut)
	}
	srv.FlipByte(t, size, 700_000)

	addr := startRcd(t, remote...)

	dst := t.TempDir()
	code, stdout, errOut := runCLI(t, t.Context(), "", "rc", "--rc-addr", addr, "sync/copy", "srcFs=:mega:dir", "dstFs="+dst)
	if code == 0 {
		t.Errorf("rc sync/copy of a corrupt file succeeded: %s", stdout)
	}
	if !strings.Contains(errOut, "MAC") {
		t.Errorf("rc sync/copy error does not mention the MAC: %s", errOut)
	}
	if names := listDir(t, dst); len(names) != 0 {
		t.Errorf("rc sync/copy left %q at the destination", names)
	}
}
