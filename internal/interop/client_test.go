package interop

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/mega"
	"ferry/mega/megacrypto"
	"ferry/megaserver/megaservertest"
)

// TestFlippedByteMAC flips one byte of a file's ciphertext on the server's
// disk. A full download must fail with megacrypto.ErrMAC (Download and the
// NewReader stream alike), while ranged reads that avoid the byte still
// return the right bytes: they cannot be verified, but they are not
// refused.
func TestFlippedByteMAC(t *testing.T) {
	const (
		size    = 1<<20 + 12345 // chunks [0,128K) [128K,384K) [384K,768K) [768K,1.25M)
		flipAt  = 500000        // in the third chunk
		flipped = 0x20
	)
	ts := megaservertest.Start(t)
	c := newFerry(t, clientOptions(t, ts.URL), megaservertest.UserV2, megaservertest.PasswordV2)
	data := pattern(7, size)
	n, err := c.Upload(t.Context(), c.Root(), "victim.bin", bytes.NewReader(data), size, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := ferryDownload(t, c, n); got != sumOf(bytes.NewReader(data)) {
		t.Fatal("download before the flip differs")
	}

	// The only file on this server is the only blob.
	blobs, err := os.ReadDir(filepath.Join(ts.Dir, "blobs"))
	if err != nil || len(blobs) != 1 {
		t.Fatalf("want exactly one blob, have %d (%v)", len(blobs), err)
	}
	path := filepath.Join(ts.Dir, "blobs", blobs[0].Name())
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, flipAt); err != nil {
		t.Fatal(err)
	}
	b[0] ^= flipped
	if _, err := f.WriteAt(b, flipAt); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	var sink bytes.Buffer
	err = c.Download(t.Context(), n, &sink)
	if !errors.Is(err, megacrypto.ErrMAC) {
		t.Fatalf("Download of a tampered file = %v, want megacrypto.ErrMAC", err)
	}
	t.Logf("Download: %v", err)
	// Download withholds the last piece of content that does not verify:
	// what it wrote is short, and apart from the flipped bit a prefix of
	// the data.
	if got := sink.Bytes(); len(got) >= size {
		t.Errorf("tampered download wrote %d bytes, want fewer than %d (the last piece withheld)", len(got), size)
	} else {
		want := bytes.Clone(data[:len(got)])
		if flipAt < len(want) {
			want[flipAt] ^= flipped
		}
		if !bytes.Equal(got, want) {
			t.Errorf("tampered download differs from the data in more than the flipped bit")
		}
	}

	r, err := c.NewReader(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, r)
	r.Close()
	if !errors.Is(err, megacrypto.ErrMAC) {
		t.Errorf("NewReader stream of a tampered file ended with %v, want megacrypto.ErrMAC", err)
	}

	file, err := c.Open(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]int64{{0, 131072}, {131072, 262144}, {100, flipAt - 100}, {flipAt + 1, 200000}, {size - 1000, 1000}} {
		buf := make([]byte, r[1])
		k, err := file.ReadAt(buf, r[0])
		if err != nil || k != len(buf) || !bytes.Equal(buf, data[r[0]:r[0]+r[1]]) {
			t.Errorf("ReadAt(%d bytes at %d), away from the flipped byte: %d, %v (content ok: %t)",
				r[1], r[0], k, err, bytes.Equal(buf[:k], data[r[0]:r[0]+int64(k)]))
		}
	}
	// A range over the byte is served (partial reads are not verified)
	// with exactly that bit flipped.
	buf := make([]byte, 64)
	if k, err := file.ReadAt(buf, flipAt-32); err != nil || k != 64 || buf[32] != data[flipAt]^flipped ||
		!bytes.Equal(buf[:32], data[flipAt-32:flipAt]) || !bytes.Equal(buf[33:], data[flipAt+1:flipAt+32]) {
		t.Errorf("ReadAt over the flipped byte: %d, %v; want the data with one bit flipped", k, err)
	}
}

// TestWrongPasswordAndBlocked: a wrong password and a login-rate block are
// distinct errors with distinct messages, and neither is retried.
func TestWrongPasswordAndBlocked(t *testing.T) {
	ctx := t.Context()
	t.Run("wrong password", func(t *testing.T) {
		ts := megaservertest.Start(t)
		for _, acct := range []struct{ email, password string }{
			{megaservertest.UserV2, "not the password"},
			{megaservertest.UserV1, "not the password"},
			{"nobody@example.com", "whatever"},
		} {
			c := mega.New(clientOptions(t, ts.URL))
			err := c.Login(ctx, acct.email, acct.password, mega.LoginOptions{})
			if !errors.Is(err, mega.ErrWrongPassword) || errors.Is(err, mega.ErrBlocked) {
				t.Errorf("Login(%s, wrong password) = %v, want mega.ErrWrongPassword", acct.email, err)
				continue
			}
			if msg := err.Error(); !strings.Contains(msg, "wrong e-mail or password") || !strings.Contains(msg, acct.email) {
				t.Errorf("wrong-password message %q should say what is wrong and name the account", msg)
			}
			if c.Session().SID != "" {
				t.Errorf("a failed login left a session")
			}
		}
		if n := ts.Server.Logins(megaservertest.UserV2); n != 1 {
			t.Errorf("%d login attempts for one wrong password: a rejected login must not be retried", n)
		}
	})

	t.Run("blocked", func(t *testing.T) {
		ts := megaservertest.Start(t, megaservertest.WithFaults("logins=3/min"))
		for i := range 3 {
			c := mega.New(clientOptions(t, ts.URL))
			if err := c.Login(ctx, megaservertest.UserV2, megaservertest.PasswordV2, mega.LoginOptions{}); err != nil {
				t.Fatalf("login %d of 3 allowed per minute: %v", i+1, err)
			}
		}
		c := mega.New(clientOptions(t, ts.URL))
		start := time.Now()
		err := c.Login(ctx, megaservertest.UserV2, megaservertest.PasswordV2, mega.LoginOptions{})
		if !errors.Is(err, mega.ErrBlocked) || errors.Is(err, mega.ErrWrongPassword) {
			t.Fatalf("4th login within a minute = %v, want mega.ErrBlocked", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("a blocked login took %v: EBLOCKED must not be retried", d)
		}
		if n := ts.Server.Logins(megaservertest.UserV2); n != 4 {
			t.Errorf("server saw %d login attempts, want 4 (no retry of a blocked login)", n)
		}
		blocked := err.Error()
		wrong := mega.New(clientOptions(t, ts.URL)).Login(ctx, "nobody@example.com", "x", mega.LoginOptions{})
		if !errors.Is(wrong, mega.ErrWrongPassword) {
			t.Fatalf("wrong e-mail = %v, want mega.ErrWrongPassword", wrong)
		}
		if !strings.Contains(blocked, "blocked") || strings.Contains(blocked, "wrong e-mail or password") || blocked == wrong.Error() {
			t.Errorf("blocked message %q is not distinct from wrong-password message %q", blocked, wrong.Error())
		}
		t.Logf("wrong password: %v", wrong)
		t.Logf("blocked:        %v", err)
	})
}
