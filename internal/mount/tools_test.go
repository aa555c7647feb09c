package mount_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/internal/backend"
	megabackend "ferry/internal/backend/mega"
	"ferry/internal/backend/memory"
	"ferry/internal/retry"
	"ferry/internal/vfs"
	"ferry/internal/vfs/vfstest"
	"ferry/megaserver/megaservertest"
)

// newMega returns the MEGA backend on a fresh test server.
func newMega(t *testing.T) (backend.Backend, *megaservertest.TestServer) {
	t.Helper()
	ts := megaservertest.Start(t)
	b, err := megabackend.New(t.Context(), "m", backend.ConfigMap{
		"user": megaservertest.UserV2, "pass": megaservertest.PasswordV2, "url": ts.URL,
	}, "", backend.Env{CacheDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.(backend.Closer).Close() })
	return b, ts
}

func TestSuiteMountMemory(t *testing.T) {
	vfstest.Run(t, vfstest.Config{New: func(t *testing.T) vfstest.Env {
		b := memory.New()
		return vfstest.Env{FS: vfstest.Dir(mountT(t, b).dir), Backend: b}
	}})
}

func TestSuiteMountMega(t *testing.T) {
	vfstest.Run(t, vfstest.Config{New: func(t *testing.T) vfstest.Env {
		b, _ := newMega(t)
		return vfstest.Env{FS: vfstest.Dir(mountT(t, b).dir), Backend: b}
	}})
}

// tree writes a small source tree with odd sizes into dir.
func tree(t *testing.T, dir string) {
	t.Helper()
	for i, sz := range []int{0, 1, 4096, 131073, 400000} {
		p := filepath.Join(dir, "src", strings.Repeat("sub/", i%3), "f"+string(rune('0'+i)))
		os.MkdirAll(filepath.Dir(p), 0o755)
		b := make([]byte, sz)
		for j := range b {
			b[j] = byte(j*7 + i)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func testTools(t *testing.T, b backend.Backend) {
	m := mountT(t, b)
	local := t.TempDir()
	tree(t, local)
	out := t.TempDir()
	m.mustSh(t, "cp -r '"+local+"/src' . && diff -r '"+local+"/src' src")
	m.mustSh(t, "cp -r src '"+out+"/back' && diff -r '"+local+"/src' '"+out+"/back'")
	want, _ := os.ReadFile(filepath.Join(local, "src/sub/f4"))
	got := m.mustSh(t, "dd if=src/sub/f4 bs=1 skip=12345 count=100 2>/dev/null | od -An -tx1 | tr -d ' \\n'")
	if exp := hexOf(want[12345:12445]); got != exp {
		t.Fatalf("dd at an odd offset: %s, want %s", got, exp)
	}
	m.mustSh(t, "echo one > a.txt && echo two >> a.txt && test \"$(cat a.txt)\" = \"$(printf 'one\\ntwo')\"")
	m.mustSh(t, "mkdir -p x/y && mv a.txt x/y/b.txt && test ! -e a.txt && test -f x/y/b.txt")
	m.mustSh(t, "touch -d '2021-03-04 05:06:07 UTC' x/y/b.txt && test \"$(TZ=UTC date -r x/y/b.txt +%F-%T)\" = 2021-03-04-05:06:07")
	m.mustSh(t, "rm -r src x && test -z \"$(ls)\"")
	es, err := b.List(t.Context(), "")
	if err != nil || len(es) != 0 {
		t.Fatalf("backend after rm -r: %v, %v", es, err)
	}
}

func hexOf(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		s.WriteString("0123456789abcdef"[c>>4 : c>>4+1])
		s.WriteString("0123456789abcdef"[c&15 : c&15+1])
	}
	return s.String()
}

func TestToolsMemory(t *testing.T) { testTools(t, memory.New()) }

func TestToolsMega(t *testing.T) {
	b, _ := newMega(t)
	testTools(t, b)
}

// TestCorruptIsEIO: a flipped byte in a stored blob fails a full read
// through the mount with EIO.
func TestCorruptIsEIO(t *testing.T) {
	b, ts := newMega(t)
	const size = 1234567
	data := bytes.Repeat([]byte("ferry"), size/5+1)[:size]
	if _, err := b.Put(t.Context(), "victim", bytes.NewReader(data), size, time.Now()); err != nil {
		t.Fatal(err)
	}
	ts.FlipByte(t, size, 1000)
	m := mountT(t, b)
	out, err := m.sh(t, "cat victim > /dev/null")
	if err == nil {
		t.Fatalf("cat of a corrupt file succeeded")
	}
	if !strings.Contains(out, "Input/output error") {
		t.Fatalf("cat failed with %q, want EIO", out)
	}
}

// TestOutsideUpload: a file another client uploads shows within 5 s.
func TestOutsideUpload(t *testing.T) {
	b, ts := newMega(t)
	m := mountT(t, b)
	m.mustSh(t, "ls")
	other, _ := newMegaOn(t, ts)
	if _, err := other.Put(t.Context(), "from-elsewhere", strings.NewReader("hello"), 5, time.Now()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if out, _ := m.sh(t, "cat from-elsewhere"); out == "hello" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a file uploaded by another client is not visible after 5 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// newMegaOn is a second MEGA client (its own session) on ts.
func newMegaOn(t *testing.T, ts *megaservertest.TestServer) (backend.Backend, error) {
	b, err := megabackend.New(t.Context(), "other", backend.ConfigMap{
		"user": megaservertest.UserV2, "pass": megaservertest.PasswordV2, "url": ts.URL,
	}, "", backend.Env{CacheDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.(backend.Closer).Close() })
	return b, nil
}

// TestMegaUploadFaults: with one chunk POST in five failing, `cp -r` of
// 50 small files into the mount succeeds, and after an unmount and a
// fresh mount over the same cache dir `diff -r` finds them all intact.
func TestMegaUploadFaults(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithFaults("ul.http500=0.2"))
	b, _ := newMegaOn(t, ts)
	local := t.TempDir()
	for i := range 50 {
		p := filepath.Join(local, "src", fmt.Sprintf("d%d", i%4), fmt.Sprintf("f%02d", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		data := bytes.Repeat([]byte{byte(i)}, 100+i*531)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cache := t.TempDir()
	m := mountOpts(t, b, vfs.Options{CacheDir: cache})
	m.mustSh(t, "cp -r '"+local+"/src' .")
	m.unmount()
	b2, _ := newMegaOn(t, ts) // a fresh client: nothing cached
	m2 := mountOpts(t, b2, vfs.Options{CacheDir: cache})
	m2.mustSh(t, "diff -r '"+local+"/src' src")
}

// TestMegaOutageReplayed: files copied into the mount while every chunk
// POST fails make cp fail and stay in the journal; after the server is
// back (same data, new address), a fresh mount over the same cache dir
// uploads them and `diff -r` is clean.
func TestMegaOutageReplayed(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithFaults("ul.http500=1"))
	b, _ := newMegaOn(t, ts)
	local := t.TempDir()
	for i := range 3 {
		p := filepath.Join(local, "src", fmt.Sprintf("f%d", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, bytes.Repeat([]byte{byte('a' + i)}, 1000+i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cache := t.TempDir()
	// One attempt per close: the MEGA client already retries each chunk.
	o := vfs.Options{CacheDir: cache, UploadRetry: retry.Policy{MaxAttempts: -1}}
	m := mountOpts(t, b, o)
	if out, err := m.sh(t, "cp -r '"+local+"/src' ."); err == nil {
		t.Fatalf("cp during an upload outage succeeded: %s", out)
	}
	m.leave()
	b.(backend.Closer).Close()
	ts.Close()

	ts2 := megaservertest.Start(t, megaservertest.WithDir(ts.Dir), megaservertest.WithoutSeedUsers())
	b2, _ := newMegaOn(t, ts2)
	m2 := mountOpts(t, b2, o)
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := m2.sh(t, "diff -r '"+local+"/src' src")
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("journalled files not replayed after 30 s: %s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestSuiteMountMegaWriteBack runs the suite through a mount whose closes
// leave the uploads to the background, as "ferry mount" does by default;
// the suite settles them before it looks at the backend.
func TestSuiteMountMegaWriteBack(t *testing.T) {
	vfstest.Run(t, vfstest.Config{New: func(t *testing.T) vfstest.Env {
		b, _ := newMega(t)
		m := mountOpts(t, b, vfs.Options{CacheDir: t.TempDir(), WriteBack: vfs.WriteBackNow})
		return vfstest.Env{FS: vfstest.Dir(m.dir), Backend: b, Settle: func(t *testing.T) {
			if err := m.v.Sync(m.ctx); err != nil {
				t.Fatalf("settling the write-back: %v", err)
			}
		}}
	}})
}
