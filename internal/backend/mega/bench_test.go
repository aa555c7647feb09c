package mega

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	gomega "github.com/t3rm1n4l/go-mega"
	"golang.org/x/sync/errgroup"

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
	if err := fillTree(fx.url, nodes); err != nil {
		return fx, fmt.Errorf("fill the tree: %w", err)
	}
	fmt.Fprintf(os.Stderr, "bench: built a tree of %d nodes in %v\n", nodes, time.Since(start).Round(time.Millisecond))
	return fx, nil
}

// fillTree creates nodes folders with raw `p` batches: groups of one
// folder and 99 children, 50 groups per request, two requests in flight.
func fillTree(url string, nodes int) error {
	ctx := context.Background()
	c := megaclient.New(megaclient.Options{APIURL: url})
	if err := c.Login(ctx, megaservertest.UserV2, megaservertest.PasswordV2, megaclient.LoginOptions{}); err != nil {
		return err
	}
	if err := c.FetchTree(ctx); err != nil {
		return err
	}
	s := c.Session()
	root := c.Root().Handle
	const group, perRequest = 100, 50
	var g errgroup.Group
	g.SetLimit(2)
	for first := 0; first < nodes; first += group * perRequest {
		g.Go(func() error {
			var ns []map[string]any
			for i := first; i < min(first+group*perRequest, nodes); i++ {
				n := map[string]any{"t": 1}
				name := fmt.Sprintf("file-%07d.jpg", i)
				ph := fmt.Sprintf("g%d", i/group)
				if i%group == 0 {
					name = fmt.Sprintf("folder-%05d", i/group)
					n["h"] = ph
				} else {
					n["h"] = "xxxxxxxx"
					n["p"] = ph
				}
				key := make([]byte, 16)
				rand.Read(key)
				a, err := megacrypto.EncryptAttrs(key, megacrypto.Attrs{Name: name})
				if err != nil {
					return err
				}
				wk, err := megacrypto.EncryptKey(s.MasterKey, key)
				if err != nil {
					return err
				}
				n["a"], n["k"] = a, megacrypto.B64Encode(wk)
				ns = append(ns, n)
			}
			body, err := json.Marshal([]any{map[string]any{"a": "p", "t": root, "n": ns}})
			if err != nil {
				return err
			}
			return rawCall(url, s.SID, first, body)
		})
	}
	return g.Wait()
}

// rawCall posts one /cs request and checks it created nodes.
func rawCall(url, sid string, id int, body []byte) error {
	resp, err := http.Post(fmt.Sprintf("%s/cs?id=%d&sid=%s", url, id+1, sid), "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(reply, []byte(`[{"f":`)) {
		return fmt.Errorf("p: HTTP %d: %.100s", resp.StatusCode, reply)
	}
	return nil
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
