package cli

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/megaserver/megaservertest"
)

func TestSyncCommand(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	writeFiles(t, src, map[string]string{"a.txt": "alpha", "dir/b.txt": "bravo"})
	writeFiles(t, dst, map[string]string{"extra.txt": "x", "old/deep/y": "y", "keep.log": "log"})
	rules := filepath.Join(t.TempDir(), "rules")
	if err := os.WriteFile(rules, []byte("# logs stay\n- *.log\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	code, _, errOut := runCLI(t, t.Context(), "", "sync", "-n", "--filter-from", rules, src, dst)
	if code != 0 || !strings.Contains(errOut, "extra.txt: Skipped delete as --dry-run is set") {
		t.Fatalf("sync -n: exit %d\n%s", code, errOut)
	}
	sameFiles(t, "after dry run", readFiles(t, dst), map[string]string{"extra.txt": "x", "old/deep/y": "y", "keep.log": "log"})

	code, _, errOut = runCLI(t, t.Context(), "", "sync", "-v", "--filter-from", rules, src, dst)
	if code != 0 {
		t.Fatalf("sync: exit %d\n%s", code, errOut)
	}
	sameFiles(t, "after sync", readFiles(t, dst), map[string]string{"a.txt": "alpha", "dir/b.txt": "bravo", "keep.log": "log"})
	if _, err := os.Stat(filepath.Join(dst, "old")); !os.IsNotExist(err) {
		t.Errorf("sync left the emptied directory old: %v", err)
	}
	for _, want := range []string{"a.txt: Copied (new)", "extra.txt: Deleted", "Deleted:      2 (files), 2 (dirs)", "Transferred:  2 / 2, 100%"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("sync -v output lacks %q:\n%s", want, errOut)
		}
	}
}

// TestSyncCommandMega syncs a local folder to the loopback MEGA server,
// then checks it, with --checksum, without downloading.
func TestSyncCommandMega(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	quiet := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := megaservertest.Start(t, megaservertest.WithLogger(quiet))
	remote := []string{"--mega-user", megaservertest.UserV2, "--mega-pass", megaservertest.PasswordV2, "--mega-url", srv.URL}
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"a.txt": "alpha", "dir/big.bin": strings.Repeat("0123456789", 20000)})
	run := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, t.Context(), "", append(append(args, remote...), src, ":mega:backup")...)
	}
	if code, _, errOut := run("sync", "-v"); code != 0 || !strings.Contains(errOut, "Transferred:  2 / 2, 100%") {
		t.Fatalf("sync to MEGA: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := run("sync", "-v"); code != 0 || !strings.Contains(errOut, "Transferred:  0 / 0, -") {
		t.Errorf("second sync: exit %d\n%s", code, errOut)
	}
	// Touch a file: mtimes differ, content does not.
	later := xferTime.Add(time.Hour)
	if err := os.Chtimes(filepath.Join(src, "dir", "big.bin"), later, later); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run("check", "--checksum"); code != 0 || !strings.Contains(errOut, "2 matching files") {
		t.Errorf("check --checksum: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := run("sync", "-v", "--checksum"); code != 0 || !strings.Contains(errOut, "Transferred:  0 / 0, -") {
		t.Errorf("sync --checksum after touch: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := run("sync", "-v"); code != 0 || !strings.Contains(errOut, "Transferred:  1 / 1, 100%") {
		t.Errorf("sync after touch: exit %d\n%s", code, errOut)
	}
	writeFiles(t, src, map[string]string{"a.txt": "ALPHA"})
	if code, _, errOut := run("check", "--checksum"); code != 1 || !strings.Contains(errOut, "a.txt: fingerprints differ") {
		t.Errorf("check --checksum after a change: exit %d\n%s", code, errOut)
	}
}
