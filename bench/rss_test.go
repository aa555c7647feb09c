package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ferry/mega"
	"ferry/megaserver/megaservertest"
)

// Child-process protocol of TestPeakRSS: the test binary re-executed with
// rssChildEnv set to "upload", "download" or "idle" resumes the session
// stored in the file named by rssSessionEnv and runs one transfer.
const (
	rssChildEnv   = "FERRY_BENCH_RSS_CHILD"
	rssSessionEnv = "FERRY_BENCH_RSS_SESSION"
	rssNodeEnv    = "FERRY_BENCH_RSS_NODE"
	rssNodePrefix = "FERRY_RSS_NODE="
	rssHWMPrefix  = "FERRY_RSS_HWM_KIB="
)

// vmHWM returns this process's peak resident set size in KiB (VmHWM of
// /proc/self/status: the high-water mark of the process's own memory map
// since exec), or -1 if unknown.
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kib int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kib); err == nil {
				return kib
			}
		}
	}
	return -1
}

// rssChild is the child's side: it uploads a size-byte stream (printing
// the new node's handle) or downloads the node rssNodeEnv names to
// io.Discard, with the client's default options. "idle" only resumes the
// session and fetches the tree: the baseline of a client process.
func rssChild(ctx context.Context, mode string, size int64) error {
	raw, err := os.ReadFile(os.Getenv(rssSessionEnv))
	if err != nil {
		return err
	}
	var s mega.Session
	if err := s.UnmarshalBinary(raw); err != nil {
		return err
	}
	c := mega.New(mega.Options{APIURL: s.APIURL})
	if err := c.Resume(ctx, s); err != nil {
		return err
	}
	if err := c.FetchTree(ctx); err != nil {
		return err
	}
	switch mode {
	case "idle":
		return nil
	case "upload":
		n, err := c.Upload(ctx, c.Root(), "rss.bin", newStream(dataSeed, size), size, time.Now())
		if err != nil {
			return err
		}
		fmt.Printf("%s%s\n", rssNodePrefix, n.Handle)
		return nil
	case "download":
		n := c.Node(os.Getenv(rssNodeEnv))
		if n == nil {
			return fmt.Errorf("node %q not found", os.Getenv(rssNodeEnv))
		}
		w := &checkingDiscard{seed: dataSeed}
		if err := c.Download(ctx, n, w); err != nil {
			return err
		}
		if w.bad || w.off != size {
			return fmt.Errorf("downloaded wrong bytes (%d of %d)", w.off, size)
		}
		return nil
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// rssRun is one child run's result.
type rssRun struct {
	maxRSSKiB int64 // getrusage of the child: see TestPeakRSS
	hwmKiB    int64 // VmHWM the child reported for itself
	parentKiB int64 // this process's VmHWM when the child started
	wall      time.Duration
	stdout    string
}

// runRSSChild re-executes the test binary in mode and returns its peak
// resident set size (getrusage ru_maxrss, KiB on Linux).
func runRSSChild(t *testing.T, mode, sessionFile, node string, size int64) rssRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPeakRSS$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		rssChildEnv+"="+mode, rssSessionEnv+"="+sessionFile, rssNodeEnv+"="+node,
		fmt.Sprintf("FERRY_BENCH_RSS_SIZE=%d", size))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	parent := vmHWM()
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s child: %v\n%s%s", mode, err, stdout.String(), stderr.String())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatalf("no rusage for the %s child", mode)
	}
	r := rssRun{maxRSSKiB: ru.Maxrss, hwmKiB: -1, parentKiB: parent, wall: time.Since(start), stdout: stdout.String()}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), rssHWMPrefix); ok {
			fmt.Sscan(v, &r.hwmKiB)
		}
	}
	if r.hwmKiB <= 0 {
		t.Fatalf("%s child reported no VmHWM:\n%s", mode, r.stdout)
	}
	return r
}

// TestPeakRSS measures the peak memory of ferry's client streaming a large
// file (FERRY_BENCH_RSS_SIZE, default 1 GiB) up and then down, each in a
// child process of its own, against a server in this process. The target
// is a peak RSS under 100 MiB for either direction: transfers stream, and
// nothing holds the file. It runs only with FERRY_BENCH_RSS=1 (it moves
// 2 GiB) and prints lines transfer.sh parses:
//
//	PEAK_RSS mode=upload bytes=1073741824 hwm_kib=... maxrss_kib=... parent_hwm_kib=... seconds=...
//
// hwm_kib, the child's own VmHWM, is the number that counts. maxrss_kib
// is ProcessState.SysUsage()'s ru_maxrss, which on Linux cannot go below the
// parent's peak: Go starts children with vfork (CLONE_VM), and exec folds
// the high-water RSS of the memory map it leaves, the parent's, into the
// child's maxrss. It equals hwm_kib only while the parent (server included)
// has stayed smaller than the child.
func TestPeakRSS(t *testing.T) {
	size := envSize(t, "FERRY_BENCH_RSS_SIZE", defaultRSSSize)
	if mode := os.Getenv(rssChildEnv); mode != "" {
		if err := rssChild(t.Context(), mode, size); err != nil {
			fmt.Fprintf(os.Stderr, "rss child %s: %v\n", mode, err)
			os.Exit(1)
		}
		fmt.Printf("%s%d\n", rssHWMPrefix, vmHWM())
		return
	}
	if os.Getenv("FERRY_BENCH_RSS") != "1" {
		t.Skip("set FERRY_BENCH_RSS=1 to measure peak RSS (moves 2 GiB)")
	}
	dir := benchDir(t)
	ts := megaservertest.Start(t, megaservertest.WithDir(filepath.Join(dir, "server")),
		megaservertest.WithLogger(slog.New(slog.DiscardHandler)))
	c := mega.New(mega.Options{APIURL: ts.URL})
	if err := c.Login(t.Context(), megaservertest.UserV2, megaservertest.PasswordV2, mega.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	raw, err := c.Session().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	sessionFile := filepath.Join(t.TempDir(), "session")
	if err := os.WriteFile(sessionFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	report := func(mode string, r rssRun) {
		t.Logf("PEAK_RSS mode=%s bytes=%d hwm_kib=%d maxrss_kib=%d parent_hwm_kib=%d seconds=%.2f",
			mode, size, r.hwmKiB, r.maxRSSKiB, r.parentKiB, r.wall.Seconds())
	}
	idle := runRSSChild(t, "idle", sessionFile, "", size)
	report("idle", idle)
	up := runRSSChild(t, "upload", sessionFile, "", size)
	report("upload", up)
	node := ""
	sc := bufio.NewScanner(strings.NewReader(up.stdout))
	for sc.Scan() {
		if h, ok := strings.CutPrefix(sc.Text(), rssNodePrefix); ok {
			node = h
		}
	}
	if node == "" {
		t.Fatalf("upload child printed no node handle:\n%s", up.stdout)
	}
	down := runRSSChild(t, "download", sessionFile, node, size)
	report("download", down)
	for _, r := range []struct {
		mode string
		run  rssRun
	}{{"upload", up}, {"download", down}} {
		if r.run.hwmKiB >= 100<<10 {
			t.Errorf("peak RSS of a %d MiB %s: %d MiB, want < 100 MiB", size>>20, r.mode, r.run.hwmKiB>>10)
		}
	}
}
