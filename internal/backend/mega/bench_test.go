package mega

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	gomega "github.com/t3rm1n4l/go-mega"

	"ferry/internal/backend"
	megaclient "ferry/mega"
	"ferry/mega/megacrypto"
	"ferry/megaserver"
	"ferry/megaserver/megaservertest"
)

// The open benchmarks run against one shared server holding a tree of
// $FERRY_BENCH_NODES nodes (default 100000), built once per test binary:
//
//	go test -run '^$' -bench 'BenchmarkOpen' -benchtime 5x ./internal/backend/mega/
//
// BenchmarkOpenWarm is New on a warm cache (resume + import + poll);
// BenchmarkOpenCold/ferry is New on an empty cache dir (login + `f` +
// writing the cache), /client the ferry client's Login+FetchTree alone,
// and /gomega go-mega's Login (login + `f`), which is what rclone does on
// every command.

// benchFixture is the shared benchmark server.
type benchFixture struct {
	url   string
	nodes int
	dir   string
	srv   *megaserver.Server
	hs    *http.Server
	done  chan struct{}
}

var (
	fixtureOnce sync.Once
	fixture     *benchFixture
	fixtureErr  error
)

// TestMain closes the shared benchmark server, if one was started.
func TestMain(m *testing.M) {
	code := m.Run()
	if fixture != nil {
		fixture.hs.Close()
		<-fixture.done
		fixture.srv.Close()
		os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

// benchNodes is the tree size of the open benchmarks.
func benchNodes() int {
	if n, err := strconv.Atoi(os.Getenv("FERRY_BENCH_NODES")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// sharedServer starts the benchmark server and fills the tree once.
func sharedServer(b *testing.B) *benchFixture {
	b.Helper()
	fixtureOnce.Do(func() { fixture, fixtureErr = startFixture(benchNodes()) })
	if fixtureErr != nil {
		b.Fatal(fixtureErr)
	}
	return fixture
}

func startFixture(nodes int) (*benchFixture, error) {
	parent := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		parent = "/dev/shm" // measure the code, not the disk
	}
	dir, err := os.MkdirTemp(parent, "ferry-mega-open-bench-")
	if err != nil {
		return nil, err
	}
	srv, err := megaserver.Open(megaserver.Options{Dir: dir, Logger: slog.New(slog.DiscardHandler), WaitTimeout: time.Second})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, err
	}
	fx := &benchFixture{url: "http://" + ln.Addr().String(), nodes: nodes, dir: dir, srv: srv,
		hs: &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(fx.done)
		_ = fx.hs.Serve(ln)
	}()
	acct, err := megaservertest.Account(megaservertest.UserV2, megaservertest.PasswordV2, megacrypto.AccountOptions{})
	if err != nil {
		return fx, err
	}
	if _, err := srv.AddUser(context.Background(), acct, megaserver.UserOptions{}); err != nil {
		return fx, err
	}
	start := time.Now()
	if err := megaservertest.FillFolders(context.Background(), fx.url, megaservertest.UserV2, megaservertest.PasswordV2, nodes, benchNodeName); err != nil {
		return fx, fmt.Errorf("fill the tree: %w", err)
	}
	fmt.Fprintf(os.Stderr, "bench: built a tree of %d nodes in %v\n", nodes, time.Since(start).Round(time.Millisecond))
	return fx, nil
}

// benchEnv opens the shared remote quietly with cache dir dir.
func benchEnv(dir string) backend.Env {
	return backend.Env{CacheDir: dir, Logger: slog.New(slog.DiscardHandler)}
}

func benchConfig(fx *benchFixture) backend.ConfigMap {
	return backend.ConfigMap{optUser: megaservertest.UserV2, optPass: megaservertest.PasswordV2, optURL: fx.url}
}

// BenchmarkOpenWarm measures New on a warm cache: key derivation,
// decryption, Resume, ImportTree and one Poll.
func BenchmarkOpenWarm(b *testing.B) {
	fx := sharedServer(b)
	dir := b.TempDir()
	be, err := New(b.Context(), "bench", benchConfig(fx), "", benchEnv(dir))
	if err != nil {
		b.Fatal(err)
	}
	if err := be.(backend.Closer).Close(); err != nil {
		b.Fatal(err)
	}
	if fi, err := os.Stat(dir + "/" + cacheFileName); err == nil {
		b.ReportMetric(float64(fi.Size())/float64(fx.nodes), "cachebytes/node")
	}
	b.ReportAllocs()
	for b.Loop() {
		be, err := New(b.Context(), "bench", benchConfig(fx), "", benchEnv(dir))
		if err != nil {
			b.Fatal(err)
		}
		if err := be.(backend.Closer).Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenCold measures a first run: ferry's New on an empty cache
// (login, `f`, cache written), the client's Login+FetchTree alone, and
// go-mega's Login (which fetches the tree too).
func BenchmarkOpenCold(b *testing.B) {
	fx := sharedServer(b)
	b.Run("ferry", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			be, err := New(b.Context(), "bench", benchConfig(fx), "", benchEnv(b.TempDir()))
			if err != nil {
				b.Fatal(err)
			}
			if err := be.(backend.Closer).Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("client", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := megaclient.New(megaclient.Options{APIURL: fx.url})
			if err := c.Login(b.Context(), megaservertest.UserV2, megaservertest.PasswordV2, megaclient.LoginOptions{}); err != nil {
				b.Fatal(err)
			}
			if err := c.FetchTree(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gomega", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m := gomega.New()
			m.SetLogger(nil)
			m.SetAPIUrl(fx.url)
			if err := m.Login(megaservertest.UserV2, megaservertest.PasswordV2); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCacheSave measures Close after a change: ExportTree, encryption
// and the fsynced atomic write of the whole tree.
func BenchmarkCacheSave(b *testing.B) {
	fx := sharedServer(b)
	be, err := New(b.Context(), "bench", benchConfig(fx), "", benchEnv(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	mb := be.(*Backend)
	b.ReportAllocs()
	for b.Loop() {
		if err := mb.save(true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImportTree isolates the client's ImportTree on the shared tree
// (a part of BenchmarkOpenWarm).
func BenchmarkImportTree(b *testing.B) {
	fx := sharedServer(b)
	c := megaclient.New(megaclient.Options{APIURL: fx.url})
	if err := c.Login(b.Context(), megaservertest.UserV2, megaservertest.PasswordV2, megaclient.LoginOptions{}); err != nil {
		b.Fatal(err)
	}
	if err := c.FetchTree(b.Context()); err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.ExportTree(&buf); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(buf.Len())/float64(fx.nodes), "bytes/node")
	b.Run("ImportTree", func(b *testing.B) {
		b.SetBytes(int64(buf.Len()))
		b.ReportAllocs()
		for b.Loop() {
			if err := c.ImportTree(bytes.NewReader(buf.Bytes())); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchNodeName names node i of the benchmark tree.
func benchNodeName(i int) string {
	if i%100 == 0 {
		return fmt.Sprintf("folder-%05d", i/100)
	}
	return fmt.Sprintf("file-%07d.jpg", i)
}
