package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"ferry/megaserver/megaservertest"
)

// These tests run the built binary the way an rclone user's scripts do
// (issue 13): flags anywhere, exit codes, Ctrl-C, rclone's log lines.

// runBin runs the ferry binary with args and env (added to the test's
// environment) and returns its exit code and output.
func runBin(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	return runBinIn(t, env, nil, args...)
}

// runBinIn is runBin with stdin.
func runBinIn(t *testing.T, env []string, stdin io.Reader, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), ferryBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("ferry %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// binEnv is a fresh config and cache for the binary.
func binEnv(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	return []string{"FERRY_CONFIG=" + filepath.Join(dir, "ferry.conf"), "XDG_CACHE_HOME=" + filepath.Join(dir, "cache"), "FERRY_CONFIG_PASS="}
}

// logLine is rclone's log line: date, time, level padded to six, ": ".
var logLine = regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (DEBUG |INFO  |NOTICE|ERROR ): `)

// TestGlobalFlagsAnywhere: the transfer flags work before the command, as
// in rclone ("ferry -P copy src dst", "ferry --dry-run sync a b", a flag
// with a value first), after the arguments and between them; an unknown
// command and an unknown serve protocol exit 1 with one line naming them.
func TestGlobalFlagsAnywhere(t *testing.T) {
	env := binEnv(t)
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"a.txt": "alpha", "sub/b.txt": "bravo"})
	dst := t.TempDir()

	cases := []struct {
		name string
		args []string
		dir  string // the destination that must now hold the files
	}{
		{"-P first", []string{"-P", "copy", src, "DST"}, "p"},
		{"value flag first", []string{"--transfers", "2", "-v", "copy", src, "DST"}, "t"},
		{"grouped shorthands first", []string{"-vP", "copy", src, "DST"}, "g"},
		{"flags after the arguments", []string{"copy", src, "DST", "-P", "--transfers", "3"}, "a"},
		{"flag between the arguments", []string{"sync", src, "--checkers", "2", "DST"}, "b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := filepath.Join(dst, tc.dir)
			args := append([]string(nil), tc.args...)
			for i, a := range args {
				args[i] = strings.ReplaceAll(a, "DST", d)
			}
			code, _, errOut := runBin(t, env, args...)
			if code != 0 {
				t.Fatalf("ferry %v: exit %d\n%s", args, code, errOut)
			}
			if b, err := os.ReadFile(filepath.Join(d, "sub", "b.txt")); err != nil || string(b) != "bravo" {
				t.Errorf("ferry %v: sub/b.txt %q, %v", args, b, err)
			}
		})
	}

	// --dry-run before the command: nothing is written, each file noticed.
	d := filepath.Join(dst, "dry")
	code, _, errOut := runBin(t, env, "--dry-run", "sync", src, d)
	if code != 0 || strings.Count(errOut, "Skipped copy as --dry-run is set") != 2 {
		t.Errorf("--dry-run sync: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--dry-run sync created %s (%v)", d, err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"nope"}, `ferry: unknown command "nope" for "ferry"`},
		{[]string{"-P", "src", "dst"}, `ferry: unknown command "src" for "ferry"`},
		{[]string{"--dry-run", "serve", "-v", "webdav"}, `ferry: unknown protocol "webdav"`},
		{[]string{"serve", "webdav"}, `ferry: unknown protocol "webdav" for "ferry serve" (known: mediafire, mega)`},
		{[]string{"serve", "sftp"}, `ferry: unknown protocol "sftp"`},
		{[]string{"config", "bogus"}, `ferry: unknown command "bogus" for "ferry config"`},
		{[]string{"copy"}, `ferry: copy needs 2 argument(s), got 0 (see "ferry copy --help")`},
	} {
		code, out, errOut := runBin(t, env, tc.args...)
		if code != exitUsage || !strings.HasPrefix(errOut, tc.want) || strings.Count(errOut, "\n") != 1 || out != "" {
			t.Errorf("ferry %v: exit %d, stdout %q, stderr %q; want exit 1 and one line starting %q", tc.args, code, out, errOut, tc.want)
		}
	}
	if code, out, _ := runBin(t, env); code != 0 || !strings.Contains(out, "Available Commands:") {
		t.Errorf("ferry alone: exit %d, want 0 and the help:\n%s", code, out)
	}
}

// TestInterruptExits130: Ctrl-C (SIGINT) during a copy slowed by
// --bwlimit ends it promptly with "ferry: interrupted" and exit code 130,
// as a shell reports a command killed by SIGINT.
func TestInterruptExits130(t *testing.T) {
	env := binEnv(t)
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"big.bin": strings.Repeat("x", 4<<20)})
	cmd := exec.CommandContext(t.Context(), ferryBinary(t), "copy", "--bwlimit", "64K", "-v", src, filepath.Join(t.TempDir(), "dst"))
	cmd.Env = append(os.Environ(), env...)
	var errb syncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // well into the 64-second copy
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("still running 30s after SIGINT:\n%s", errb.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted || !strings.Contains(errb.String(), "ferry: interrupted\n") {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 130 and \"ferry: interrupted\"", code, errb.String())
	}
}

// TestLogFormat: transfer messages and backend messages are rclone's log
// lines; --log-file takes all of them (stderr keeps only the error
// line), --use-json-log writes JSON objects with rclone's keys, -q
// silences notices, --log-level sets the level and rejects nonsense; the
// retries of a faulty server are counted at -v and logged each at -vv,
// in the same format.
func TestLogFormat(t *testing.T) {
	env := binEnv(t)
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"a.txt": "alpha", "sub/b.txt": "bravo"})

	code, _, errOut := runBin(t, env, "copy", "-v", src, filepath.Join(t.TempDir(), "d"))
	if code != 0 {
		t.Fatalf("copy -v: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"INFO  : a.txt: Copied (new)", "INFO  : sub/b.txt: Copied (new)"} {
		if !regexp.MustCompile(`(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ` + regexp.QuoteMeta(want) + `$`).MatchString(errOut) {
			t.Errorf("copy -v: no line %q:\n%s", want, errOut)
		}
	}

	// --log-file: everything in the file, nothing on stderr.
	logFile := filepath.Join(t.TempDir(), "ferry.log")
	code, out, errOut := runBin(t, env, "--log-file", logFile, "copy", "-v", src, filepath.Join(t.TempDir(), "d"))
	logged, _ := os.ReadFile(logFile)
	if code != 0 || errOut != "" || out != "" || !strings.Contains(string(logged), "INFO  : a.txt: Copied (new)") || !strings.Contains(string(logged), "Transferred:") {
		t.Errorf("--log-file: exit %d, stdout %q, stderr %q, log:\n%s", code, out, errOut, logged)
	}
	// An error goes to stderr and into the log.
	code, _, errOut = runBin(t, env, "--log-file", logFile, "copy", filepath.Join(src, "missing"), t.TempDir())
	logged, _ = os.ReadFile(logFile)
	if code == 0 || !strings.HasPrefix(errOut, "ferry: ") || !regexp.MustCompile(`(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ERROR : .*missing`).Match(logged) {
		t.Errorf("--log-file with an error: exit %d, stderr %q, log:\n%s", code, errOut, logged)
	}

	// --use-json-log: one JSON object per line.
	code, _, errOut = runBin(t, env, "--use-json-log", "--dry-run", "sync", src, filepath.Join(t.TempDir(), "d"))
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("--use-json-log: exit %d\n%s", code, errOut)
	}
	for _, l := range lines {
		var rec struct{ Time, Level, Msg, Object string }
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec.Level != "notice" || rec.Object == "" || !strings.HasPrefix(rec.Msg, "Skipped copy") || rec.Time == "" {
			t.Errorf("--use-json-log line %q: %+v, %v", l, rec, err)
		}
	}

	// -q: no notices; --log-level: the level by name.
	if code, _, errOut := runBin(t, env, "-q", "--dry-run", "sync", src, filepath.Join(t.TempDir(), "d")); code != 0 || errOut != "" {
		t.Errorf("-q --dry-run: exit %d, stderr %q; want nothing", code, errOut)
	}
	if code, _, errOut := runBin(t, env, "--log-level", "INFO", "copy", src, filepath.Join(t.TempDir(), "d")); code != 0 || !strings.Contains(errOut, "INFO  : a.txt: Copied (new)") {
		t.Errorf("--log-level INFO: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := runBin(t, env, "--log-level", "LOUD", "ls", src); code != exitUsage || !strings.Contains(errOut, `"LOUD"`) {
		t.Errorf("--log-level LOUD: exit %d, %q", code, errOut)
	}

	// Backend messages and retries: a MEGA server failing half of its
	// requests. -v counts the retries in one line, -vv logs each, and
	// every line of stderr is a log line.
	quiet := quietLogger(t)
	srv := megaservertest.Start(t, megaservertest.WithLogger(quiet), megaservertest.WithFaults("eagain=0.5,seed=3"))
	remote := []string{"--mega-user", megaservertest.UserV2, "--mega-pass", megaservertest.PasswordV2, "--mega-url", srv.URL}
	code, _, errOut = runBin(t, append(env, "XDG_CACHE_HOME="+t.TempDir()), append([]string{"lsd", "-v", ":mega:"}, remote...)...)
	if code != 0 || !regexp.MustCompile(`(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d INFO  : [1-9]\d* retries of temporary failures \(`).MatchString(errOut) ||
		!regexp.MustCompile(`(?m)INFO  : mega: logging in`).MatchString(errOut) {
		t.Errorf("lsd -v under faults: exit %d\n%s", code, errOut)
	}
	code, _, errOut = runBin(t, append(env, "XDG_CACHE_HOME="+t.TempDir()), append([]string{"lsd", "-vv", ":mega:"}, remote...)...)
	if code != 0 || !regexp.MustCompile(`DEBUG : retrying op="cs \w+" attempt=1 err=`).MatchString(errOut) {
		t.Errorf("lsd -vv under faults: exit %d\n%s", code, errOut)
	}
	for _, l := range strings.Split(strings.TrimSpace(errOut), "\n") {
		if !logLine.MatchString(l) {
			t.Errorf("not a log line: %q", l)
		}
	}

	// A cron-like run (no terminal: stdin is /dev/null, stdout and
	// stderr are pipes) with --log-file -v against the faulty server:
	// the log has the copied files, the statistics and their count of
	// retries; stdout and stderr stay empty.
	cronLog := filepath.Join(t.TempDir(), "cron.log")
	code, out, errOut = runBin(t, append(env, "XDG_CACHE_HOME="+t.TempDir()), append([]string{"--log-file", cronLog, "copy", "-v", src, ":mega:cron"}, remote...)...)
	logged, _ = os.ReadFile(cronLog)
	if code != 0 || out != "" || errOut != "" || !regexp.MustCompile(`(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d INFO  : sub/b.txt: Copied \(new\)$`).Match(logged) ||
		!regexp.MustCompile(`(?m)^Retries: +[1-9]\d* `).Match(logged) {
		t.Errorf("cron-like copy: exit %d, stdout %q, stderr %q, log:\n%s", code, out, errOut, logged)
	}
}

// quietLogger logs a test server's warnings to the test.
func quietLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}
