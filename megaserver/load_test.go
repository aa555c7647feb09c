package megaserver_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"ferry/internal/retry"
	"ferry/mega"
	"ferry/mega/megacrypto"
	"ferry/megaserver"
	"ferry/megaserver/megaservertest"
)

// attack holds n connections to addr, spread over ips source addresses,
// each a POST announcing a 2 GB body of which it sends two bytes and then
// nothing (the attack of issue 8). A connection the server closes is
// dialled again after pause, so the pressure stays until stop.
type attack struct {
	open    atomic.Int64 // connections currently established
	dials   atomic.Int64
	stopped chan struct{}
	wg      sync.WaitGroup
}

func startAttack(addr string, n, ips int, pause time.Duration) *attack {
	return startAttackFrom(addr, n, ips, 0, pause)
}

// startAttackFrom is startAttack from the ips source addresses after the
// first ones.
func startAttackFrom(addr string, n, ips, first int, pause time.Duration) *attack {
	a := &attack{stopped: make(chan struct{})}
	for i := 0; i < n; i++ {
		j := first + i%ips
		ip := net.IPv4(127, 0, byte(1+j/250), byte(2+j%250))
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 5 * time.Second}
			buf := make([]byte, 512)
			for {
				select {
				case <-a.stopped:
					return
				default:
				}
				a.dials.Add(1)
				c, err := d.Dial("tcp", addr)
				if err == nil {
					_, err = io.WriteString(c, "POST /cs HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000000\r\n\r\n[{")
				}
				if err == nil {
					a.open.Add(1)
					closed := make(chan struct{})
					go func() {
						for {
							if _, err := c.Read(buf); err != nil {
								close(closed)
								return
							}
						}
					}()
					select {
					case <-closed:
					case <-a.stopped:
					}
					a.open.Add(-1)
				}
				if c != nil {
					c.Close()
				}
				select {
				case <-a.stopped:
					return
				case <-time.After(pause):
				}
			}
		}()
	}
	return a
}

func (a *attack) stop() {
	close(a.stopped)
	a.wg.Wait()
}

// workload is what a normal user does, through ferry's own client: log
// in, list, upload four files and download them again.
func workload(ctx context.Context, api string) error {
	c := mega.New(mega.Options{
		APIURL: api,
		Logger: slog.New(slog.DiscardHandler),
		Retry:  retry.Policy{Base: 20 * time.Millisecond, Cap: 500 * time.Millisecond, MaxAttempts: 40},
	})
	if err := c.Login(ctx, megaservertest.UserV2, megaservertest.PasswordV2, mega.LoginOptions{}); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if err := c.FetchTree(ctx); err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	dir, err := c.Mkdir(ctx, c.Root(), fmt.Sprintf("run %d", time.Now().UnixNano()))
	if err != nil {
		return fmt.Errorf("mkdir: %w", err)
	}
	var files []*mega.Node
	var datas [][]byte
	for i, size := range []int{0, 1000, 1 << 20, 3 << 20} {
		data := make([]byte, size)
		rand.Read(data)
		n, err := c.Upload(ctx, dir, fmt.Sprintf("f%d", i), bytes.NewReader(data), int64(size), time.Now())
		if err != nil {
			return fmt.Errorf("upload: %w", err)
		}
		files, datas = append(files, n), append(datas, data)
	}
	if got := len(c.Children(dir)); got != len(files) {
		return fmt.Errorf("list: %d children, want %d", got, len(files))
	}
	for i, n := range files {
		var buf bytes.Buffer
		if err := c.Download(ctx, n, &buf); err != nil {
			return fmt.Errorf("download: %w", err)
		}
		if !bytes.Equal(buf.Bytes(), datas[i]) {
			return fmt.Errorf("download %d: content differs", i)
		}
	}
	return nil
}

// timeWorkload runs the workload runs times and returns the median.
func timeWorkload(t *testing.T, api string, runs int) time.Duration {
	t.Helper()
	var ds []time.Duration
	for i := 0; i < runs; i++ {
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		start := time.Now()
		err := workload(ctx, api)
		cancel()
		if err != nil {
			t.Fatalf("normal client: %v", err)
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// procStatus returns VmRSS and VmHWM (KiB) of pid ("self" for this
// process).
func procStatus(pid string) (rss, hwm int64) {
	b, _ := os.ReadFile("/proc/" + pid + "/status")
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[0] {
			case "VmRSS:":
				rss = v
			case "VmHWM:":
				hwm = v
			}
		}
	}
	return rss, hwm
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(b))
}

// setNoFile sets the soft open-file limit and returns a function that
// restores it.
func setNoFile(t *testing.T, n uint64) func() {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Skipf("getrlimit: %v", err)
	}
	lim := old
	lim.Cur = min(n, old.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("setrlimit: %v", err)
	}
	return func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) }
}

// TestLoadSlowConnections: 2,000 slow connections from 25 addresses are
// held against a server (in this process) whose open-file limit could not
// hold them all, while a normal client logs in, lists, uploads and
// downloads. Without the limits the attack takes every file descriptor
// and the client fails; with them it is served, and the test reports how
// much slower.
func TestLoadSlowConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	const conns, ips = 2000, 25
	// The attack's own 2,000 descriptors live in this process too: leave
	// the server about 1,400.
	defer setNoFile(t, 3500)()
	ts := megaservertest.Start(t, megaservertest.WithLimits(megaserver.Limits{MaxConns: 1000, MaxConnsPerIP: 64}),
		megaservertest.WithLogger(slog.New(slog.DiscardHandler)))
	addr := strings.TrimPrefix(ts.URL, "http://")
	quiet := timeWorkload(t, ts.URL, 3)
	rss0, _ := procStatus("self")

	a := startAttack(addr, conns, ips, 50*time.Millisecond)
	defer a.stop()
	deadline := time.Now().Add(20 * time.Second)
	for a.open.Load() < 900 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	open, _, _ := ts.Server.ConnStats()
	t.Logf("attack: %d connections held, server holds %d", a.open.Load(), open)
	loaded := timeWorkload(t, ts.URL, 3)
	rss1, _ := procStatus("self")
	open, refused, evicted := ts.Server.ConnStats()
	t.Logf("normal client, median of 3: %v quiet, %v under %d slow connections from %d addresses: ratio %.2f",
		quiet, loaded, conns, ips, float64(loaded)/float64(quiet))
	t.Logf("server: %d connections open, %d refused, %d evicted; %d attack dials; process RSS %d MiB before, %d MiB during the attack; loadavg %s",
		open, refused, evicted, a.dials.Load(), rss0>>10, rss1>>10, loadavg())
	if open > 1000 {
		t.Errorf("server holds %d connections, limit 1000", open)
	}
	if ratio := float64(loaded) / float64(quiet); ratio > 20 {
		t.Errorf("normal client %.1fx slower under attack", ratio)
	}
}

// TestSoakSlowConnections is the full attack of issue 8 on the real
// binary: `ferry serve mega` with default limits in its own process,
// 20,000 slow connections from 100 addresses held by two helper
// processes (this test binary again; each dials again a second after the
// server closes one of its connections), and a normal client timed with
// and without them. It reports the server's VmHWM and VmRSS. Run with
//
//	FERRY_SOAK=1 go test -run TestSoakSlowConnections -v ./megaserver/
func TestSoakSlowConnections(t *testing.T) {
	if os.Getenv("FERRY_SOAK") != "1" {
		t.Skip("set FERRY_SOAK=1 for the 20,000-connection soak")
	}
	const conns, ips, helpers = 20000, 100, 2
	dir := t.TempDir()
	bin := filepath.Join(dir, "ferry")
	build := exec.Command("go", "build", "-o", bin, "./cmd/ferry")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	srv, err := megaserver.Open(megaserver.Options{Dir: data})
	if err != nil {
		t.Fatal(err)
	}
	acct, err := megaservertest.Account(megaservertest.UserV2, megaservertest.PasswordV2, megacrypto.AccountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddUser(t.Context(), acct, megaserver.UserOptions{}); err != nil {
		t.Fatal(err)
	}
	srv.Close()

	cmd := exec.Command(bin, "serve", "mega", "--listen", "127.0.0.1:0", "--data", data)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	api := ""
	sc := bufio.NewScanner(stdout)
	re := regexp.MustCompile(`MEGA API on (http://\S+)`)
	for api == "" && sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			api = m[1]
		}
	}
	go io.Copy(io.Discard, stdout)
	pid := strconv.Itoa(cmd.Process.Pid)
	quiet := timeWorkload(t, api, 3)

	// The helpers each hold conns/helpers connections (this process's
	// open-file limit could not hold all 20,000).
	var opened []*bufio.Scanner
	for h := 0; h < helpers; h++ {
		hc := exec.Command(os.Args[0], "-test.run=^TestSoakAttackHelper$")
		hc.Env = append(os.Environ(), fmt.Sprintf("FERRY_SOAK_ATTACK=%s,%d,%d,%d", strings.TrimPrefix(api, "http://"), conns/helpers, ips/helpers, h*ips/helpers))
		out, _ := hc.StdoutPipe()
		hc.Stderr = os.Stderr
		stdin, _ := hc.StdinPipe()
		if err := hc.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { stdin.Close(); hc.Wait() }()
		opened = append(opened, bufio.NewScanner(out))
	}
	held := make([]atomic.Int64, helpers)
	for h, s := range opened {
		go func() {
			for s.Scan() {
				if n, err := strconv.ParseInt(strings.TrimPrefix(s.Text(), "open "), 10, 64); err == nil {
					held[h].Store(n)
				}
			}
		}()
	}
	total := func() int64 {
		var n int64
		for h := range held {
			n += held[h].Load()
		}
		return n
	}
	deadline := time.Now().Add(60 * time.Second)
	for total() < 4000 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	t.Logf("attack: %d of %d connections established at the moment", total(), conns)
	loaded := timeWorkload(t, api, 3)
	rss, hwm := procStatus(pid)
	t.Logf("normal client, median of 3: %v quiet, %v under %d slow connections from %d addresses: ratio %.2f",
		quiet, loaded, conns, ips, float64(loaded)/float64(quiet))
	t.Logf("server process: VmRSS %d MiB, VmHWM %d MiB; loadavg %s", rss>>10, hwm>>10, loadavg())
}

// TestSoakAttackHelper is the attacking side of TestSoakSlowConnections,
// run in a child process; it prints the connections it holds every
// 500 ms until its stdin closes.
func TestSoakAttackHelper(t *testing.T) {
	spec := os.Getenv("FERRY_SOAK_ATTACK")
	if spec == "" {
		t.Skip("helper process of TestSoakSlowConnections")
	}
	var addr string
	var n, ips, first int
	parts := strings.Split(spec, ",")
	addr = parts[0]
	n, _ = strconv.Atoi(parts[1])
	ips, _ = strconv.Atoi(parts[2])
	first, _ = strconv.Atoi(parts[3])
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	lim.Cur = lim.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	a := startAttackFrom(addr, n, ips, first, time.Second)
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(done) }()
	for {
		select {
		case <-done:
			a.stop()
			return
		case <-time.After(500 * time.Millisecond):
			fmt.Printf("open %d\n", a.open.Load())
		}
	}
}
