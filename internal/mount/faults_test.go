package mount_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ferry/internal/vfs"
	"ferry/megaserver/megaservertest"
)

// mixedTree writes n files of mixed sizes under dir/src in a few
// folders: empty ones, sizes around MEGA's 128 KiB first chunk up to
// 300 KiB, and one in twenty over 1 MiB. It returns the bytes written.
func mixedTree(t *testing.T, dir string, n int) int64 {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(n), 7))
	var total int64
	for i := range n {
		size := r.IntN(300 << 10)
		switch {
		case i%20 == 7:
			size = 1<<20 + r.IntN(512<<10)
		case i%25 == 3:
			size = 0
		case i%25 == 4:
			size = 128 << 10
		}
		p := filepath.Join(dir, "src", fmt.Sprintf("d%d", i%5), fmt.Sprintf("sub%d", i%3), fmt.Sprintf("f%03d.bin", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		total += int64(size)
	}
	return total
}

// TestFaultsCopy200: with about one request in twenty failing on every
// endpoint (MEGA's -3, HTTP 500, a connection dropped half way), cp -r
// of 200 files into the mount completes, and after an unmount and a
// fresh client and mount diff -r finds every file intact, read through
// the same faults.
func TestFaultsCopy200(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithFaults("eagain=0.05,http500=0.05,drop=0.05"))
	b, _ := newMegaOn(t, ts)
	local := t.TempDir()
	total := mixedTree(t, local, 200)
	cache := t.TempDir()
	m := mountOpts(t, b, vfs.Options{CacheDir: cache})
	start := time.Now()
	m.mustSh(t, "cp -r '"+local+"/src' .")
	t.Logf("cp -r of 200 files (%d bytes) under faults: %v", total, time.Since(start).Round(time.Millisecond))
	m.unmount()
	b2, _ := newMegaOn(t, ts)
	m2 := mountOpts(t, b2, vfs.Options{CacheDir: cache})
	start = time.Now()
	m2.mustSh(t, "diff -r '"+local+"/src' src")
	t.Logf("diff -r after a remount under faults: %v", time.Since(start).Round(time.Millisecond))
	if n := m2.mustSh(t, "find src -type f | wc -l"); n != "200" {
		t.Fatalf("%s files after the remount, want 200", n)
	}
}

// TestCorruptIsEIOTools: a flipped byte in a stored blob makes every
// tool that reads the file whole fail with EIO, whatever its read
// sizes. A small file (one read) and one larger than the MEGA client's
// 8 MiB download piece, so its first bytes reach the tool before the MAC
// at the end shows the damage.
func TestCorruptIsEIOTools(t *testing.T) {
	b, ts := newMega(t)
	const small, large = 5003, 9<<20 + 4321
	for _, size := range []int64{small, large} {
		data := bytes.Repeat([]byte("ferry"), int(size)/5+1)[:size]
		if _, err := b.Put(t.Context(), fmt.Sprintf("victim%d", size), bytes.NewReader(data), size, time.Now()); err != nil {
			t.Fatal(err)
		}
		ts.FlipByte(t, size, 1000)
	}
	m := mountT(t, b)
	out := t.TempDir()
	for _, size := range []int64{small, large} {
		f := fmt.Sprintf("victim%d", size)
		for _, tool := range []string{
			"cat " + f + " > /dev/null",
			"cp " + f + " '" + out + "/copy'",
			"dd if=" + f + " of=/dev/null bs=1M",
			"dd if=" + f + " of=/dev/null bs=4k",
			"sha256sum " + f,
			"tar cf '" + out + "/a.tar' " + f,
			"rsync " + f + " '" + out + "/rsynced'",
		} {
			if _, err := exec.LookPath(strings.Fields(tool)[0]); err != nil {
				continue
			}
			o, err := m.sh(t, tool)
			if err == nil {
				t.Errorf("%s of a corrupt %d-byte file succeeded", tool, size)
			} else if !strings.Contains(o, "Input/output error") && !(strings.HasPrefix(tool, "tar") && strings.Contains(o, "File shrank")) {
				// The kernel returns the bytes before a failed page as a
				// short read, and GNU tar takes a short read for a file
				// that shrank: it fails, but names no EIO.
				t.Errorf("%s of a corrupt %d-byte file: %q, want EIO", tool, size, o)
			} else {
				t.Logf("%s: %s", tool, o)
			}
		}
	}
}

// TestCorruptReadsAfterEIO: after a full read of a corrupt file failed
// with EIO, reads of the same open file past the failure fail too; they
// never hand out bytes the MAC has condemned.
func TestCorruptReadsAfterEIO(t *testing.T) {
	b, ts := newMega(t)
	const size = 9<<20 + 4323
	data := bytes.Repeat([]byte("ferry"), int(size)/5+1)[:size]
	if _, err := b.Put(t.Context(), "victim", bytes.NewReader(data), size, time.Now()); err != nil {
		t.Fatal(err)
	}
	ts.FlipByte(t, size, 1000)
	m := mountT(t, b)
	f, err := os.Open(filepath.Join(m.dir, "victim"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := io.Copy(io.Discard, f)
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("full read of a corrupt file: %d bytes, %v; want EIO", n, err)
	}
	for _, off := range []int64{n + 1<<20, size - 4096} {
		p := make([]byte, 4096)
		if k, err := f.ReadAt(p, off); !errors.Is(err, syscall.EIO) {
			t.Errorf("read at %d after EIO at %d: %d bytes, %v; want EIO", off, n, k, err)
		}
	}
}
