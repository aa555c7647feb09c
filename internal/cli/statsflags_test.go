package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ferry/mediafireserver/mediafireservertest"
	"ferry/megaserver/megaservertest"
)

// These tests run the built binary with rclone's statistics, retry,
// timeout and cutoff flags (issue 13, item 3), the way a cron job does:
// stdin is /dev/null, stdout and stderr are pipes.

// statsHeader is the log line a periodic statistics block follows.
var statsHeader = regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (INFO  |NOTICE): $`)

// statsBlocks returns the periodic statistics blocks of a log (each
// block's lines after its header line) and the index in lines of each
// header.
func statsBlocks(log string) (blocks [][]string, at []int, lines []string) {
	lines = strings.Split(log, "\n")
	for i := 0; i < len(lines); i++ {
		if !statsHeader.MatchString(lines[i]) {
			continue
		}
		var b []string
		j := i + 1
		for ; j < len(lines) && !logLine.MatchString(lines[j]) && lines[j] != ""; j++ {
			b = append(b, lines[j])
		}
		blocks, at = append(blocks, b), append(at, i)
		i = j - 1
	}
	return blocks, at, lines
}

// blockShape is rclone's statistics block: bytes, then the optional
// counters, files, elapsed time, then the running transfers.
var blockShape = regexp.MustCompile(`^Transferred: +\d+(\.\d+)? \S*B / \d+(\.\d+)? \S*B, (\d+%|-), \d+(\.\d+)? \S*B/s, ETA \S+\n` +
	`((Errors|Retries|Checks|Deleted|Renamed|Updated): +.*\n)*` +
	`Transferred: +\d+ / \d+, (\d+%|-)\n` +
	`Elapsed time: +\d+(\.\d)?s\n` +
	`(Transferring:\n( \* .*\n)+)?$`)

// TestCronStats is issue 13's cron-like run: the built binary, no
// terminal, "copy src m:dst --log-file F --stats 1s -v" against a MEGA
// server failing 40% of its chunk uploads (fixed seed; one transfer at a
// time, so the same ones fail), slowed by --bwlimit so the run lasts
// over 3 s. --low-level-retries 1 turns each failed chunk into a retry
// of the whole file, which -v logs. The log holds at least two periodic
// statistics blocks in rclone's format before the last file is copied,
// the retries each with its attempt and a count of them in the
// statistics; stdout and stderr stay empty, and the data arrive intact.
func TestCronStats(t *testing.T) {
	env := binEnv(t)
	srv := megaservertest.Start(t, megaservertest.WithLogger(quietLogger(t)), megaservertest.WithFaults("ul.http500=0.4,seed=5"))
	remote := []string{"--mega-user", megaservertest.UserV2, "--mega-pass", megaservertest.PasswordV2, "--mega-url", srv.URL}
	src := t.TempDir()
	files := map[string]string{}
	for i := range 10 {
		files[fmt.Sprintf("f%02d.bin", i)] = strings.Repeat(strconv.Itoa(i), 64<<10)
	}
	writeFiles(t, src, files)
	logFile := filepath.Join(t.TempDir(), "cron.log")

	start := time.Now()
	code, out, errOut := runBin(t, env, append([]string{"copy", src, ":mega:cron", "--log-file", logFile, "--stats", "1s", "-v",
		"--transfers", "1", "--low-level-retries", "1", "--retries", "10", "--bwlimit", "160K"}, remote...)...)
	took := time.Since(start)
	b, _ := os.ReadFile(logFile)
	log := string(b)
	if code != 0 || out != "" || errOut != "" {
		t.Fatalf("copy: exit %d after %v, stdout %q, stderr %q, log:\n%s", code, took, out, errOut, log)
	}
	blocks, at, lines := statsBlocks(log)
	lastCopied := -1
	for i, l := range lines {
		if strings.Contains(l, ": Copied (new)") {
			lastCopied = i
		}
	}
	early := 0
	for i, blk := range blocks {
		if !blockShape.MatchString(strings.Join(blk, "\n") + "\n") {
			t.Errorf("block %d is not rclone's shape:\n%s", i, strings.Join(blk, "\n"))
		}
		if at[i] < lastCopied {
			early++
		}
	}
	if early < 2 {
		t.Errorf("%d periodic statistics blocks before the last copy (run took %v), want at least 2:\n%s", early, took, log)
	}
	retried := regexp.MustCompile(`(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d NOTICE: f\d\d\.bin: transfer failed, retrying attempt=\d+ err=.*500.* delay=`).FindAllString(log, -1)
	count := regexp.MustCompile(`(?m)^Retries: +(\d+) \(temporary failures tried again\)$`).FindAllStringSubmatch(log, -1)
	if len(retried) == 0 || len(count) == 0 {
		t.Fatalf("%d retry lines, %d lines counting them:\n%s", len(retried), len(count), log)
	}
	if n, _ := strconv.Atoi(count[len(count)-1][1]); n < len(retried) {
		t.Errorf("the statistics count %d retries, %d were logged:\n%s", n, len(retried), log)
	}

	dl := t.TempDir()
	if code, _, errOut := runBin(t, env, append([]string{"copy", ":mega:cron", dl}, remote...)...); code != 0 {
		t.Fatalf("download: exit %d\n%s", code, errOut)
	}
	for name, want := range files {
		if got, err := os.ReadFile(filepath.Join(dl, name)); err != nil || string(got) != want {
			t.Errorf("%s: %d bytes (%v), want %d intact", name, len(got), err, len(want))
		}
	}
}

// TestStatsFlags: --stats-one-line-date with --stats-unit bits logs one
// dated line per interval; --stats-log-level NOTICE shows the blocks
// without -v; --use-json-log logs them as "stats" objects; --stats 0
// logs none (and -v then prints no summary of a
// run without errors, as rclone); bad values are usage errors.
func TestStatsFlags(t *testing.T) {
	env := binEnv(t)
	src := t.TempDir()
	files := map[string]string{}
	for i := range 4 {
		files[fmt.Sprintf("f%d", i)] = strings.Repeat("x", 100<<10)
	}
	writeFiles(t, src, files)
	copyArgs := func(extra ...string) []string {
		return append([]string{"copy", src, filepath.Join(t.TempDir(), "d"), "--transfers", "1", "--bwlimit", "400K"}, extra...)
	}

	code, _, errOut := runBin(t, env, copyArgs("-v", "--stats", "250ms", "--stats-one-line-date", "--stats-unit", "bits")...)
	oneLine := regexp.MustCompile(`(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d INFO  : \d{4}/\d\d/\d\d \d\d:\d\d:\d\d - \d+(\.\d+)? \S*B / 400\.000 KiB, (\d+%|-), \d+(\.\d+)? \S*bit/s, ETA \S+( \(xfr#\d/4\))?$`)
	if n := len(oneLine.FindAllString(errOut, -1)); code != 0 || n < 2 {
		t.Errorf("--stats-one-line-date --stats-unit bits: exit %d, %d one-line statistics, want 2 or more:\n%s", code, n, errOut)
	}

	code, _, errOut = runBin(t, env, copyArgs("--stats", "250ms", "--stats-log-level", "NOTICE")...)
	if blocks, _, _ := statsBlocks(errOut); code != 0 || len(blocks) < 2 || strings.Contains(errOut, "INFO") {
		t.Errorf("--stats-log-level NOTICE: exit %d, %d blocks, want 2 or more at NOTICE:\n%s", code, len(blocks), errOut)
	}

	code, _, errOut = runBin(t, env, copyArgs("-v", "--stats", "250ms", "--use-json-log")...)
	objects := 0
	for _, l := range strings.Split(strings.TrimSpace(errOut), "\n") {
		var rec struct {
			Level string `json:"level"`
			Stats *struct {
				TotalBytes int64 `json:"totalBytes"`
			} `json:"stats"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			continue // the final block stays text
		}
		if rec.Stats != nil && rec.Level == "info" && rec.Stats.TotalBytes > 0 {
			objects++
		}
	}
	if code != 0 || objects < 2 {
		t.Errorf("--use-json-log: exit %d, %d statistics objects, want 2 or more:\n%s", code, objects, errOut)
	}

	code, _, errOut = runBin(t, env, copyArgs("-v", "--stats", "0")...)
	if blocks, _, _ := statsBlocks(errOut); code != 0 || len(blocks) != 0 || strings.Contains(errOut, "Elapsed time") {
		t.Errorf("--stats 0: exit %d, %d blocks, want none and no summary:\n%s", code, len(blocks), errOut)
	}

	for _, bad := range [][]string{
		{"--stats", "-1s"}, {"--stats-unit", "nibbles"}, {"--stats-log-level", "LOUD"}, {"--cutoff-mode", "gentle"},
		{"--low-level-retries", "0"}, {"--timeout", "-1s"}, {"--max-duration", "-1s"},
	} {
		code, _, errOut := runBin(t, env, append([]string{"copy", src, t.TempDir()}, bad...)...)
		if code != exitUsage || !strings.Contains(errOut, bad[0]) {
			t.Errorf("%v: exit %d, want %d naming the flag:\n%s", bad, code, exitUsage, errOut)
		}
	}
}

// TestLowLevelRetries: against a MEGA server answering EAGAIN to half
// of its API calls (fixed seed; lsf makes its calls one at a time),
// lsf succeeds with the default 10 attempts a call and fails with
// --low-level-retries 1, naming the error.
func TestLowLevelRetries(t *testing.T) {
	env := binEnv(t)
	srv := megaservertest.Start(t, megaservertest.WithLogger(quietLogger(t)), megaservertest.WithFaults("cs.eagain=0.5,seed=11"))
	remote := []string{"--mega-user", megaservertest.UserV2, "--mega-pass", megaservertest.PasswordV2, "--mega-url", srv.URL}
	lsf := func(extra ...string) (int, string) {
		t.Helper()
		code, _, errOut := runBin(t, append(env, "XDG_CACHE_HOME="+t.TempDir()), append(append([]string{"lsf", ":mega:"}, remote...), extra...)...)
		return code, errOut
	}
	if code, errOut := lsf(); code != 0 {
		t.Fatalf("lsf with the default retries: exit %d\n%s", code, errOut)
	}
	code, errOut := lsf("--low-level-retries", "1")
	if code == 0 || !regexp.MustCompile(`EAGAIN|-3`).MatchString(errOut) {
		t.Errorf("lsf --low-level-retries 1: exit %d, want a failure naming EAGAIN:\n%s", code, errOut)
	}

	// MediaFire: the next two calls fail with HTTP 500. One attempt
	// fails on the first; the default's retries get past the second.
	mf := mediafireservertest.Start(t, mediafireservertest.WithLogger(quietLogger(t)), mediafireservertest.WithFaults("http500=2x"))
	mfRemote := []string{"lsf", ":mediafire:", "--mediafire-user", mediafireservertest.User, "--mediafire-pass", mediafireservertest.Password, "--mediafire-url", mf.URL}
	code, _, errOut = runBin(t, append(env, "XDG_CACHE_HOME="+t.TempDir()), append(mfRemote, "--low-level-retries", "1")...)
	if code == 0 || !strings.Contains(errOut, "500") {
		t.Errorf("mediafire lsf --low-level-retries 1: exit %d, want a failure naming the 500:\n%s", code, errOut)
	}
	if code, _, errOut := runBin(t, append(env, "XDG_CACHE_HOME="+t.TempDir()), mfRemote...); code != 0 {
		t.Errorf("mediafire lsf with the default retries: exit %d\n%s", code, errOut)
	}
}

// TestRetriesFlag: with every chunk failure a failure of its file
// (--low-level-retries 1) on a server failing 40% of chunk uploads
// (fixed seed, one transfer at a time), --retries 1 leaves files
// failed where --retries 10 copies them all, waiting --retries-sleep
// between the attempts.
func TestRetriesFlag(t *testing.T) {
	env := binEnv(t)
	srv := megaservertest.Start(t, megaservertest.WithLogger(quietLogger(t)), megaservertest.WithFaults("ul.http500=0.4,seed=5"))
	remote := []string{"--mega-user", megaservertest.UserV2, "--mega-pass", megaservertest.PasswordV2, "--mega-url", srv.URL}
	src := t.TempDir()
	files := map[string]string{}
	for i := range 8 {
		files[fmt.Sprintf("f%d", i)] = strings.Repeat(strconv.Itoa(i), 1000)
	}
	writeFiles(t, src, files)
	run := func(dst string, extra ...string) (int, string) {
		code, _, errOut := runBin(t, env, append(append([]string{"copy", src, ":mega:" + dst, "--transfers", "1", "--low-level-retries", "1"}, extra...), remote...)...)
		return code, errOut
	}
	if code, errOut := run("once", "--retries", "1"); code == 0 || !strings.Contains(errOut, "500") {
		t.Errorf("--retries 1: exit %d, want failed files:\n%s", code, errOut)
	}
	code, errOut := run("ten", "--retries", "10", "--retries-sleep", "300ms")
	waits := regexp.MustCompile(`transfer failed, retrying attempt=\d+ err=.* delay=(\S+)`).FindAllStringSubmatch(errOut, -1)
	if code != 0 || len(waits) == 0 {
		t.Fatalf("--retries 10: exit %d, %d retries\n%s", code, len(waits), errOut)
	}
	for _, w := range waits {
		if w[1] != "300ms" {
			t.Errorf("--retries-sleep 300ms: waited %s", w[1])
		}
	}
}

// TestTimeout: a server that accepts connections and never answers
// makes lsf fail after about --timeout per attempt, with an error naming
// the flag, instead of hanging (the run is bounded at 60 s).
func TestTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})

	url := "http://" + ln.Addr().String()
	for _, remote := range [][]string{
		{":mega:", "--mega-user", "u@example.com", "--mega-pass", "pw", "--mega-url", url},
		{":mediafire:", "--mediafire-user", "u@example.com", "--mediafire-pass", "pw", "--mediafire-url", url},
	} {
		t.Run(remote[0], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, ferryBinary(t), append(append([]string{"lsf"}, remote...), "--timeout", "1s", "--low-level-retries", "2")...)
			cmd.Env = append(os.Environ(), binEnv(t)...)
			var errb bytes.Buffer
			cmd.Stderr = &errb
			start := time.Now()
			err := cmd.Run()
			took := time.Since(start)
			var ee *exec.ExitError
			switch {
			case ctx.Err() != nil:
				t.Fatalf("lsf hung for %v on a server that never answers:\n%s", took, errb.String())
			case !errors.As(err, &ee):
				t.Fatalf("lsf: %v, want a failure\n%s", err, errb.String())
			}
			if took < 1500*time.Millisecond || took > 20*time.Second || !strings.Contains(errb.String(), "--timeout") {
				t.Errorf("lsf failed after %v (want about 2 attempts of 1s), stderr:\n%s", took, errb.String())
			}
		})
	}
}

// TestContimeout: connecting to a listener whose accept queue is full
// (backlog 0, one connection waiting) gets no answer; lsf fails after
// about --contimeout per attempt, naming the flag.
func TestContimeout(t *testing.T) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	c, err := net.DialTimeout("tcp", addr, time.Second) // fills the queue
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c2, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
		c2.Close()
		t.Skip("this kernel answers connections past a full accept queue")
	}

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ferryBinary(t), "lsf", ":mega:", "--mega-user", "u@example.com", "--mega-pass", "pw",
		"--mega-url", "http://"+addr, "--contimeout", "1s", "--low-level-retries", "2")
	cmd.Env = append(os.Environ(), binEnv(t)...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start)
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("lsf hung for %v connecting to a server that never answers:\n%s", took, errb.String())
	case !errors.As(err, &ee):
		t.Fatalf("lsf: %v, want a failure\n%s", err, errb.String())
	}
	if took < 1500*time.Millisecond || took > 20*time.Second || !strings.Contains(errb.String(), "--contimeout") {
		t.Errorf("lsf failed after %v (want about 2 attempts of 1s), stderr:\n%s", took, errb.String())
	}
}

// TestMaxTransferDuration: --max-transfer stops a copy with exit code 8
// in each --cutoff-mode, having copied what the mode allows (to MEGA
// too, where the cut upload leaves nothing); --max-duration stops a slow
// one with exit code 10.
func TestMaxTransferDuration(t *testing.T) {
	env := binEnv(t)
	src := t.TempDir()
	files := map[string]string{}
	for i := range 5 {
		files[fmt.Sprintf("f%d", i)] = strings.Repeat(strconv.Itoa(i), 100<<10)
	}
	writeFiles(t, src, files)
	copied := func(dir string) int {
		t.Helper()
		n := 0
		for name, want := range files {
			got, err := os.ReadFile(filepath.Join(dir, name))
			switch {
			case err == nil && string(got) == want:
				n++
			case err == nil:
				t.Errorf("%s: %d bytes, want %d or no file", name, len(got), len(want))
			}
		}
		return n
	}
	for _, tc := range []struct {
		mode  string
		files int
	}{{"hard", 2}, {"soft", 3}, {"cautious", 2}} {
		dst := filepath.Join(t.TempDir(), "d")
		code, _, errOut := runBin(t, env, "copy", src, dst, "--transfers", "1", "--max-transfer", "250K", "--cutoff-mode", tc.mode)
		if n := copied(dst); code != exitTransferMax || n != tc.files || !strings.Contains(errOut, "max transfer limit reached") {
			t.Errorf("--cutoff-mode %s: exit %d, %d files copied; want exit %d and %d files:\n%s", tc.mode, code, n, exitTransferMax, tc.files, errOut)
		}
	}
	// To MEGA: the cut upload leaves no node behind.
	srv := megaservertest.Start(t, megaservertest.WithLogger(quietLogger(t)))
	remote := []string{"--mega-user", megaservertest.UserV2, "--mega-pass", megaservertest.PasswordV2, "--mega-url", srv.URL}
	code, _, errOut := runBin(t, env, append([]string{"copy", src, ":mega:mt", "--transfers", "1", "--max-transfer", "250K"}, remote...)...)
	_, listed, lsErr := runBin(t, env, append([]string{"lsl", ":mega:mt"}, remote...)...)
	if code != exitTransferMax || strings.Count(listed, "\n") != 2 || !strings.Contains(listed, " 102400 ") {
		t.Errorf("to MEGA: exit %d, want %d and 2 whole files:\n%s%s%s", code, exitTransferMax, errOut, listed, lsErr)
	}

	dst := filepath.Join(t.TempDir(), "d")
	code, _, errOut = runBin(t, env, "copy", src, dst, "--transfers", "1", "--bwlimit", "200K", "--max-duration", "700ms")
	if n := copied(dst); code != exitDurationMax || n >= len(files) || !strings.Contains(errOut, "max duration reached") {
		t.Errorf("--max-duration: exit %d, %d files copied; want exit %d and fewer than %d:\n%s", code, n, exitDurationMax, len(files), errOut)
	}
}

// TestProgressStatsInterval: with -P on a terminal, --stats sets the
// display's refresh: a 3 s copy at --stats 100ms draws a dozen frames or
// more, where the default 500 ms draws about six (no -v: a log line
// redraws the display too), and logs no periodic statistics beside the
// display (--stats-log-level NOTICE would show them).
func TestProgressStatsInterval(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	files := map[string]string{}
	for i := range 12 {
		files[fmt.Sprintf("f%02d", i)] = strings.Repeat("p", 100<<10)
	}
	writeFiles(t, src, files)
	c := newConsole(t)
	cmd := exec.Command(ferryBinary(t), "copy", "-P", "--stats-log-level", "NOTICE", "--stats", "100ms", "--transfers", "1", "--bwlimit", "400K", src, dst)
	cmd.Env = append(os.Environ(), binEnv(t)...)
	c.run(t, cmd)
	c.expect("Transferred:  12 / 12, 100%") // the summary
	out := c.out.String()
	if frames := len(countLineRE.FindAllString(out, -1)); frames < 12 {
		t.Errorf("%d progress frames in a 3 s copy at --stats 100ms, want 12 or more", frames)
	}
	if regexp.MustCompile(`(?m)NOTICE: \r?$`).MatchString(out) {
		t.Errorf("periodic statistics logged beside -P:\n%q", out)
	}
}

// TestStatsInProcess runs the periodic statistics in-process (so that
// the race detector sees the ticker against the engine) and stops a run
// at --max-transfer meanwhile.
func TestStatsInProcess(t *testing.T) {
	configEnv(t)
	src := t.TempDir()
	files := map[string]string{}
	for i := range 6 {
		files[fmt.Sprintf("f%d", i)] = strings.Repeat("r", 50<<10)
	}
	writeFiles(t, src, files)
	code, _, errOut := runCLI(t, t.Context(), "", "copy", src, filepath.Join(t.TempDir(), "d"), "-v", "--stats", "50ms",
		"--transfers", "2", "--bwlimit", "500K", "--max-transfer", "200K", "--cutoff-mode", "soft")
	if blocks, _, _ := statsBlocks(errOut); code != exitTransferMax || len(blocks) < 2 {
		t.Errorf("exit %d (want %d), %d statistics blocks (want 2 or more):\n%s", code, exitTransferMax, len(blocks), errOut)
	}
}
