package mount_test

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	mega "github.com/t3rm1n4l/go-mega"

	"ferry/megaserver/megaservertest"
)

// TestGoMegaInterop: a file written through the mount is downloaded
// intact by go-mega (rclone's MEGA client, an independent
// implementation), and a file go-mega uploads is readable through the
// mount within 5 s, through the action packets the mount's client
// watches. The delay is logged.
func TestGoMegaInterop(t *testing.T) {
	// A short wait lets go-mega see the end of its own events quickly.
	ts := megaservertest.Start(t, megaservertest.WithWaitTimeout(200*time.Millisecond))
	b, _ := newMegaOn(t, ts)
	m := mountT(t, b)
	local := t.TempDir()
	ours := make([]byte, 1<<20+12345) // more than one chunk
	rand.Read(ours)
	os.WriteFile(filepath.Join(local, "ours.bin"), ours, 0o644)
	m.mustSh(t, "mkdir shared && cp '"+local+"/ours.bin' shared/ && echo small > shared/small.txt")

	g := mega.New()
	g.SetLogger(nil)
	g.SetAPIUrl(ts.URL + "/")
	g.SetRetries(3)
	if err := g.Login(megaservertest.UserV2, megaservertest.PasswordV2); err != nil {
		t.Fatalf("go-mega Login: %v", err)
	}
	for name, want := range map[string][]byte{"ours.bin": ours, "small.txt": []byte("small\n")} {
		ns, err := g.FS.PathLookup(g.FS.GetRoot(), []string{"shared", name})
		if err != nil {
			t.Fatalf("go-mega does not find shared/%s written through the mount: %v", name, err)
		}
		dst := filepath.Join(local, "gomega-"+name)
		if err := g.DownloadFile(ns[1], dst, nil); err != nil {
			t.Fatalf("go-mega DownloadFile(shared/%s): %v", name, err)
		}
		if got, _ := os.ReadFile(dst); !bytes.Equal(got, want) {
			t.Fatalf("go-mega downloaded shared/%s: %d bytes unlike the %d written through the mount", name, len(got), len(want))
		}
	}

	theirs := make([]byte, 777777)
	rand.Read(theirs)
	src := filepath.Join(local, "theirs.bin")
	os.WriteFile(src, theirs, 0o644)
	m.mustSh(t, "ls shared") // the mount has listed the folder before the upload
	dir, err := g.FS.PathLookup(g.FS.GetRoot(), []string{"shared"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.UploadFile(src, dir[0], "theirs.bin", nil); err != nil {
		t.Fatalf("go-mega UploadFile: %v", err)
	}
	uploaded := time.Now()
	const within = 5 * time.Second
	for {
		if _, err := m.sh(t, "cmp shared/theirs.bin '"+src+"'"); err == nil {
			break
		}
		if time.Since(uploaded) > within {
			out, _ := m.sh(t, "ls -l shared")
			t.Fatalf("a file go-mega uploaded is not readable through the mount after %v:\n%s", within, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("go-mega's upload readable through the mount %v after UploadFile returned", time.Since(uploaded).Round(time.Millisecond))
}
