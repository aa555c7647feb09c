package bench

// Helpers of the command-line benchmarks (listing_test.go,
// smallfiles_test.go, cli.sh): they run the ferry binary the way a user
// does, next to go-mega, against one loopback server.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	gomega "github.com/t3rm1n4l/go-mega"

	"ferry/megaserver/megaservertest"
)

// Environment of the command-line benchmarks.
const (
	cliEnable = "FERRY_BENCH_CLI"       // "1" runs them
	cliBinEnv = "FERRY_BENCH_BIN"       // a prebuilt ferry binary (else built here)
	cliCount  = "FERRY_BENCH_CLI_COUNT" // runs per contender (default 3)
	cliChild  = "FERRY_BENCH_CLI_CHILD" // "wrap": the re-executed test binary is TestCLIWrap
	cliMode   = "FERRY_BENCH_CLI_MODE"  // child mode of a measured re-executed test binary
	cliURLEnv = "FERRY_BENCH_CLI_URL"   // the server URL, for the child
)

// cliSkip skips a command-line benchmark unless FERRY_BENCH_CLI=1, so that
// plain `go test ./...` stays fast.
func cliSkip(t *testing.T) {
	t.Helper()
	if os.Getenv(cliEnable) != "1" {
		t.Skipf("set %s=1 to run (see bench/cli.sh)", cliEnable)
	}
}

// cliRuns is the number of runs of each contender.
func cliRuns(t *testing.T) int {
	if n, err := strconv.Atoi(os.Getenv(cliCount)); err == nil && n > 0 {
		return n
	}
	return 3
}

// cliServer starts a quiet loopback server with the seeded users.
func cliServer(t *testing.T) *megaservertest.TestServer {
	return megaservertest.Start(t, megaservertest.WithDir(t.TempDir()),
		megaservertest.WithLogger(slog.New(slog.DiscardHandler)),
		megaservertest.WithWaitTimeout(time.Second))
}

// cliFerry is the ferry binary with a config holding remote "m:".
type cliFerry struct {
	bin, config string
}

// cliBinary returns $FERRY_BENCH_BIN or builds ./cmd/ferry.
func cliBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv(cliBinEnv); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "ferry")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/ferry")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ferry: %v\n%s", err, out)
	}
	return bin
}

// newCLIFerry writes a config for remote "m" on url.
func newCLIFerry(t *testing.T, url string) *cliFerry {
	t.Helper()
	f := &cliFerry{bin: cliBinary(t), config: filepath.Join(t.TempDir(), "ferry.conf")}
	f.mustRun(t, t.TempDir(), "config", "create", "--obscure", "m", "mega",
		"user="+megaservertest.UserV2, "pass="+megaservertest.PasswordV2, "url="+url)
	return f
}

// cliRun is one finished process.
type cliRun struct {
	wall      time.Duration
	maxRSSKiB int64
	stdout    []byte
}

// run runs ferry with cache dir cache and returns its wall time, peak RSS
// and standard output.
func (f *cliFerry) run(cache string, args ...string) (cliRun, error) {
	all := append([]string{"--config", f.config, "--cache-dir", cache}, args...)
	return cliExec(exec.Command(f.bin, all...))
}

func (f *cliFerry) mustRun(t *testing.T, cache string, args ...string) cliRun {
	t.Helper()
	r, err := f.run(cache, args...)
	if err != nil {
		t.Fatalf("ferry %v: %v", args, err)
	}
	return r
}

// cliExec runs cmd and measures it. The peak RSS comes from a wrapper:
// a child started by a big process inherits that process's high-water
// RSS at exec (Linux records the old mm's hiwater in signal->maxrss, and
// Go starts children with vfork), so ru_maxrss of a direct child of this
// test, which holds the server and its tree, reports this process's peak.
// The re-executed test binary in mode "wrap" (TestCLIWrap) is small; it
// runs cmd and prints cmd's own ru_maxrss to stderr.
func cliExec(cmd *exec.Cmd) (cliRun, error) {
	argv, err := json.Marshal(cmd.Args)
	if err != nil {
		return cliRun{}, err
	}
	w := exec.Command(os.Args[0], "-test.run=^TestCLIWrap$", "-test.count=1")
	w.Env = append(append([]string(nil), cmd.Env...), cliChild+"=wrap", cliArgvEnv+"="+string(argv))
	if cmd.Env == nil {
		w.Env = append(os.Environ(), w.Env...)
	}
	var stdout, stderr bytes.Buffer
	w.Stdout, w.Stderr = &stdout, &stderr
	start := time.Now()
	err = w.Run()
	wall := time.Since(start)
	if err != nil {
		return cliRun{}, fmt.Errorf("%v\n%.2000s", err, stderr.String())
	}
	var kib int64 = -1
	for line := range bytes.Lines(stderr.Bytes()) {
		if v, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte(cliRSSPrefix)); ok {
			kib, _ = strconv.ParseInt(string(v), 10, 64)
		}
	}
	if kib < 0 {
		return cliRun{}, fmt.Errorf("wrapper printed no %s\n%.2000s", cliRSSPrefix, stderr.String())
	}
	return cliRun{wall: wall, maxRSSKiB: kib, stdout: stdout.Bytes()}, nil
}

const (
	cliArgvEnv   = "FERRY_BENCH_CLI_ARGV"
	cliRSSPrefix = "CLI_MAXRSS_KIB="
)

// TestCLIWrap is the wrapper of cliExec; without cliChild=wrap it does
// nothing.
func TestCLIWrap(t *testing.T) {
	if os.Getenv(cliChild) != "wrap" {
		t.Skip("the wrapper of the command-line benchmarks")
	}
	var argv []string
	if err := json.Unmarshal([]byte(os.Getenv(cliArgvEnv)), &argv); err != nil || len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "wrap: bad argv:", err)
		os.Exit(2)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = os.Environ()
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "wrap:", err)
		os.Exit(1)
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if ru == nil {
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "%s%d\n", cliRSSPrefix, ru.Maxrss)
	os.Exit(0) // no "PASS" on stdout
}

// cliChildRun re-executes the test binary in child mode mode (handled by
// test, which must be the calling test's name).
func cliChildRun(test, mode string, env ...string) (cliRun, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), cliMode+"="+mode), env...)
	return cliExec(cmd)
}

// cliGoMega logs go-mega in (login + full tree fetch).
func cliGoMega(url string) (*gomega.Mega, error) {
	m := gomega.New()
	m.SetLogger(nil)
	m.SetAPIUrl(url)
	if err := m.Login(megaservertest.UserV2, megaservertest.PasswordV2); err != nil {
		return nil, fmt.Errorf("go-mega Login: %w", err)
	}
	return m, nil
}

// cliMedian is the median of ds.
func cliMedian(ds []float64) float64 {
	s := append([]float64(nil), ds...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// cliCountLines counts the non-empty lines of b.
func cliCountLines(b []byte) int {
	n := 0
	for line := range bytes.Lines(b) {
		if len(bytes.TrimSpace(line)) > 0 {
			n++
		}
	}
	return n
}
