package cli

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"ferry/mega"
	"ferry/megaserver/megaservertest"
)

func TestDedupeCommand(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a": "a"})
	code, _, errOut := runCLI(t, t.Context(), "", "dedupe", "--dedupe-mode", "newest", dir)
	if code != 0 || !strings.Contains(errOut, "can't have duplicate names") {
		t.Errorf("dedupe on a local dir: exit %d\n%s", code, errOut)
	}
	for _, args := range [][]string{
		{"dedupe", "bogus", dir},
		{"dedupe", "--dedupe-mode", "bogus", dir},
		{"dedupe"},
		{"dedupe", "a", "b", "c"},
	} {
		if code, _, errOut := runCLI(t, t.Context(), "", args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, exitUsage, errOut)
		}
	}
}

// TestDedupeCommandMega dedupes a folder with duplicate names on the
// loopback MEGA server, interactively and with a mode.
func TestDedupeCommandMega(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	quiet := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := megaservertest.Start(t, megaservertest.WithLogger(quiet))
	c := mega.New(mega.Options{APIURL: srv.URL})
	if err := c.Login(t.Context(), megaservertest.UserV2, megaservertest.PasswordV2, mega.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.FetchTree(t.Context()); err != nil {
		t.Fatal(err)
	}
	dir, err := c.Mkdir(t.Context(), c.Root(), "photos")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, f := range []struct {
		name, data string
		mtime      time.Time
	}{
		{"a.jpg", "same", t0}, {"a.jpg", "same", t0}, // identical copies
		{"b.jpg", "old", t0}, {"b.jpg", "newer", t0.Add(time.Hour)},
		{"c.jpg", "one", t0}, {"c.jpg", "two", t0.Add(time.Hour)},
	} {
		if _, err := c.Upload(t.Context(), dir, f.name, strings.NewReader(f.data), int64(len(f.data)), f.mtime); err != nil {
			t.Fatal(err)
		}
	}
	remote := []string{"--mega-user", megaservertest.UserV2, "--mega-pass", megaservertest.PasswordV2, "--mega-url", srv.URL}

	// list changes nothing.
	args := append([]string{"dedupe", "list"}, append(remote, ":mega:photos")...)
	code, out, errOut := runCLI(t, t.Context(), "", args...)
	if code != 0 || strings.Count(errOut, "with duplicate names") != 3 {
		t.Fatalf("dedupe list: exit %d\n%s%s", code, out, errOut)
	}

	// Interactive: b.jpg keep #2 ("newer"), c.jpg rename. a.jpg's
	// identical copy goes without a question.
	args = append([]string{"dedupe"}, append(remote, ":mega:photos")...)
	code, out, errOut = runCLI(t, t.Context(), "k\n2\nr\n", args...)
	if code != 0 {
		t.Fatalf("dedupe interactive: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Count(out, "duplicates remain") != 2 || strings.Contains(out, "a.jpg: ") {
		t.Errorf("questions:\n%s", out)
	}
	if !strings.Contains(errOut, "identical copy") || !strings.Contains(errOut, "Renamed:      2") {
		t.Errorf("dedupe output:\n%s", errOut)
	}

	args = append([]string{"lsf"}, append(remote, ":mega:photos")...)
	code, out, errOut = runCLI(t, t.Context(), "", args...)
	if code != 0 {
		t.Fatalf("lsf: exit %d\n%s", code, errOut)
	}
	got := strings.Fields(out)
	want := []string{"a.jpg", "b.jpg", "c-1.jpg", "c-2.jpg"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("after dedupe: %q, want %q", got, want)
	}
}
