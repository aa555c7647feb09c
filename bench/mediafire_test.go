package bench

// The MediaFire benchmark: put and get of one large file and of many small
// ones through the mediafire backend to the stand-in on loopback, against
// curl moving the same bytes to and from the same kind of server (a fresh
// one per sub-benchmark). mediafire.sh turns the results into the README's
// table.
//
//	go test -run '^$' -bench BenchmarkMediaFire -benchtime=1x -count=3 ./bench/
//
// Environment (besides FERRY_BENCH_DIR, see transfer_test.go):
//
//	FERRY_BENCH_MF_SIZE   bytes of the large file, with an optional K, M or
//	                      G suffix; default 256M
//	FERRY_BENCH_MF_FILES  number of small files (4-64 KiB, fixed seed);
//	                      default 500
//
// Each sub-benchmark also reports cpu-ms/op: the CPU time (user and
// system) of the timed part, of this process (ferry's client and the
// in-process server) and of the children it waited for (curl, openssl).
// On a shared machine it moves far less than the rates do.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ferry/internal/backend"
	mfbackend "ferry/internal/backend/mediafire"
	"ferry/mediafireserver/mediafireservertest"
)

const (
	defaultMFSize  = 256 << 20
	defaultMFFiles = 500
	mfSmallSeed    = 0x5eed0500
	mfMinSmall     = 4 << 10
	mfMaxSmall     = 64 << 10
)

// mfFixture is the data of a run: the large file and the small files,
// written once to the bench directory so ferry and curl read the same
// bytes.
type mfFixture struct {
	large     string // path
	largeSize int64
	small     []string // paths
	smallSize []int64
	smallSum  int64
}

func newMFFixture(b *testing.B) *mfFixture {
	dir := benchDir(b)
	fx := &mfFixture{large: filepath.Join(dir, "large.bin"), largeSize: envSize(b, "FERRY_BENCH_MF_SIZE", defaultMFSize)}
	writeSource(b, fx.large, dataSeed, fx.largeSize)
	n := envInt(b, "FERRY_BENCH_MF_FILES", defaultMFFiles)
	rng := rand.New(rand.NewPCG(mfSmallSeed, 1))
	for i := range n {
		size := int64(mfMinSmall + rng.IntN(mfMaxSmall-mfMinSmall+1))
		p := filepath.Join(dir, fmt.Sprintf("small-%04d.bin", i))
		writeSource(b, p, mfSmallSeed+uint64(i)<<32, size)
		fx.small = append(fx.small, p)
		fx.smallSize = append(fx.smallSize, size)
		fx.smallSum += size
	}
	return fx
}

// mfServer starts a fresh stand-in on the bench directory (tmpfs when
// there is one) with logging off.
func mfServer(b *testing.B) *mediafireservertest.TestServer {
	return mediafireservertest.Start(b, mediafireservertest.WithDir(benchDir(b)),
		mediafireservertest.WithLogger(slog.New(slog.DiscardHandler)))
}

// mfBackend opens a fresh backend (a new process's view: no session, no
// cached listings) rooted at root, logging off.
func mfBackend(b *testing.B, ts *mediafireservertest.TestServer, root string) backend.Backend {
	cfg := backend.ConfigMap{"user": mediafireservertest.User, "pass": mediafireservertest.Password, "url": ts.URL}
	be, err := mfbackend.New(b.Context(), "mf", cfg, root, backend.Env{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if c, ok := be.(io.Closer); ok {
			c.Close()
		}
	})
	return be
}

func putFile(ctx context.Context, be backend.Backend, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	_, err = be.Put(ctx, name, f, fi.Size(), fi.ModTime())
	return err
}

func getFile(ctx context.Context, be backend.Backend, name string, want int64) error {
	rc, err := be.Open(ctx, name, 0, -1)
	if err != nil {
		return err
	}
	return drain(rc, name, want)
}

// getEntry opens the listed file e as a copy does (by its id).
func getEntry(ctx context.Context, be backend.Backend, e backend.Entry) error {
	rc, err := backend.OpenEntry(ctx, be, e, 0, -1)
	if err != nil {
		return err
	}
	return drain(rc, e.Path, e.Size)
}

// drain reads rc to its end as a copy to a local file does (io.Copy's
// 32 KiB buffer: io.Discard's ReadFrom would read 8 KiB at a time), then
// closes it.
func drain(rc io.ReadCloser, name string, want int64) error {
	defer rc.Close()
	n, err := io.Copy(writeOnly{}, rc)
	if err == nil && n != want {
		err = fmt.Errorf("%s: %d bytes, want %d", name, n, want)
	}
	return err
}

// writeOnly discards what it is written and has no ReadFrom.
type writeOnly struct{}

func (writeOnly) Write(p []byte) (int, error) { return len(p), nil }

// cpuClock adds up the CPU time of the timed parts of a sub-benchmark:
// this process's and its waited-for children's (curl and its pipe).
type cpuClock struct {
	start, total time.Duration
}

func (c *cpuClock) Start(b *testing.B) { b.StartTimer(); c.start = processCPU(b) + childrenCPU(b) }

func (c *cpuClock) Stop(b *testing.B) {
	b.StopTimer()
	c.total += processCPU(b) + childrenCPU(b) - c.start
}

// Report reports the CPU time per op as cpu-ms/op.
func (c *cpuClock) Report(b *testing.B) {
	b.ReportMetric(float64(c.total)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// warmName is the file a warm-up moves before the clock starts, so the
// one-time calls (login, action token, folder lookups and creation) are
// out of the per-file counts, as they are in a long run.
const warmName = "warm-up.txt"

var warmData = []byte("warm-up\n")

// warmUp puts (put) or gets the warm-up file through be and returns the
// API calls it cost, then zeroes the server's counts.
func warmUp(b *testing.B, ts *mediafireservertest.TestServer, be backend.Backend, put bool) int64 {
	var err error
	if put {
		_, err = be.Put(b.Context(), warmName, bytes.NewReader(warmData), int64(len(warmData)), time.Unix(1700000000, 0))
	} else {
		err = getFile(b.Context(), be, warmName, int64(len(warmData)))
	}
	if err != nil {
		b.Fatal(err)
	}
	n := ts.Server.Stats().Total()
	ts.Server.ResetStats()
	return n
}

// reportCalls reports the server's counts of the timed part: API calls
// per file ("calls/file", direct downloads not included), direct
// downloads per file ("dl/file") and the calls of the untimed warm-up
// ("setup-calls").
func reportCalls(b *testing.B, ts *mediafireservertest.TestServer, files int, setup int64) {
	st := ts.Server.Stats()
	b.ReportMetric(float64(st.Total())/float64(files), "calls/file")
	b.ReportMetric(float64(st.Calls["dl"])/float64(files), "dl/file")
	b.ReportMetric(float64(setup), "setup-calls")
	b.Logf("API calls for %d file(s): %v; warm-up: %d", files, st.Calls, setup)
}

// curl runs curl with the config file cfg (one request per "next"
// section) and returns its standard output.
func curl(b *testing.B, cfg string) []byte {
	b.Helper()
	path := filepath.Join(b.TempDir(), "curl.conf")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(b.Context(), "curl", "--config", path)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		b.Fatalf("curl: %v\n%s", err, errb.String())
	}
	return out.Bytes()
}

// curlQuote quotes s for a curl config file.
func curlQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// curlUploads writes a curl config that uploads each file with
// upload/simple under an action token (unsigned, as the spec allows for
// uploads), one request after another on one connection.
func curlUploads(base, token, folder string, paths []string, sizes []int64) string {
	q := url.Values{"session_token": {token}, "response_format": {"json"}, "folder_key": {folder},
		"action_on_duplicate": {"replace"}}
	var sb strings.Builder
	sb.WriteString("silent\nshow-error\nfail\n")
	for i, p := range paths {
		if i > 0 {
			sb.WriteString("next\n")
		}
		fmt.Fprintf(&sb, "url = %s\nrequest = POST\nupload-file = %s\n", curlQuote(base+"/api/1.5/upload/simple.php?"+q.Encode()), curlQuote(p))
		fmt.Fprintf(&sb, "header = %s\nheader = %s\nheader = %s\n", curlQuote("Content-Type: application/octet-stream"),
			curlQuote("X-Filename: "+filepath.Base(p)), curlQuote("X-Filesize: "+strconv.FormatInt(sizes[i], 10)))
	}
	return sb.String()
}

// curlResumable prepares the resumable upload of path as a client that
// follows the spec for files over 4 MiB would send it: upload/check with
// resumable=yes for the unit size, then one upload/resumable per unit
// with its SHA-256. The units are cut into files of their own and hashed
// before the clock starts (curl cannot send a byte range of a file), so
// the baseline pays for neither.
func curlResumable(b *testing.B, s *mediafireservertest.Session, base, token, folder, path string) (cfg string, units int) {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	size := int64(len(data))
	name := filepath.Base(path)
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	rep := s.Call(b, "upload/check", "filename", name, "size", strconv.FormatInt(size, 10), "hash", hash,
		"folder_key", folder, "resumable", "yes")
	unitSize, _ := strconv.ParseInt(rep.Str("resumable_upload.unit_size"), 10, 64)
	units, _ = strconv.Atoi(rep.Str("resumable_upload.number_of_units"))
	if rep.Code() != 0 || unitSize <= 0 || units <= 0 {
		b.Fatalf("upload/check: %s", rep.Body)
	}
	dir := b.TempDir()
	if d := os.Getenv("FERRY_BENCH_DIR"); d != "" || dirExists("/dev/shm") {
		dir = benchDir(b)
	}
	q := url.Values{"session_token": {token}, "response_format": {"json"}, "folder_key": {folder},
		"action_on_duplicate": {"replace"}}
	var sb strings.Builder
	sb.WriteString("silent\nshow-error\nfail\n")
	for u := range units {
		part := data[int64(u)*unitSize : min(size, int64(u+1)*unitSize)]
		p := filepath.Join(dir, fmt.Sprintf("unit-%04d", u))
		if err := os.WriteFile(p, part, 0o600); err != nil {
			b.Fatal(err)
		}
		us := sha256.Sum256(part)
		if u > 0 {
			sb.WriteString("next\n")
		}
		fmt.Fprintf(&sb, "url = %s\nrequest = POST\nupload-file = %s\n", curlQuote(base+"/api/1.5/upload/resumable.php?"+q.Encode()), curlQuote(p))
		for _, h := range []string{"Content-Type: application/octet-stream", "X-Filename: " + name,
			"X-Filesize: " + strconv.FormatInt(size, 10), "X-Filehash: " + hash, "X-Unit-Id: " + strconv.Itoa(u),
			"X-Unit-Hash: " + hex.EncodeToString(us[:]), "X-Unit-Size: " + strconv.Itoa(len(part))} {
			fmt.Fprintf(&sb, "header = %s\n", curlQuote(h))
		}
	}
	return sb.String(), units
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// checkUploads checks that out holds n upload replies, each a success.
func checkUploads(b *testing.B, out []byte, n int) {
	b.Helper()
	dec := json.NewDecoder(bytes.NewReader(out))
	got := 0
	for {
		var r struct {
			Response struct {
				Result   string `json:"result"`
				DoUpload struct {
					Result string `json:"result"`
				} `json:"doupload"`
			} `json:"response"`
		}
		if err := dec.Decode(&r); err == io.EOF {
			break
		} else if err != nil {
			b.Fatalf("curl upload reply %d: %v", got, err)
		}
		if r.Response.Result != "Success" || r.Response.DoUpload.Result != "0" {
			b.Fatalf("curl upload %d: %+v", got, r.Response)
		}
		got++
	}
	if got != n {
		b.Fatalf("%d curl upload replies, want %d", got, n)
	}
}

// curlSession logs in as the seeded user (v1 token: curl needs no
// signatures) and returns an upload action token and a fresh folder.
func curlSession(b *testing.B, ts *mediafireservertest.TestServer) (*mediafireservertest.Session, string, string) {
	s := ts.Login(b, mediafireservertest.User, mediafireservertest.Password, true)
	s.Version = "1.5"
	tok := s.Call(b, "user/get_action_token", "type", "upload", "lifespan", "1440")
	folder := s.Call(b, "folder/create", "foldername", "curl-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	if tok.Code() != 0 || folder.Code() != 0 {
		b.Fatalf("curl session: %s / %s", tok.Body, folder.Body)
	}
	return s, tok.Str("action_token"), folder.Str("folder_key")
}

// directLinks returns the direct download links of the files named
// names (without the directory) in folder, as file/get_links gives them.
func directLinks(b *testing.B, s *mediafireservertest.Session, folder string, names []string) []string {
	keys := map[string]string{}
	for chunk := 1; ; chunk++ {
		rep := s.Call(b, "folder/get_content", "folder_key", folder, "content_type", "files",
			"chunk", strconv.Itoa(chunk), "chunk_size", "1000")
		files, _ := rep.Get("folder_content.files").([]any)
		for _, f := range files {
			m, _ := f.(map[string]any)
			name, _ := m["filename"].(string)
			qk, _ := m["quickkey"].(string)
			keys[name] = qk
		}
		if len(files) == 0 || rep.Str("folder_content.more_chunks") != "yes" {
			break
		}
	}
	links := make([]string, len(names))
	for i, name := range names {
		qk := keys[name]
		if qk == "" {
			b.Fatalf("%s: not in folder %s", name, folder)
		}
		rep := s.Call(b, "file/get_links", "quick_key", qk, "link_type", "direct_download")
		l, _ := rep.Get("links").([]any)
		if len(l) != 1 {
			b.Fatalf("get_links %s: %s", name, rep.Body)
		}
		m, _ := l[0].(map[string]any)
		links[i], _ = m["direct_download"].(string)
		if links[i] == "" {
			b.Fatalf("get_links %s: %s", name, rep.Body)
		}
	}
	return links
}

// curlDownloads writes a curl config that downloads each link to
// /dev/null and prints the size it got, one line each.
func curlDownloads(links []string) string {
	var sb strings.Builder
	sb.WriteString("silent\nshow-error\nfail\n")
	for i, l := range links {
		if i > 0 {
			sb.WriteString("next\n")
		}
		fmt.Fprintf(&sb, "url = %s\noutput = /dev/null\nwrite-out = \"%%{size_download}\\n\"\n", curlQuote(l))
	}
	return sb.String()
}

// curlHashed downloads link with curl into `openssl dgst -sha256` (which
// uses the CPU's SHA instructions, as Go does; coreutils' sha256sum is
// several times slower), as a client that verifies what it got would,
// and returns the hash.
func curlHashed(b *testing.B, link string) string {
	b.Helper()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(b.Context(), "bash", "-c", `set -o pipefail; curl -sS --fail "$1" | openssl dgst -sha256 -r`, "bash", link)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		b.Fatalf("curl | openssl dgst: %v\n%s", err, errb.String())
	}
	f := strings.Fields(out.String())
	if len(f) == 0 {
		b.Fatalf("curl | openssl dgst printed nothing")
	}
	return f[0]
}

func checkDownloads(b *testing.B, out []byte, sizes []int64) {
	b.Helper()
	lines := strings.Fields(string(out))
	if len(lines) != len(sizes) {
		b.Fatalf("%d curl downloads, want %d", len(lines), len(sizes))
	}
	for i, l := range lines {
		if l != strconv.FormatInt(sizes[i], 10) {
			b.Fatalf("curl download %d: %s bytes, want %d", i, l, sizes[i])
		}
	}
}

// BenchmarkMediaFire is put and get of the large file and of the small
// files, by ferry's backend and by curl, each on a fresh server.
func BenchmarkMediaFire(b *testing.B) {
	if _, err := exec.LookPath("curl"); err != nil {
		b.Skip("curl is not installed: it is the baseline")
	}
	fx := newMFFixture(b)
	large := []string{fx.large}
	largeSize := []int64{fx.largeSize}
	names := func(paths []string) []string {
		out := make([]string, len(paths))
		for i, p := range paths {
			out[i] = filepath.Base(p)
		}
		return out
	}
	seed := func(b *testing.B, ts *mediafireservertest.TestServer, paths []string) {
		be := mfBackend(b, ts, "seed")
		if _, err := be.Put(b.Context(), warmName, bytes.NewReader(warmData), int64(len(warmData)), time.Unix(1700000000, 0)); err != nil {
			b.Fatal(err)
		}
		for _, p := range paths {
			if err := putFile(b.Context(), be, filepath.Base(p), p); err != nil {
				b.Fatal(err)
			}
		}
		ts.Server.ResetStats()
	}
	for _, set := range []struct {
		name  string
		paths []string
		sizes []int64
		bytes int64
	}{
		{"large", large, largeSize, fx.largeSize},
		{"small", fx.small, fx.smallSize, fx.smallSum},
	} {
		b.Run("put-"+set.name+"/ferry", func(b *testing.B) {
			b.SetBytes(set.bytes)
			var cpu cpuClock
			defer cpu.Report(b)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				ts := mfServer(b)
				be := mfBackend(b, ts, "ferry-"+strconv.Itoa(i))
				setup := warmUp(b, ts, be, true)
				cpu.Start(b)
				for _, p := range set.paths {
					if err := putFile(b.Context(), be, filepath.Base(p), p); err != nil {
						b.Fatal(err)
					}
				}
				cpu.Stop(b)
				reportCalls(b, ts, len(set.paths), setup)
			}
		})
		b.Run("put-"+set.name+"/curl", func(b *testing.B) {
			b.SetBytes(set.bytes)
			var cpu cpuClock
			defer cpu.Report(b)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				ts := mfServer(b)
				_, tok, folder := curlSession(b, ts)
				cfg := curlUploads(ts.URL, tok, folder, set.paths, set.sizes)
				ts.Server.ResetStats()
				cpu.Start(b)
				out := curl(b, cfg)
				cpu.Stop(b)
				checkUploads(b, out, len(set.paths))
				reportCalls(b, ts, len(set.paths), 0)
			}
		})
		if set.name == "large" {
			b.Run("put-large/curl-resumable", func(b *testing.B) {
				b.SetBytes(set.bytes)
				var cpu cpuClock
				defer cpu.Report(b)
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					ts := mfServer(b)
					s, tok, folder := curlSession(b, ts)
					cfg, units := curlResumable(b, s, ts.URL, tok, folder, fx.large)
					ts.Server.ResetStats()
					cpu.Start(b)
					out := curl(b, cfg)
					cpu.Stop(b)
					checkUploads(b, out, units)
					if st := ts.Server.Stats(); st.UnitBytes != fx.largeSize {
						b.Fatalf("the server received %d unit bytes, want %d", st.UnitBytes, fx.largeSize)
					}
					reportCalls(b, ts, 1, 0)
				}
			})
		}
		b.Run("get-"+set.name+"/ferry", func(b *testing.B) {
			b.SetBytes(set.bytes)
			var cpu cpuClock
			defer cpu.Report(b)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				ts := mfServer(b)
				seed(b, ts, set.paths)
				be := mfBackend(b, ts, "seed")
				setup := warmUp(b, ts, be, false)
				cpu.Start(b)
				// As a copy does: one listing, then each file by its id.
				entries, err := be.List(b.Context(), "")
				if err != nil {
					b.Fatal(err)
				}
				byName := make(map[string]backend.Entry, len(entries))
				for _, e := range entries {
					byName[e.Path] = e
				}
				for j, p := range set.paths {
					e, ok := byName[filepath.Base(p)]
					if !ok || e.Size != set.sizes[j] {
						b.Fatalf("%s: listed as %+v", p, e)
					}
					if err := getEntry(b.Context(), be, e); err != nil {
						b.Fatal(err)
					}
				}
				cpu.Stop(b)
				reportCalls(b, ts, len(set.paths), setup)
			}
		})
		b.Run("get-"+set.name+"/curl", func(b *testing.B) {
			b.SetBytes(set.bytes)
			var cpu cpuClock
			defer cpu.Report(b)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				ts := mfServer(b)
				seed(b, ts, set.paths)
				s, _, _ := curlSession(b, ts)
				cfg := curlDownloads(directLinks(b, s, seedFolder(b, s), names(set.paths)))
				ts.Server.ResetStats()
				cpu.Start(b)
				out := curl(b, cfg)
				cpu.Stop(b)
				checkDownloads(b, out, set.sizes)
				reportCalls(b, ts, len(set.paths), 0)
			}
		})
		if set.name == "large" {
			// The ceiling of a verified get (and of the whole-file hash a
			// put needs before its first unit): SHA-256 on one core, of
			// the large file's size in 1 MiB blocks, as the download's
			// hashing goroutine sees them.
			b.Run("get-large/sha256", func(b *testing.B) {
				blk := make([]byte, 1<<20)
				fillAt(blk, dataSeed, 0)
				b.SetBytes(set.bytes)
				var cpu cpuClock
				defer cpu.Report(b)
				for i := 0; i < b.N; i++ {
					cpu.Start(b)
					h := sha256.New()
					for n := set.bytes; n > 0; n -= int64(len(blk)) {
						h.Write(blk[:min(n, int64(len(blk)))])
					}
					h.Sum(nil)
					cpu.Stop(b)
				}
			})
			// curl verifies nothing; ferry checks every download's SHA-256.
			// This baseline pays for the hash too.
			b.Run("get-large/curl-sha256", func(b *testing.B) {
				if _, err := exec.LookPath("openssl"); err != nil || !hasBash() {
					b.Skip("no openssl or bash")
				}
				data, err := os.ReadFile(fx.large)
				if err != nil {
					b.Fatal(err)
				}
				sum := sha256.Sum256(data)
				want := hex.EncodeToString(sum[:])
				data = nil
				b.SetBytes(set.bytes)
				var cpu cpuClock
				defer cpu.Report(b)
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					ts := mfServer(b)
					seed(b, ts, set.paths)
					s, _, _ := curlSession(b, ts)
					links := directLinks(b, s, seedFolder(b, s), names(set.paths))
					ts.Server.ResetStats()
					cpu.Start(b)
					got := curlHashed(b, links[0])
					cpu.Stop(b)
					if got != want {
						b.Fatalf("curl | openssl dgst: %s, want %s", got, want)
					}
					reportCalls(b, ts, 1, 0)
				}
			})
		}
	}
}

// seedFolder returns the key of the folder "seed" in the root.
func seedFolder(b *testing.B, s *mediafireservertest.Session) string {
	root := s.Call(b, "folder/get_content", "content_type", "folders")
	for _, f := range asList(root.Get("folder_content.folders")) {
		if f["name"] == "seed" {
			if k, _ := f["folderkey"].(string); k != "" {
				return k
			}
		}
	}
	b.Fatalf("no folder seed: %s", root.Body)
	return ""
}

func asList(v any) []map[string]any {
	l, _ := v.([]any)
	out := make([]map[string]any, 0, len(l))
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func hasBash() bool {
	_, err := exec.LookPath("bash")
	return err == nil
}
