package mega

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"ferry/mega/megacrypto"
	"ferry/megaserver/megaservertest"
)

// TestTamperedReadExactSize reads a tampered file the way consumers read
// a file whose size they know from the listing: exactly size bytes, never
// the extra Read that would return io.EOF. Every one must see
// megacrypto.ErrMAC (the reader withholds the last piece until the whole
// file verified), and Close reports it too. An intact file reads clean
// the same ways.
func TestTamperedReadExactSize(t *testing.T) {
	ts := megaservertest.Start(t)
	c := newLoggedIn(t, ts)
	const size = 3<<20 + 99 // several pieces with the default budget
	data := randomBytes(t, size)
	good := upload(t, c, c.Root(), "good", randomBytes(t, 5<<20))
	bad := upload(t, c, c.Root(), "bad", data)

	path := blobOf(t, ts, size)
	blob, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blob[1<<20] ^= 0x01 // early in the file: not in the last piece
	if err := os.WriteFile(path, blob, 0o600); err != nil {
		t.Fatal(err)
	}

	consumers := []struct {
		name string
		read func(r io.Reader, size int64) error
	}{
		{"ReadFull", func(r io.Reader, size int64) error {
			_, err := io.ReadFull(r, make([]byte, size))
			return err
		}},
		{"CopyN", func(r io.Reader, size int64) error {
			_, err := io.CopyN(io.Discard, r, size)
			return err
		}},
		{"LimitReader", func(r io.Reader, size int64) error {
			n, err := io.Copy(io.Discard, io.LimitReader(r, size))
			if err == nil && n < size {
				err = io.ErrUnexpectedEOF
			}
			return err
		}},
		{"ReadAll", func(r io.Reader, size int64) error {
			_, err := io.ReadAll(r)
			return err
		}},
	}
	for _, cs := range consumers {
		t.Run(cs.name, func(t *testing.T) {
			r, err := c.NewReader(t.Context(), bad)
			if err != nil {
				t.Fatal(err)
			}
			if err := cs.read(r, size); !errors.Is(err, megacrypto.ErrMAC) {
				t.Errorf("%s of exactly %d tampered bytes = %v, want ErrMAC", cs.name, size, err)
			}
			if err := r.Close(); !errors.Is(err, megacrypto.ErrMAC) {
				t.Errorf("Close after a failed verification = %v, want ErrMAC", err)
			}

			r, err = c.NewReader(t.Context(), good)
			if err != nil {
				t.Fatal(err)
			}
			if err := cs.read(r, good.Size); err != nil {
				t.Errorf("%s of an intact file: %v", cs.name, err)
			}
			if err := r.Close(); err != nil {
				t.Errorf("Close of an intact file: %v", err)
			}
		})
	}

	t.Run("Download", func(t *testing.T) {
		var buf bytes.Buffer
		if err := c.Download(t.Context(), bad, &buf); !errors.Is(err, megacrypto.ErrMAC) {
			t.Fatalf("Download = %v, want ErrMAC", err)
		}
		if buf.Len() >= size {
			t.Errorf("Download wrote all %d bytes of a tampered file; the last piece must be withheld", buf.Len())
		}
	})

	t.Run("CloseEarly", func(t *testing.T) {
		// Closing before the end is not a failure of the transfer.
		r, err := c.NewReader(t.Context(), good)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(r, make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Errorf("Close in the middle of an intact file = %v, want nil", err)
		}
	})
}
