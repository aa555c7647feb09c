package megaserver_test

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mega "github.com/t3rm1n4l/go-mega"

	"ferry/megaserver/megaservertest"
)

// settle waits until go-mega has applied the action packets of its own
// last change: go-mega's event goroutine rewrites node keys without a lock
// while DownloadFile reads them (a go-mega data race, not ours).
func settle(m *mega.Mega) {
	m.WaitEvents(m.WaitEventsStart(), 5*time.Second)
}

// TestGoMega is the quick compatibility proof with an independent client
// (github.com/t3rm1n4l/go-mega, used by rclone), unchanged.
func TestGoMega(t *testing.T) {
	// A short wait keeps settle quick: go-mega only sees "no more events"
	// when a wait URL answers.
	ts := megaservertest.Start(t, megaservertest.WithWaitTimeout(200*time.Millisecond))
	for _, acct := range []struct{ email, password string }{
		{megaservertest.UserV2, megaservertest.PasswordV2},
		{megaservertest.UserV1, megaservertest.PasswordV1},
	} {
		t.Run(acct.email, func(t *testing.T) {
			m := mega.New()
			m.SetLogger(nil)
			m.SetAPIUrl(ts.URL + "/") // go-mega trims the slash; X_MEGA_API_URL would not
			m.SetRetries(3)
			start := time.Now()
			if err := m.Login(acct.email, acct.password); err != nil {
				t.Fatalf("Login: %v", err)
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("Login took %v: the first sc must be answered promptly", d)
			}
			root := m.FS.GetRoot()
			if root == nil || m.FS.GetTrash() == nil || m.FS.GetInbox() == nil {
				t.Fatalf("roots missing")
			}
			user, err := m.GetUser()
			if err != nil || user.Email != acct.email {
				t.Fatalf("GetUser = %+v, %v", user, err)
			}

			dir, err := m.CreateDir("docs", root)
			if err != nil {
				t.Fatalf("CreateDir: %v", err)
			}
			sub, err := m.CreateDir("sub", dir)
			if err != nil {
				t.Fatalf("CreateDir: %v", err)
			}
			tmp := t.TempDir()
			for _, size := range []int{0, 1, 16, 131073, 1<<20 + 7} {
				data := make([]byte, size)
				rand.Read(data)
				src := filepath.Join(tmp, "src")
				if err := os.WriteFile(src, data, 0o600); err != nil {
					t.Fatal(err)
				}
				n, err := m.UploadFile(src, dir, "file.bin", nil)
				if err != nil {
					t.Fatalf("UploadFile(%d bytes): %v", size, err)
				}
				settle(m)
				if n.GetSize() != int64(size) || n.GetName() != "file.bin" {
					t.Errorf("uploaded node: size %d name %q", n.GetSize(), n.GetName())
				}
				dst := filepath.Join(tmp, "dst")
				if err := m.DownloadFile(n, dst, nil); err != nil {
					t.Fatalf("DownloadFile(%d bytes): %v", size, err)
				}
				got, _ := os.ReadFile(dst)
				if !bytes.Equal(got, data) {
					t.Errorf("download of %d bytes differs", size)
				}
				os.Remove(dst)
				if size == 131073 {
					if err := m.Rename(n, "renamed.bin"); err != nil {
						t.Fatalf("Rename: %v", err)
					}
					if err := m.Move(n, sub); err != nil {
						t.Fatalf("Move: %v", err)
					}
					link, err := m.Link(n, true)
					if err != nil || !strings.Contains(link, "#!") {
						t.Fatalf("Link = %q, %v", link, err)
					}
				} else if err := m.Delete(n, size%2 == 0); err != nil {
					t.Fatalf("Delete: %v", err)
				}
			}

			// A second client sees the result through a fresh tree fetch.
			m2 := mega.New()
			m2.SetLogger(nil)
			m2.SetAPIUrl(ts.URL)
			if err := m2.LoginWithKeys(m.GetSessionID(), m.GetMasterKey()); err != nil {
				t.Fatalf("LoginWithKeys: %v", err)
			}
			nodes, err := m2.FS.PathLookup(m2.FS.GetRoot(), []string{"docs", "sub", "renamed.bin"})
			if err != nil || len(nodes) != 3 || nodes[2].GetSize() != 131073 {
				t.Fatalf("PathLookup after rename+move: %v (%d nodes)", err, len(nodes))
			}
			trash, _ := m2.FS.GetChildren(m2.FS.GetTrash())
			if len(trash) != 2 { // the odd-sized files went to the rubbish bin
				t.Errorf("%d nodes in trash, want 2", len(trash))
			}
			// Events reach the first client: rename via m2, seen by m.
			if err := m2.Rename(nodes[1], "sub2"); err != nil {
				t.Fatalf("Rename via second client: %v", err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				if _, err := m.FS.PathLookup(m.FS.GetRoot(), []string{"docs", "sub2", "renamed.bin"}); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("rename by another session not seen through sc")
				}
				time.Sleep(20 * time.Millisecond)
			}
			q, err := m.GetQuota()
			if err != nil || q.Cstrg == 0 || q.Mstrg <= q.Cstrg {
				t.Errorf("GetQuota = %+v, %v", q, err)
			}
		})
	}
}

// TestGoMegaHashcashAndEnvURL: go-mega solves the server's hashcash
// challenge, and its X_MEGA_API_URL (read verbatim, so with the trailing
// slash it sends //cs) works.
func TestGoMegaHashcashAndEnvURL(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithHashcash(255), megaservertest.WithWaitTimeout(200*time.Millisecond))
	t.Setenv("X_MEGA_API_URL", ts.URL+"/")
	m := mega.New()
	m.SetLogger(nil)
	if err := m.Login(megaservertest.UserV2, megaservertest.PasswordV2); err != nil {
		t.Fatalf("Login behind hashcash with X_MEGA_API_URL: %v", err)
	}
	if _, err := m.CreateDir("x", m.FS.GetRoot()); err != nil {
		t.Fatalf("CreateDir: %v", err)
	}
	if n := ts.Server.Logins(megaservertest.UserV2); n != 1 {
		t.Errorf("Logins = %d, want 1", n)
	}
}
