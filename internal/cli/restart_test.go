package cli

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"ferry/megaserver/megaservertest"
)

// TestCopySurvivesServerRestart restarts the server (which forgets its
// upload slots) while a copy from local disk is uploading. The engine
// opens the file again and starts the upload over: exit 0, intact data.
func TestCopySurvivesServerRestart(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	ts := megaservertest.Start(t, megaservertest.WithDir(dir))
	// The first upload POST at a non-zero offset is held until release is
	// closed, after held was: the server restarts in between.
	var once sync.Once
	held, release := make(chan struct{}), make(chan struct{})
	proxy := megaservertest.StartProxy(t, ts.URL, megaservertest.ProxyConfig{Before: func(r *http.Request) {
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/ul/") && !strings.HasSuffix(r.URL.Path, "/0") {
			once.Do(func() {
				close(held)
				<-release
			})
		}
	}})
	remote := []string{"--mega-user", megaservertest.UserV2, "--mega-pass", megaservertest.PasswordV2, "--mega-url", proxy.URL}

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
	case <-held:
	case res := <-done:
		t.Fatalf("copy ended before an upload POST was held: exit %d\n%s", res.code, res.stderr)
	}
	ts.Close()
	ts2 := megaservertest.Start(t, megaservertest.WithDir(dir))
	proxy.SetTarget(ts2.URL)
	close(release)
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
