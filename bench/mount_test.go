package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"ferry/mega"
	"ferry/megaserver/megaservertest"
)

// Environment of the mount benchmark (bench/mount.sh).
const (
	mountEnable   = "FERRY_BENCH_MOUNT"          // "1" runs it
	mountSizeEnv  = "FERRY_BENCH_MOUNT_SIZE"     // the big file's size (default 1G)
	mountCountEnv = "FERRY_BENCH_COUNT"          // runs of each measure (default 1)
	mountTarEnv   = "FERRY_BENCH_MOUNT_TREE"     // GOROOT/src subtrees of the untar measure
	mountDogEnv   = "FERRY_BENCH_MOUNT_WATCHDOG" // lifetime of one mount before it is aborted
	mountOnlyEnv  = "FERRY_BENCH_MOUNT_ONLY"     // the measures to run (default all)
	mountReads    = 200                          // random reads of measure (b)
	mountReadSize = 4 << 10                      // bytes per random read
	mountSeed     = 0x6d6f756e74                 // the big file's data and the read offsets
)

// defaultMountTree is the part of $(go env GOROOT)/src untarred by measure
// (d): 4,909 files and 767 folders, 57 MB, with Go 1.26.
const defaultMountTree = "cmd go"

// TestBenchMount compares the ferry binary's mount (a real `ferry mount`
// process, FUSE, on the loopback MEGA server) with what a user would do
// without it, in four measures; each runs FERRY_BENCH_COUNT times
// (default 1), every run on a fresh mount with an empty cache dir:
//
//   - seq: `dd bs=1M` of the big file (FERRY_BENCH_MOUNT_SIZE, default
//     1 GiB) through the mount to /dev/null, against `ferry cat` of it to
//     /dev/null; then the same through a --direct-io mount.
//   - rand: 200 reads of 4 KiB at offsets drawn with a fixed seed, each
//     one os.File.ReadAt on a handle opened with O_DIRECT (so the kernel's
//     page cache and read-ahead serve none of them) and checked against
//     the file's bytes; latency of each read and bytes the server's
//     download replies sent, counted in a proxy between the clients and
//     the server. Against the MegaFS way: open downloads the whole file
//     to a local temporary file (`ferry cat` through the same proxy),
//     then the reads hit that file; its first read waits for the whole
//     download.
//   - small: `cp -r` of 1,000 files of 1-64 KiB (fixed seed, 10 folders)
//     into the mount, timed until the mount process has exited after
//     `ferry umount` (every upload done), against `ferry copy` of the same
//     folder. Both results are checked with `ferry size` and `ferry lsf`:
//     a file missing is a test error and counted as lost, and the
//     benchmark goes on.
//   - untar: `tar -x` of a tar of defaultMountTree (FERRY_BENCH_MOUNT_TREE)
//     into the mount, timed the same way, against `tar -x` into a local
//     folder followed by `sync -f`.
//
// FERRY_BENCH_MOUNT_ONLY picks measures ("seq rand", say). It runs only
// with FERRY_BENCH_MOUNT=1 and logs lines mount.sh turns into a table:
//
//	MOUNTBENCH measure=seq tool=mount run=1 bytes=1073741824 seconds=1.23
func TestBenchMount(t *testing.T) {
	if os.Getenv(mountEnable) != "1" {
		t.Skipf("set %s=1 to run (see bench/mount.sh)", mountEnable)
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse: the mount benchmark needs FUSE (apt-get install fuse3)")
	}
	if _, err := exec.LookPath("fusermount3"); err != nil {
		t.Skip("no fusermount3 on PATH: the mount benchmark needs fuse3 (apt-get install fuse3)")
	}
	size := envSize(t, mountSizeEnv, 1<<30)
	if size < mountReadSize {
		t.Fatalf("%s=%d: want at least %d bytes", mountSizeEnv, size, mountReadSize)
	}
	runs := 1
	if os.Getenv(mountCountEnv) != "" {
		runs = envInt(t, mountCountEnv, 1)
	}
	dir := benchDir(t)
	ts := megaservertest.Start(t, megaservertest.WithDir(filepath.Join(dir, "server")),
		megaservertest.WithLogger(slog.New(slog.DiscardHandler)), megaservertest.WithWaitTimeout(time.Second))
	var dl dlCounter
	proxy := megaservertest.StartProxy(t, ts.URL, megaservertest.ProxyConfig{Reply: dl.reply})

	measures := map[string]bool{}
	for _, name := range strings.Fields(cmp.Or(os.Getenv(mountOnlyEnv), "seq rand small untar")) {
		if !slices.Contains([]string{"seq", "rand", "small", "untar"}, name) {
			t.Fatalf("%s=%q: %q is not one of seq, rand, small, untar", mountOnlyEnv, os.Getenv(mountOnlyEnv), name)
		}
		measures[name] = true
	}
	watchdog := 15 * time.Minute
	if s := os.Getenv(mountDogEnv); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("%s=%q: want a duration such as 15m", mountDogEnv, s)
		}
		watchdog = d
	}

	// Remote m talks to the server, remote p to the counting proxy.
	b := &mountBench{t: t, f: newCLIFerry(t, ts.URL), dir: dir, size: size, dl: &dl, watchdog: watchdog}
	b.f.mustRun(t, t.TempDir(), "config", "create", "--obscure", "p", "mega",
		"user="+megaservertest.UserV2, "pass="+megaservertest.PasswordV2, "url="+proxy.URL)
	b.cacheM, b.cacheP = t.TempDir(), t.TempDir()
	if measures["seq"] || measures["rand"] {
		b.uploadBig(ts.URL)
	}
	b.f.mustRun(t, b.cacheM, "lsf", "m:")
	b.f.mustRun(t, b.cacheP, "lsf", "p:")
	if measures["small"] {
		b.small = filepath.Join(dir, "small")
		b.smallBytes = cliWriteSmallFiles(t, b.small, 1000)
		b.smallFiles = listFiles(t, b.small)
	}
	if measures["untar"] {
		b.tree, b.tarFile, b.tarFiles = mountTar(t, dir)
	}
	if measures["seq"] {
		b.warmUp()
	}
	for run := 1; run <= runs; run++ {
		if measures["seq"] {
			b.seq(run)
		}
		if measures["rand"] {
			b.rand(run)
		}
		if measures["small"] {
			b.smallFilesRun(run)
		}
		if measures["untar"] {
			b.untar(run)
		}
	}
}

// mountBench holds what the measures of TestBenchMount share.
type mountBench struct {
	t              *testing.T
	f              *cliFerry
	dir            string        // FERRY_BENCH_DIR's fresh folder
	size           int64         // of big.bin
	dl             *dlCounter    // download bytes through remote p
	watchdog       time.Duration // per mount
	cacheM, cacheP string        // cache dirs of the commands on m and p

	small      string   // the small files' folder
	smallFiles []string // its files
	smallBytes int64

	tree, tarFile string   // the untar measure's GOROOT/src subtrees and tar
	tarFiles      []string // the tar's regular files
}

func (b *mountBench) report(format string, args ...any) {
	b.t.Logf("MOUNTBENCH "+format, args...)
}

func (b *mountBench) mount(remote string, flags ...string) *benchMount {
	return b.f.mount(b.t, remote, b.watchdog, flags...)
}

// ferry returns the command of ferry args on cache dir cache.
func (b *mountBench) ferry(cache string, args ...string) *exec.Cmd {
	return exec.Command(b.f.bin, append([]string{"--config", b.f.config, "--cache-dir", cache}, args...)...)
}

// uploadBig uploads big.bin, in process.
func (b *mountBench) uploadBig(url string) {
	t, ctx := b.t, b.t.Context()
	fc := mega.New(mega.Options{APIURL: url})
	if err := fc.Login(ctx, megaservertest.UserV2, megaservertest.PasswordV2, mega.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := fc.FetchTree(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := fc.Upload(ctx, fc.Root(), "big.bin", newStream(mountSeed, b.size), b.size, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// warmUp reads the big file once through a mount, untimed. The page
// cache of a mount takes fresh memory, and the first touch of memory a
// VM guest has never used costs the host a fault per page: on the bench
// machine right after boot, first touches ran at 3.5 s per GB, later
// ones at 1.3 (a program touching 18 GB twice), and (a) through the page
// cache at 290-570 MB/s against 750-880 once memory had been used. The
// warm-up makes run 1 measure the mount, not the VM's first touch.
func (b *mountBench) warmUp() {
	t := b.t
	m := b.mount("m:")
	if _, err := timeCmd(exec.Command("dd", "if="+filepath.Join(m.dir, "big.bin"), "of=/dev/null", "bs=1M"), nil); err != nil {
		t.Fatalf("dd through the mount (warm-up): %v\n%s", err, m.stderr)
	}
	m.unmount(t)
}

// seq is measure (a): `ferry cat` to /dev/null, then `dd` through a fresh
// mount, then through a fresh --direct-io mount.
func (b *mountBench) seq(run int) {
	t := b.t
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	d, err := timeCmd(b.ferry(b.cacheM, "cat", "m:big.bin"), null)
	if err != nil {
		t.Fatalf("ferry cat: %v", err)
	}
	b.report("measure=seq tool=cat run=%d bytes=%d seconds=%.4f", run, b.size, d.Seconds())
	m := b.mount("m:")
	d, err = timeCmd(exec.Command("dd", "if="+filepath.Join(m.dir, "big.bin"), "of=/dev/null", "bs=1M"), nil)
	if err != nil {
		t.Fatalf("dd through the mount: %v\n%s", err, m.stderr)
	}
	m.unmount(t)
	b.report("measure=seq tool=mount run=%d bytes=%d seconds=%.4f", run, b.size, d.Seconds())
	// The same through a --direct-io mount: no page cache, one copy.
	m = b.mount("m:", "--direct-io")
	d, err = timeCmd(exec.Command("dd", "if="+filepath.Join(m.dir, "big.bin"), "of=/dev/null", "bs=1M"), nil)
	if err != nil {
		t.Fatalf("dd through the --direct-io mount: %v\n%s", err, m.stderr)
	}
	m.unmount(t)
	b.report("measure=seq tool=mount-dio run=%d bytes=%d seconds=%.4f", run, b.size, d.Seconds())
}

// rand is measure (b): random reads through a fresh mount and the MegaFS
// way, both on remote p, so the proxy counts what the server sent.
func (b *mountBench) rand(run int) {
	t := b.t
	offsets := mountOffsets(b.size)
	m := b.mount("p:")
	b.dl.reset()
	lat, direct, err := randomReads(filepath.Join(m.dir, "big.bin"), offsets, true, time.Now())
	if err != nil {
		t.Fatalf("random reads through the mount: %v\n%s", err, m.stderr)
	}
	fetched, requests := b.dl.load()
	m.unmount(t)
	b.report("measure=rand tool=mount run=%d reads=%d direct=%t fetched=%d requests=%d %s", run, len(lat), direct, fetched, requests, latencies(lat))

	// MegaFS: open downloads the whole file to a temporary file, reads
	// are served from it.
	tmp := filepath.Join(b.dir, "megafs-open.tmp")
	out, err := os.Create(tmp)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(tmp)
	b.dl.reset()
	start := time.Now()
	_, err = timeCmd(b.ferry(b.cacheP, "cat", "p:big.bin"), out)
	out.Close()
	if err != nil {
		t.Fatalf("ferry cat p:big.bin: %v", err)
	}
	fetched, requests = b.dl.load()
	lat, _, err = randomReads(tmp, offsets, false, start)
	if err != nil {
		t.Fatalf("random reads of the downloaded copy: %v", err)
	}
	b.report("measure=rand tool=megafs run=%d reads=%d direct=false fetched=%d requests=%d %s", run, len(lat), fetched, requests, latencies(lat))
}

// smallFilesRun is measure (c): `cp -r` into a fresh mount until it is
// unmounted, then `ferry copy`.
func (b *mountBench) smallFilesRun(run int) {
	t := b.t
	// The default: a close returns once the file is journalled and its
	// upload starts at once in the background; "off": each close waits
	// for its upload; rclone's --vfs-write-back 5s. The time runs until
	// the unmount has finished every upload.
	for _, c := range []struct{ tool, writeBack string }{{"mount", ""}, {"mount-off", "off"}, {"mount-wb", "5s"}} {
		dst := fmt.Sprintf("small-%s-%d", c.tool, run)
		var args []string
		if c.writeBack != "" {
			args = []string{"--vfs-write-back", c.writeBack}
		}
		m := b.mount("m:", args...)
		start := time.Now()
		if out, err := exec.Command("cp", "-r", b.small, filepath.Join(m.dir, dst)).CombinedOutput(); err != nil {
			t.Fatalf("cp -r into the mount: %v\n%s\n%s", err, out, m.stderr)
		}
		m.unmount(t)
		d := time.Since(start)
		lost := b.f.missingFiles(t, "m:"+dst, b.smallFiles, b.smallBytes)
		b.report("measure=small tool=%s run=%d files=%d bytes=%d lost=%d seconds=%.4f", c.tool, run, len(b.smallFiles), b.smallBytes, lost, d.Seconds())
	}

	dst := fmt.Sprintf("small-copy-%d", run)
	d, err := timeCmd(b.ferry(b.cacheM, "copy", b.small, "m:"+dst), nil)
	if err != nil {
		t.Fatalf("ferry copy: %v", err)
	}
	lost := b.f.missingFiles(t, "m:"+dst, b.smallFiles, b.smallBytes)
	b.report("measure=small tool=copy run=%d files=%d bytes=%d lost=%d seconds=%.4f", run, len(b.smallFiles), b.smallBytes, lost, d.Seconds())
}

// untar is measure (d): `tar -x` into a fresh mount until it is
// unmounted, then into a local folder and `sync -f`.
func (b *mountBench) untar(run int) {
	t := b.t
	dst := fmt.Sprintf("untar-%d", run)
	m := b.mount("m:")
	start := time.Now()
	into := filepath.Join(m.dir, dst)
	if out, err := exec.Command("sh", "-c", fmt.Sprintf("mkdir '%s' && tar -xf '%s' -C '%s'", into, b.tarFile, into)).CombinedOutput(); err != nil {
		t.Fatalf("tar -x into the mount: %v\n%s\n%s", err, out, m.stderr)
	}
	m.unmount(t)
	d := time.Since(start)
	lost := b.f.missingFiles(t, "m:"+dst, b.tarFiles, -1)
	tree := strings.Join(strings.Fields(b.tree), ",")
	b.report("measure=untar tool=mount run=%d files=%d tree=%s lost=%d seconds=%.4f", run, len(b.tarFiles), tree, lost, d.Seconds())

	local := filepath.Join(b.dir, dst)
	defer os.RemoveAll(local)
	start = time.Now()
	if out, err := exec.Command("sh", "-c", fmt.Sprintf("mkdir '%s' && tar -xf '%s' -C '%s' && sync -f '%s'",
		local, b.tarFile, local, local)).CombinedOutput(); err != nil {
		t.Fatalf("tar -x into %s: %v\n%s", local, err, out)
	}
	d = time.Since(start)
	b.report("measure=untar tool=local run=%d files=%d tree=%s dir=%s seconds=%.4f", run, len(b.tarFiles), tree, b.dir, d.Seconds())
}

// dlCounter counts the bytes of download replies (/dl/) a Proxy passes on:
// what the server sent for file data.
type dlCounter struct {
	bytes, requests atomic.Int64
}

func (c *dlCounter) reset() { c.bytes.Store(0); c.requests.Store(0) }

func (c *dlCounter) load() (bytes, requests int64) { return c.bytes.Load(), c.requests.Load() }

// reply is a ProxyConfig.Reply that copies the response and counts it.
func (c *dlCounter) reply(w http.ResponseWriter, r *http.Request, resp *http.Response) {
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	n, _ := io.Copy(w, resp.Body)
	if strings.Contains(r.URL.Path, "/dl/") {
		c.bytes.Add(n)
		c.requests.Add(1)
	}
}

// mountOffsets draws the offsets of the random reads with a fixed seed.
func mountOffsets(size int64) []int64 {
	rng := rand.New(rand.NewPCG(mountSeed, mountSeed))
	offs := make([]int64, mountReads)
	for i := range offs {
		offs[i] = rng.Int64N(size - mountReadSize + 1)
	}
	return offs
}

// randomReads reads mountReadSize bytes at each offset of path with
// ReadAt and checks them against the big file's stream. With direct it
// opens the file with O_DIRECT (reporting whether that worked; the
// buffer is page aligned). The first latency counts from start, so a
// caller that fetched the file first can include that.
func randomReads(path string, offsets []int64, direct bool, start time.Time) ([]time.Duration, bool, error) {
	flags := os.O_RDONLY
	if direct {
		flags |= syscall.O_DIRECT
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil && direct && errors.Is(err, syscall.EINVAL) {
		direct = false
		f, err = os.OpenFile(path, os.O_RDONLY, 0)
	}
	if err != nil {
		return nil, direct, err
	}
	defer f.Close()
	buf, want := alignedBuffer(mountReadSize), make([]byte, mountReadSize)
	lat := make([]time.Duration, 0, len(offsets))
	for i, off := range offsets {
		if i > 0 {
			start = time.Now()
		}
		n, err := f.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, direct, fmt.Errorf("ReadAt(%d): %w", off, err)
		}
		lat = append(lat, time.Since(start))
		fillAt(want[:n], mountSeed, off)
		if n != len(buf) || !bytes.Equal(buf[:n], want[:n]) {
			return nil, direct, fmt.Errorf("ReadAt(%d): %d bytes, not the file's %d bytes there", off, n, len(buf))
		}
	}
	return lat, direct, nil
}

// alignedBuffer returns n bytes starting on a page boundary, as O_DIRECT
// may require.
func alignedBuffer(n int) []byte {
	const page = 4096
	b := make([]byte, n+page)
	skip := (page - int(uintptr(unsafe.Pointer(&b[0]))%page)) % page
	return b[skip : skip+n]
}

// latencies formats the first, median and 99th percentile latency in ms.
func latencies(lat []time.Duration) string {
	s := slices.Clone(lat)
	slices.Sort(s)
	pct := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return fmt.Sprintf("first_ms=%.3f p50_ms=%.3f p99_ms=%.3f", ms(lat[0]), ms(pct(0.50)), ms(pct(0.99)))
}

// timeCmd runs cmd (its stdout to stdout when not nil) and returns its
// wall time.
func timeCmd(cmd *exec.Cmd, stdout *os.File) (time.Duration, error) {
	var errb bytes.Buffer
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.Stderr = &errb
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return d, fmt.Errorf("%v: %v\n%.2000s", cmd.Args, err, errb.String())
	}
	return d, nil
}

// mountTar writes a tar of the GOROOT/src subtrees of $FERRY_BENCH_MOUNT_TREE
// (default defaultMountTree) to dir and returns the subtrees, the tar's
// path and its regular files (slash paths).
func mountTar(t *testing.T, dir string) (tree, path string, files []string) {
	t.Helper()
	tree = defaultMountTree
	if s := strings.TrimSpace(os.Getenv(mountTarEnv)); s != "" {
		tree = s
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	src := filepath.Join(strings.TrimSpace(string(goroot)), "src")
	path = filepath.Join(dir, "tree.tar")
	args := append([]string{"-cf", path, "-C", src}, strings.Fields(tree)...)
	if out, err := exec.Command("tar", args...).CombinedOutput(); err != nil {
		t.Fatalf("tar %v: %v\n%s", args, err, out)
	}
	for _, sub := range strings.Fields(tree) {
		for _, p := range listFiles(t, filepath.Join(src, sub)) {
			files = append(files, sub+"/"+p)
		}
	}
	out, err := exec.Command("tar", "-tvf", path).Output()
	if err != nil {
		t.Fatalf("tar -tvf: %v", err)
	}
	for line := range bytes.Lines(out) {
		if len(line) > 0 && line[0] != '-' && line[0] != 'd' {
			t.Fatalf("%s holds more than files and folders (the mount refuses links): %s", tree, line)
		}
	}
	return tree, path, files
}

// missingFiles compares remote with want (slash paths relative to remote,
// of bytes bytes in all; bytes < 0: any size), as `ferry size --json` and
// `ferry lsf -R` see it with a fresh cache. It returns the number of files
// of want that remote lacks; any difference is a test error naming the
// paths, so the benchmark goes on and reports the loss.
func (f *cliFerry) missingFiles(t *testing.T, remote string, want []string, bytes int64) int {
	t.Helper()
	r := f.mustRun(t, t.TempDir(), "size", "--json", remote)
	var got struct{ Count, Bytes int64 }
	if err := json.Unmarshal(r.stdout, &got); err != nil {
		t.Fatalf("ferry size --json %s: %v: %s", remote, err, r.stdout)
	}
	if got.Count == int64(len(want)) && (bytes < 0 || got.Bytes == bytes) {
		return 0
	}
	have := map[string]bool{}
	for line := range strings.Lines(string(f.mustRun(t, t.TempDir(), "lsf", "-R", "--files-only", remote).stdout)) {
		have[strings.TrimRight(line, "\n")] = true
	}
	var missing, extra []string
	for _, p := range want {
		if !have[p] {
			missing = append(missing, p)
		}
		delete(have, p)
	}
	for p := range have {
		extra = append(extra, p)
	}
	slices.Sort(extra)
	t.Errorf("%s holds %d files of %d bytes, want %d files of %d bytes; missing %d: %q; unexpected %d: %q",
		remote, got.Count, got.Bytes, len(want), bytes, len(missing), missing[:min(len(missing), 20)], len(extra), extra[:min(len(extra), 20)])
	return len(missing)
}

// listFiles returns the slash paths of the regular files under dir.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// benchMount is a running `ferry mount` process.
type benchMount struct {
	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
	stderr *lockedBuffer
	dog    *time.Timer
	once   sync.Once
}

// mount starts `ferry mount remote DIR` with an empty cache dir, waits
// until it says it is mounted, and arms a watchdog: after watchdog the
// FUSE connection is aborted (which frees processes stuck in it) and the
// process killed. The test's end unmounts it if the test did not.
func (f *cliFerry) mount(t *testing.T, remote string, watchdog time.Duration, flags ...string) *benchMount {
	t.Helper()
	m := &benchMount{dir: t.TempDir(), exited: make(chan struct{}), stderr: &lockedBuffer{}}
	m.cmd = exec.Command(f.bin, append([]string{"--config", f.config, "--cache-dir", t.TempDir(), "mount", remote, m.dir}, flags...)...)
	m.cmd.Stdout, m.cmd.Stderr = m.stderr, m.stderr
	// SIGTERM unmounts: a mount must not outlive a killed test.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("ferry mount: %v", err)
	}
	go func() {
		m.cmd.Wait()
		close(m.exited)
	}()
	t.Cleanup(func() { m.stop(t) })
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(m.stderr.String(), "Mounted ") {
		select {
		case <-m.exited:
			t.Fatalf("ferry mount %s exited before mounting: %s\n%s", remote, m.cmd.ProcessState, m.stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("ferry mount %s: not mounted after 2 minutes\n%s", remote, m.stderr)
		}
	}
	var st unix.Stat_t
	if err := unix.Stat(m.dir, &st); err != nil {
		t.Fatalf("stat mountpoint: %v", err)
	}
	conn := filepath.Join("/sys/fs/fuse/connections", strconv.FormatUint(uint64(unix.Minor(st.Dev)), 10), "abort")
	m.dog = time.AfterFunc(watchdog, func() {
		os.WriteFile(conn, []byte("1"), 0)
		m.cmd.Process.Kill()
		t.Errorf("ferry mount %s still running after %v: FUSE connection aborted, process killed\n%s", remote, watchdog, m.stderr)
	})
	return m
}

// unmount runs `ferry umount` and waits for the mount process to exit,
// which it does once every upload is done; it fails the test if that
// does not end cleanly.
func (m *benchMount) unmount(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "fusermount3", "-u", m.dir).CombinedOutput(); err != nil {
		t.Fatalf("fusermount3 -u %s: %v: %s", m.dir, err, out)
	}
	select {
	case <-m.exited:
	case <-ctx.Done():
		t.Fatalf("ferry mount did not exit within 5 minutes of its unmount\n%s", m.stderr)
	}
	m.dog.Stop()
	if !m.cmd.ProcessState.Success() {
		t.Fatalf("ferry mount exited with %s after its unmount\n%s", m.cmd.ProcessState, m.stderr)
	}
}

// stop ends the mount however it is: unmounted and exited, stuck, or
// still serving.
func (m *benchMount) stop(t *testing.T) {
	m.once.Do(func() {
		select {
		case <-m.exited:
			return
		default:
		}
		if m.dog != nil {
			m.dog.Stop()
		}
		if err := exec.Command("fusermount3", "-u", m.dir).Run(); err != nil {
			exec.Command("fusermount3", "-u", "-z", m.dir).Run()
		}
		select {
		case <-m.exited:
		case <-time.After(time.Minute):
			m.cmd.Process.Kill()
			<-m.exited
			t.Errorf("ferry mount killed: it did not exit within a minute of its unmount\n%s", m.stderr)
		}
	})
}

// lockedBuffer is a bytes.Buffer safe for a process's writes and the
// test's reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
