package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// readRE matches a READ request in a mount's -vv log: offset and size.
var readRE = regexp.MustCompile(`READ n\d+ \{Fh \d+ \[(\d+) \+(\d+)\)`)

// readSizes counts the READ requests of a mount's -vv log by size.
func readSizes(log string) map[int]int {
	sizes := map[int]int{}
	for _, m := range readRE.FindAllStringSubmatch(log, -1) {
		n, _ := strconv.Atoi(m[2])
		sizes[n]++
	}
	return sizes
}

// TestMountSequentialRead runs the built binary's mount of a MEGA
// remote and reads a 24 MiB file through it with dd: the bytes are
// right, and (as root, who may set it) the mount raised the kernel's
// read-ahead to 4 MiB, so the kernel sent 1 MiB reads instead of its
// default 128 KiB ones. --max-read-ahead sets another size, or leaves
// the kernel's ("off"). With --direct-io the kernel passes the reads on
// as dd makes them.
func TestMountSequentialRead(t *testing.T) {
	needFUSE(t)
	bin := ferryBinary(t)
	_, remote := megaCLI(t)
	data := make([]byte, 24<<20)
	rng := rand.NewChaCha8([32]byte{7})
	rng.Read(data)
	src := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, t.Context(), "", append([]string{"copyto", src, ":mega:box/big.bin"}, remote...)...); code != 0 {
		t.Fatalf("copyto: exit %d %s", code, errOut)
	}
	root := os.Geteuid() == 0
	// mount runs the binary's mount of :mega:box with flags and checks
	// (as root) the kernel's read-ahead it set, in KiB.
	mount := func(wantKB string, flags ...string) (string, *mountProc) {
		t.Helper()
		dir := t.TempDir()
		p := startMountProc(t, bin, dir, append(append([]string{"-vv", "mount", ":mega:box", dir}, flags...), remote...)...)
		t.Cleanup(func() {
			p.cmd.Process.Signal(syscall.SIGTERM)
			if code := p.wait(t, time.Minute); code != 0 {
				t.Errorf("mount exit %d after SIGTERM, want 0", code)
			}
		})
		var st unix.Stat_t
		if err := unix.Stat(dir, &st); err != nil {
			t.Fatal(err)
		}
		raFile := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev))
		ra, err := os.ReadFile(raFile)
		if err != nil {
			t.Fatalf("the mount's read-ahead: %v", err)
		}
		if got := strings.TrimSpace(string(ra)); root && got != wantKB {
			t.Errorf("mount %v: %s = %s, want %s", flags, raFile, got, wantKB)
		}
		return dir, p
	}
	mount("512", "--max-read-ahead", "512k")
	mount("128", "--max-read-ahead", "off")
	if code, _, errOut := runCLI(t, t.Context(), "", append([]string{"mount", "--max-read-ahead", "1k", ":mega:box", t.TempDir()}, remote...)...); code != exitUsage || !strings.Contains(errOut, "--max-read-ahead") {
		t.Errorf("mount --max-read-ahead 1k: exit %d %q, want %d naming the flag", code, errOut, exitUsage)
	}
	dir, p := mount("4096")

	sum := sha256.Sum256(data)
	if got := strings.Fields(shell(t, fmt.Sprintf("dd if=%q/big.bin bs=1M 2>/dev/null | sha256sum", dir))); len(got) == 0 || got[0] != hex.EncodeToString(sum[:]) {
		t.Fatalf("dd through the mount: sha256 %v, want %x", got, sum)
	}
	sizes := readSizes(p.out.String())
	t.Logf("READ requests by size: %v", sizes)

	// --direct-io: the kernel passes dd's 64 KiB reads on as they are,
	// with no read-ahead and no page cache, and the bytes are right.
	dio, pd := mount("4096", "--direct-io")
	if got := strings.Fields(shell(t, fmt.Sprintf("dd if=%q/big.bin bs=64k 2>/dev/null | sha256sum", dio))); len(got) == 0 || got[0] != hex.EncodeToString(sum[:]) {
		t.Fatalf("dd through the --direct-io mount: sha256 %v, want %x", got, sum)
	}
	dsizes := readSizes(pd.out.String())
	// (One more at the end: dd's read that finds EOF.)
	if dsizes[64<<10] < len(data)/(64<<10) || len(dsizes) != 1 {
		t.Errorf("--direct-io: READ requests by size %v, want %d or more of 64 KiB and no others", dsizes, len(data)/(64<<10))
	}
	if !root {
		t.Skip("not root: the kernel's read-ahead stays at 128 KiB (read_ahead_kb is root's)")
	}
	if sizes[1<<20] < 12 {
		t.Errorf("READ requests of 1 MiB for a 24 MiB file: %d, want most of them (by size: %v)", sizes[1<<20], sizes)
	}
}
