package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/megaserver/megaservertest"
)

// TestMountWriteBack: with --vfs-write-back a real ferry mount returns
// from close before the upload (nothing is on the server while cp
// finishes), serves the new files meanwhile, and uploads all of them,
// byte-exact, when it is unmounted.
func TestMountWriteBack(t *testing.T) {
	needFUSE(t)
	bin := ferryBinary(t)
	srv, _ := megaCLI(t)
	if code, _, errOut := runCLI(t, t.Context(), "", "config", "create", "m", "mega", "user="+megaservertest.UserV2, "pass="+megaservertest.PasswordV2, "url="+srv.URL); code != 0 {
		t.Fatalf("config create: exit %d %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, t.Context(), "", "mkdir", "m:box"); code != 0 {
		t.Fatalf("mkdir: exit %d %s", code, errOut)
	}
	src := t.TempDir()
	for i := range 30 {
		data := strings.Repeat(fmt.Sprintf("file %d ", i), 100*i+1)
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("f%02d.txt", i)), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mnt := t.TempDir()
	p := startMountProc(t, bin, mnt, "mount", "m:box", mnt, "--vfs-write-back", "1h", "--transfers", "8")
	shell(t, fmt.Sprintf("cp -r '%s' '%s/in'", src, mnt))
	if code, out, errOut := runCLI(t, t.Context(), "", "lsf", "-R", "m:box"); code != 0 || strings.Contains(out, ".txt") {
		t.Fatalf("files on the server before the write-back (exit %d):\n%s%s", code, out, errOut)
	}
	if got := shell(t, fmt.Sprintf("cat '%s/in/f07.txt'", mnt)); got != strings.Repeat("file 7 ", 701) {
		t.Fatalf("the mount serves %d bytes of a file waiting for its upload", len(got))
	}
	start := time.Now()
	shell(t, fmt.Sprintf("fusermount3 -u '%s'", mnt))
	if code := p.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("ferry mount exited %d:\n%s", code, p.out)
	}
	t.Logf("unmount with 30 waiting uploads: %v", time.Since(start))
	if code, out, errOut := runCLI(t, t.Context(), "", "check", src, "m:box/in"); code != 0 {
		t.Fatalf("check after the unmount: exit %d\n%s%s\nmount log:\n%s", code, out, errOut, p.out)
	}
}
