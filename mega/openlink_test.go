package mega

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"testing"

	"ferry/mega/megacrypto"
	"ferry/megaserver/megaservertest"
)

// TestOpenFileLink: a file link opens on a client that never logged in
// (`g` with `p`), with the name and size the key decrypts, and reads back
// whole (MAC-verified) and in ranges.
func TestOpenFileLink(t *testing.T) {
	ts := megaservertest.Start(t)
	ctx := t.Context()
	owner := newLoggedIn(t, ts)
	data := randomBytes(t, 3<<20+17)
	n := upload(t, owner, owner.Root(), "report.pdf", data)
	url, err := owner.Link(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ParseLink(url)
	if err != nil {
		t.Fatal(err)
	}
	c := New(testOptions(t, ts)) // no login
	f, err := c.OpenFileLink(ctx, l)
	if err != nil {
		t.Fatalf("OpenFileLink: %v", err)
	}
	if f.Node().Name != "report.pdf" || f.Size() != int64(len(data)) || f.Node().ModTime.Unix() != 1700000000 {
		t.Errorf("node %q size %d mtime %v", f.Node().Name, f.Size(), f.Node().ModTime)
	}
	var buf bytes.Buffer
	if err := f.Download(ctx, &buf); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("Download: %v (%d bytes, equal %v)", err, buf.Len(), bytes.Equal(buf.Bytes(), data))
	}
	r := f.NewReader(ctx)
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) || r.Close() != nil {
		t.Fatalf("NewReader: %v", err)
	}
	part := make([]byte, 100)
	if _, err := f.ReadAt(part, 1<<20); err != nil || !bytes.Equal(part, data[1<<20:1<<20+100]) {
		t.Errorf("ReadAt: %v", err)
	}

	t.Run("wrong key", func(t *testing.T) {
		bad := l
		bad.Key = bytes.Repeat([]byte{1}, 32)
		if _, err := c.OpenFileLink(ctx, bad); !errors.Is(err, ErrNodeKey) {
			t.Errorf("OpenFileLink with another key: %v, want ErrNodeKey", err)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		bad := l
		bad.Handle = "AAAAAAAA"
		if _, err := c.OpenFileLink(ctx, bad); !errors.Is(err, ErrLinkNotFound) || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("OpenFileLink of an unknown handle: %v, want ErrLinkNotFound", err)
		}
	})
	t.Run("removed", func(t *testing.T) {
		if err := owner.Unlink(ctx, n); err != nil {
			t.Fatal(err)
		}
		if _, err := c.OpenFileLink(ctx, l); !errors.Is(err, ErrLinkNotFound) {
			t.Errorf("OpenFileLink after Unlink: %v, want ErrLinkNotFound", err)
		}
	})
}

// TestFileLinkCorrupt: a file link whose blob was corrupted fails with
// the MAC error, and the reader never delivers the last byte.
func TestFileLinkCorrupt(t *testing.T) {
	ts := megaservertest.Start(t)
	ctx := t.Context()
	owner := newLoggedIn(t, ts)
	const size = 1<<20 + 4321
	data := randomBytes(t, size)
	n := upload(t, owner, owner.Root(), "victim", data)
	url, err := owner.Link(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	ts.FlipByte(t, size, 10)
	l, _ := ParseLink(url)
	f, err := New(testOptions(t, ts)).OpenFileLink(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	r := f.NewReader(ctx)
	buf := make([]byte, size)
	got, err := io.ReadFull(r, buf)
	if !errors.Is(err, megacrypto.ErrMAC) || got == size {
		t.Errorf("ReadFull of a corrupt link: %d bytes, %v; want fewer than %d and ErrMAC", got, err, size)
	}
	if err := r.Close(); !errors.Is(err, megacrypto.ErrMAC) {
		t.Errorf("Close: %v, want ErrMAC", err)
	}
}
