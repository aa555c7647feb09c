// Package bench compares ferry's MEGA transfers with go-mega's and with
// the limit (the same bytes moved the same way without crypto, see
// rawClient) on one loopback server and measures ferry's peak memory;
// transfer.sh turns the results into the README's table.
//
//	go test -run '^$' -bench BenchmarkTransfer -benchtime=1x -count=3 ./bench/
//	FERRY_BENCH_RSS=1 go test -run '^TestPeakRSS$' -v ./bench/
//
// Environment:
//
//	FERRY_BENCH_SIZE        bytes per transfer, with an optional K, M or G
//	                        (binary) suffix; default 256M
//	FERRY_BENCH_DIR         where the server keeps its data and the go-mega
//	                        source file; default /dev/shm when it exists
//	                        (tmpfs: the server's fsync of each upload then
//	                        costs nothing, so the clients are what is
//	                        measured), else the test's temporary directory
//	FERRY_BENCH_GOMEGA_UL   go-mega's best upload workers (default 16)
//	FERRY_BENCH_GOMEGA_DL   go-mega's best download workers (default 16)
//	FERRY_BENCH_GOMEGA_SWEEP  comma-separated worker counts: adds
//	                        upload/gomega-wN and download/gomega-wN
//	                        sub-benchmarks to find the best setting
//	FERRY_BENCH_RSS=1       runs TestPeakRSS
//	FERRY_BENCH_RSS_SIZE    bytes per transfer in TestPeakRSS; default 1G
package bench

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gomega "github.com/t3rm1n4l/go-mega"

	"ferry/mega"
	"ferry/megaserver/megaservertest"
)

// Defaults of the environment knobs.
const (
	defaultSize     = 256 << 20
	defaultRSSSize  = 1 << 30
	defaultGoMegaUL = 16
	defaultGoMegaDL = 16
	dataSeed        = 0x5eed
)

// envSize reads a byte count such as "268435456", "256M" or "1G".
func envSize(tb testing.TB, name string, def int64) int64 {
	s := strings.TrimSpace(os.Getenv(name))
	if s == "" {
		return def
	}
	mult := int64(1)
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	}
	if mult > 1 {
		s = strings.TrimSpace(s[:len(s)-1])
		s = strings.TrimSuffix(strings.TrimSuffix(s, "i"), "I")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		tb.Fatalf("%s=%q: want a byte count such as 256M", name, os.Getenv(name))
	}
	return n * mult
}

func envInt(tb testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// benchDir returns a fresh directory for server data and source files.
func benchDir(tb testing.TB) string {
	base := os.Getenv("FERRY_BENCH_DIR")
	if base == "" {
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			base = "/dev/shm"
		}
	}
	if base == "" {
		return tb.TempDir()
	}
	dir, err := os.MkdirTemp(base, "ferry-bench-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// splitmix64 is the mixing step of SplitMix64: a fast, stateless PRNG.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// fillAt writes the bytes [off, off+len(p)) of the pseudo-random stream
// seed into p: word i of the stream is splitmix64(seed+i), little endian.
// It runs at several GB/s, so generating upload data costs ferry little.
func fillAt(p []byte, seed uint64, off int64) {
	for len(p) > 0 {
		w := splitmix64(seed + uint64(off>>3))
		if off&7 == 0 && len(p) >= 8 {
			binary.LittleEndian.PutUint64(p, w)
			p, off = p[8:], off+8
			continue
		}
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], w)
		k := copy(p, b[off&7:])
		p, off = p[k:], off+int64(k)
	}
}

// stream is an io.Reader of size bytes of the stream seed, holding none:
// the upload source for ferry.
type stream struct {
	seed      uint64
	off, size int64
}

func newStream(seed uint64, size int64) *stream { return &stream{seed: seed, size: size} }

func (s *stream) Read(p []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), s.size-s.off)]
	fillAt(p, s.seed, s.off)
	s.off += int64(len(p))
	return len(p), nil
}

// writeSource writes the same bytes as newStream(seed, size) to a file:
// go-mega uploads only from a path.
func writeSource(tb testing.TB, path string, seed uint64, size int64) {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.CopyBuffer(f, newStream(seed, size), make([]byte, 1<<20)); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// checkingDiscard counts bytes and checks them against the stream, so a
// download benchmark proves it got the right bytes without storing them.
type checkingDiscard struct {
	seed uint64
	off  int64
	buf  []byte
	bad  bool
}

func (c *checkingDiscard) Write(p []byte) (int, error) {
	// Comparing every byte would cost as much as the transfer; compare the
	// first 64 bytes of every write.
	k := min(len(p), 64)
	if len(c.buf) < k {
		c.buf = make([]byte, 64)
	}
	fillAt(c.buf[:k], c.seed, c.off)
	if string(c.buf[:k]) != string(p[:k]) {
		c.bad = true
	}
	c.off += int64(len(p))
	return len(p), nil
}

// newGoMega logs a go-mega client in.
func newGoMega(tb testing.TB, apiURL string, ul, dl int) *gomega.Mega {
	m := gomega.New()
	m.SetLogger(nil)
	m.SetAPIUrl(apiURL)
	if err := m.SetUploadWorkers(ul); err != nil {
		tb.Fatal(err)
	}
	if err := m.SetDownloadWorkers(dl); err != nil {
		tb.Fatal(err)
	}
	if err := m.Login(megaservertest.UserV2, megaservertest.PasswordV2); err != nil {
		tb.Fatalf("go-mega Login: %v", err)
	}
	return m
}

// rate is a finished sub-benchmark's throughput in MB/s (10^6 bytes, as
// the testing package reports it).
// cpuPerOp starts counting the process's CPU time (user and system, client
// and in-process server together); the function it returns reports it per
// op as cpu-ms/op. Unlike a rate, CPU time per op barely moves when other
// work shares the machine, so it shows what a change to the hot path saves
// even on a busy machine.
func cpuPerOp(b *testing.B) func() {
	before := processCPU(b)
	return func() {
		b.ReportMetric(float64(processCPU(b)-before)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	}
}

// processCPU is the user plus system time the process has used.
func processCPU(b *testing.B) time.Duration { return rusageCPU(b, syscall.RUSAGE_SELF) }

// childrenCPU is the user plus system time of the children the process
// has waited for.
func childrenCPU(b *testing.B) time.Duration { return rusageCPU(b, syscall.RUSAGE_CHILDREN) }

// rusageCPU is the user plus system time of who (getrusage(2)).
func rusageCPU(b *testing.B, who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func rate(b *testing.B, size int64) float64 {
	return float64(size) * float64(b.N) / b.Elapsed().Seconds() / 1e6
}

// BenchmarkTransfer uploads and downloads FERRY_BENCH_SIZE bytes with
// ferry's client and with go-mega (at its default worker counts and at its
// best) against the same loopback server, and measures the machine's
// single-core AES-CBC rate, which bounds chunk MACs. upload/limit and
// download/limit move the same bytes with ferry's pieces, concurrency and
// HTTP client but no crypto (rawClient): the ceiling for ferry on this
// server and machine. ferry's sub-benchmarks report their ratios to
// go-mega's and their share of the limit as extra metrics.
func BenchmarkTransfer(b *testing.B) {
	size := envSize(b, "FERRY_BENCH_SIZE", defaultSize)
	bestUL := envInt(b, "FERRY_BENCH_GOMEGA_UL", defaultGoMegaUL)
	bestDL := envInt(b, "FERRY_BENCH_GOMEGA_DL", defaultGoMegaDL)
	dir := benchDir(b)
	ctx := b.Context()
	ts := megaservertest.Start(b, megaservertest.WithDir(filepath.Join(dir, "server")),
		megaservertest.WithLogger(slog.New(slog.DiscardHandler)))

	fc := mega.New(mega.Options{APIURL: ts.URL})
	if err := fc.Login(ctx, megaservertest.UserV2, megaservertest.PasswordV2, mega.LoginOptions{}); err != nil {
		b.Fatal(err)
	}
	if err := fc.FetchTree(ctx); err != nil {
		b.Fatal(err)
	}
	src := filepath.Join(dir, "source.bin")
	writeSource(b, src, dataSeed, size)
	// The file every download benchmark fetches, uploaded once.
	dlNode, err := fc.Upload(ctx, fc.Root(), "download.bin", newStream(dataSeed, size), size, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	// go-mega logs in after that upload, so its tree has the file.
	gmDefault := gomega.New()
	gmDefault.SetLogger(nil)
	gmDefault.SetAPIUrl(ts.URL)
	if err := gmDefault.Login(megaservertest.UserV2, megaservertest.PasswordV2); err != nil {
		b.Fatal(err)
	}
	gmBest := newGoMega(b, ts.URL, bestUL, bestDL)
	sweep := map[int]*gomega.Mega{}
	var sweepN []int
	for f := range strings.SplitSeq(os.Getenv("FERRY_BENCH_GOMEGA_SWEEP"), ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			b.Fatalf("FERRY_BENCH_GOMEGA_SWEEP: %q", f)
		}
		sweepN = append(sweepN, n)
		sweep[n] = newGoMega(b, ts.URL, n, n)
	}
	// go-mega writes downloads to a path: a link to /dev/null discards the
	// bytes like ferry's io.Discard (and if go-mega removes its output after
	// an error, it removes the link).
	null := filepath.Join(dir, "null")
	if err := os.Symlink(os.DevNull, null); err != nil {
		b.Fatal(err)
	}
	raw := newRawClient(b, ts, fc)
	rates := map[string]float64{}

	b.Run("cbcmac", func(b *testing.B) {
		// One core encrypting 1 MiB buffers with AES-CBC: the rate of
		// MEGA's chunk MAC (CBC-MAC is CBC encryption keeping the last
		// block), size bytes per op like the transfers.
		block, err := aes.NewCipher(make([]byte, 16))
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 1<<20)
		iv := make([]byte, 16)
		b.SetBytes(size)
		for b.Loop() {
			for done := int64(0); done < size; done += int64(len(buf)) {
				cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
			}
		}
		rates["cbcmac"] = rate(b, size)
	})

	gomegaUpload := func(m *gomega.Mega, name string) func(b *testing.B) {
		return func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				n, err := m.UploadFile(src, m.FS.GetRoot(), "gomega.bin", nil)
				if err != nil {
					b.Fatalf("go-mega UploadFile: %v", err)
				}
				b.StopTimer()
				if err := m.Delete(n, true); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			rates[name] = rate(b, size)
		}
	}
	gomegaDownload := func(m *gomega.Mega, name string) func(b *testing.B) {
		return func(b *testing.B) {
			n := m.FS.HashLookup(dlNode.Handle)
			if n == nil {
				b.Fatal("go-mega does not have the download file")
			}
			b.SetBytes(size)
			for b.Loop() {
				if err := m.DownloadFile(n, null, nil); err != nil {
					b.Fatalf("go-mega DownloadFile: %v", err)
				}
			}
			rates[name] = rate(b, size)
		}
	}
	ratios := func(b *testing.B, op string) {
		r := rates[op+"/ferry"]
		if d := rates[op+"/gomega-default"]; d > 0 {
			b.ReportMetric(r/d, "x-gomega-default")
		}
		if d := rates[op+"/gomega-best"]; d > 0 {
			b.ReportMetric(r/d, "x-gomega-best")
		}
		if d := rates[op+"/limit"]; d > 0 {
			b.ReportMetric(100*r/d, "%-of-limit")
		}
		if op == "upload" && rates["cbcmac"] > 0 {
			b.ReportMetric(100*r/rates["cbcmac"], "%-of-cbcmac")
		}
	}

	b.Run("upload/gomega-default", gomegaUpload(gmDefault, "upload/gomega-default"))
	b.Run("upload/gomega-best", gomegaUpload(gmBest, "upload/gomega-best"))
	for _, n := range sweepN {
		name := fmt.Sprintf("upload/gomega-w%d", n)
		b.Run(name, gomegaUpload(sweep[n], name))
	}
	// The limit: the same bytes, pieces, concurrency, memory budget and
	// HTTP client as ferry's, with no crypto (see rawClient).
	b.Run("upload/limit", func(b *testing.B) {
		defer cpuPerOp(b)()
		b.SetBytes(size)
		for b.Loop() {
			h, err := raw.upload(ctx, fc.Root().Handle, newStream(dataSeed, size), size)
			if err != nil {
				b.Fatalf("limit upload: %v", err)
			}
			b.StopTimer()
			if err := raw.del(ctx, h); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		rates["upload/limit"] = rate(b, size)
	})
	b.Run("upload/ferry", func(b *testing.B) {
		defer cpuPerOp(b)()
		b.SetBytes(size)
		for b.Loop() {
			n, err := fc.Upload(ctx, fc.Root(), "ferry.bin", newStream(dataSeed, size), size, time.Now())
			if err != nil {
				b.Fatalf("ferry Upload: %v", err)
			}
			b.StopTimer()
			if err := fc.Delete(ctx, n); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		rates["upload/ferry"] = rate(b, size)
		ratios(b, "upload")
	})

	b.Run("download/gomega-default", gomegaDownload(gmDefault, "download/gomega-default"))
	b.Run("download/gomega-best", gomegaDownload(gmBest, "download/gomega-best"))
	for _, n := range sweepN {
		name := fmt.Sprintf("download/gomega-w%d", n)
		b.Run(name, gomegaDownload(sweep[n], name))
	}
	b.Run("download/limit", func(b *testing.B) {
		// A plaintext copy of the bytes, uploaded raw, so the download can be
		// checked like ferry's without decrypting.
		h, err := raw.upload(ctx, fc.Root().Handle, newStream(dataSeed, size), size)
		if err != nil {
			b.Fatalf("limit upload: %v", err)
		}
		defer cpuPerOp(b)()
		b.SetBytes(size)
		for b.Loop() {
			w := &checkingDiscard{seed: dataSeed}
			if err := raw.download(ctx, h, w); err != nil {
				b.Fatalf("limit download: %v", err)
			}
			if w.bad || w.off != size {
				b.Fatalf("limit download: wrong bytes (%d of %d)", w.off, size)
			}
		}
		b.StopTimer()
		if err := raw.del(ctx, h); err != nil {
			b.Fatal(err)
		}
		rates["download/limit"] = rate(b, size)
	})
	b.Run("download/ferry", func(b *testing.B) {
		defer cpuPerOp(b)()
		b.SetBytes(size)
		for b.Loop() {
			w := &checkingDiscard{seed: dataSeed}
			if err := fc.Download(ctx, dlNode, w); err != nil {
				b.Fatalf("ferry Download: %v", err)
			}
			if w.bad || w.off != size {
				b.Fatalf("ferry Download: wrong bytes (%d of %d)", w.off, size)
			}
		}
		rates["download/ferry"] = rate(b, size)
		ratios(b, "download")
	})
}
