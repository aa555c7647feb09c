package cli

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"ferry/megaserver/megaservertest"
)

// TestRetriesShown copies to a MEGA server that answers EAGAIN to a fifth
// of its requests (fixed seed): with -vv every retry is logged, in
// rclone's log format, with what was retried and why; with -v the final
// statistics count them, in text and in --json; a command that is not a
// transfer (lsf) counts its retries in one line at -v and logs each at
// -vv.
func TestRetriesShown(t *testing.T) {
	configEnv(t)
	quiet := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := megaservertest.Start(t, megaservertest.WithLogger(quiet), megaservertest.WithFaults("eagain=0.2,drop=0.05,seed=7"))
	remote := []string{"--mega-user", megaservertest.UserV2, "--mega-pass", megaservertest.PasswordV2, "--mega-url", srv.URL}
	src := t.TempDir()
	files := map[string]string{}
	for i := range 12 {
		files[fmt.Sprintf("d%d/f%d.txt", i%3, i)] = strings.Repeat(strconv.Itoa(i), 1000+i)
	}
	writeFiles(t, src, files)
	run := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, t.Context(), "", append(args, remote...)...)
	}

	code, _, errOut := run("copy", "-vv", src, ":mega:dst")
	if code != 0 {
		t.Fatalf("copy: exit %d\n%s", code, errOut)
	}
	logged := regexp.MustCompile(`(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d DEBUG : (\S+: )?retrying op="?(cs \w+|upload)"? attempt=\d+ err=".*(EAGAIN|-3).*" delay=`).FindAllString(errOut, -1)
	m := regexp.MustCompile(`(?m)^Retries: +(\d+) \(temporary failures tried again\)$`).FindStringSubmatch(errOut)
	if len(logged) == 0 || m == nil {
		t.Fatalf("copy -v under faults: %d retry lines, Retries line %v\n%s", len(logged), m, errOut)
	}
	// Each retry is one line: the MEGA client's own debug line for it is
	// left out when the command observes retries (it used to come too).
	seen := map[string]bool{}
	for _, l := range regexp.MustCompile(`(?m)retrying .*attempt=\d+ .*delay=\S+$`).FindAllString(errOut, -1) {
		k := regexp.MustCompile(`op="?[^"]*"? attempt=\d+ .*delay=\S+$`).FindString(l)
		if seen[k] {
			t.Errorf("retry logged twice: %s", k)
		}
		seen[k] = true
	}
	if n, _ := strconv.Atoi(m[1]); n < len(logged) {
		t.Errorf("stats count %d retries, %d were logged\n%s", n, len(logged), errOut)
	}
	for _, secret := range []string{megaservertest.PasswordV2, "sid="} {
		if strings.Contains(errOut, secret) {
			t.Errorf("%q in the output:\n%s", secret, errOut)
		}
	}

	// The rest runs against a server failing half of its requests, so
	// that the few calls of a login and a tree fetch (made one at a time:
	// the seed fixes which fail) see retries too. A fresh cache dir makes
	// each command log in again.
	srv = megaservertest.Start(t, megaservertest.WithLogger(quiet), megaservertest.WithFaults("eagain=0.5,seed=11"))
	remote[len(remote)-1] = srv.URL
	if code, _, errOut := run("mkdir", ":mega:dst"); code != 0 {
		t.Fatalf("mkdir: exit %d\n%s", code, errOut)
	}

	// -v: no line per retry, but the statistics count them.
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	code, _, errOut = run("copy", "-v", "--ignore-existing", src, ":mega:dst")
	if code != 0 {
		t.Fatalf("copy -v: exit %d\n%s", code, errOut)
	}
	m = regexp.MustCompile(`(?m)^Retries: +(\d+) `).FindStringSubmatch(errOut)
	if strings.Contains(errOut, "retrying") || m == nil || m[1] == "0" {
		t.Errorf("copy -v: want no retry lines and a count of them:\n%s", errOut)
	}

	// --json: the summary document counts the retries.
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	code, out, errOut := run("copy", "--json", src, ":mega:dst")
	if code != 0 {
		t.Fatalf("copy --json: exit %d\n%s", code, errOut)
	}
	var stats struct {
		Retries *int64 `json:"retries"`
	}
	if err := json.Unmarshal([]byte(out), &stats); err != nil || stats.Retries == nil || *stats.Retries == 0 {
		t.Errorf("copy --json: retries %v (%v)\n%s\n%s", stats.Retries, err, out, errOut)
	}

	// lsf: no statistics, but one line counts the retries at -v, and
	// -vv logs each.
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	code, out, errOut = run("lsf", "-R", "-v", ":mega:dst")
	if code != 0 || strings.Count(out, "\n") != 15 {
		t.Fatalf("lsf: exit %d\n%s\n%s", code, out, errOut)
	}
	if !regexp.MustCompile(`(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d INFO  : [1-9]\d* retries of temporary failures \(cs \w+: [1-9]`).MatchString(errOut) || strings.Contains(errOut, "retrying") {
		t.Errorf("lsf -v: want one line counting the retries:\n%s", errOut)
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	code, out, errOut = run("lsf", "-R", "-vv", ":mega:dst")
	if code != 0 || strings.Count(out, "\n") != 15 {
		t.Fatalf("lsf -vv: exit %d\n%s\n%s", code, out, errOut)
	}
	if !regexp.MustCompile(`DEBUG : retrying op="cs \w+" attempt=\d+ err=`).MatchString(errOut) {
		t.Errorf("lsf -vv logs no retries:\n%s", errOut)
	}
}
