package cli

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"ferry/megaserver/megaservertest"
)

// holdingProxy forwards requests to the current target. The first upload
// POST at a non-zero offset is held until release is closed, after held
// was closed: the test restarts the server in between.
type holdingProxy struct {
	target  atomic.Pointer[string]
	once    sync.Once
	held    chan struct{}
	release chan struct{}
}

func (p *holdingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/ul/") && !strings.HasSuffix(r.URL.Path, "/0") {
		hold := false
		p.once.Do(func() { hold = true })
		if hold {
			close(p.held)
			<-p.release
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, *p.target.Load()+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	req.Host = r.Host
	req.ContentLength = r.ContentLength
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// TestCopySurvivesServerRestart restarts the server (which forgets its
// upload slots) while a copy from local disk is uploading. The engine
// opens the file again and starts the upload over: exit 0, intact data.
func TestCopySurvivesServerRestart(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	ts := megaservertest.Start(t, megaservertest.WithDir(dir))
	proxy := &holdingProxy{held: make(chan struct{}), release: make(chan struct{})}
	proxy.target.Store(&ts.URL)
	ps := httptest.NewServer(proxy)
	defer ps.Close()
	remote := []string{"--mega-user", megaservertest.UserV2, "--mega-pass", megaservertest.PasswordV2, "--mega-url", ps.URL}

	src := t.TempDir()
	data := bytes.Repeat([]byte("restart!"), 12<<20/8) // 12 MiB: several upload POSTs
	if err := os.WriteFile(filepath.Join(src, "big.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, _, errOut := runCLI(t, t.Context(), "", append([]string{"copy", "-v", src, ":mega:dst"}, remote...)...)
		done <- result{code, errOut}
	}()
	select {
	case <-proxy.held:
	case res := <-done:
		t.Fatalf("copy ended before an upload POST was held: exit %d\n%s", res.code, res.stderr)
	}
	ts.Close()
	ts2 := megaservertest.Start(t, megaservertest.WithDir(dir))
	proxy.target.Store(&ts2.URL)
	close(proxy.release)
	res := <-done
	if res.code != 0 {
		t.Fatalf("copy across a server restart: exit %d\n%s", res.code, res.stderr)
	}

	back := t.TempDir()
	if code, _, errOut := runCLI(t, t.Context(), "", append([]string{"copy", ":mega:dst", back}, remote...)...); code != 0 {
		t.Fatalf("copy back: exit %d\n%s", code, errOut)
	}
	got, err := os.ReadFile(filepath.Join(back, "big.bin"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("copy back differs (%d bytes, %v)", len(got), err)
	}
	if code, out, _ := runCLI(t, t.Context(), "", append([]string{"lsf", ":mega:dst"}, remote...)...); code != 0 || out != "big.bin\n" {
		t.Errorf("lsf after the restart = %d %q, want exactly one big.bin", code, out)
	}
}
