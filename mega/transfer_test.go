package mega

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
	"time"

	"ferry/mega/megacrypto"
	"ferry/megaserver/megaservertest"
)

var roundTripSizes = []int{0, 1, 16, 17, 8192, 8193, 131071, 131072, 131073, 393215, 393216, 393217, 5<<20 + 3}

func TestUploadDownloadRoundTrip(t *testing.T) {
	ts := megaservertest.Start(t)
	c := newLoggedIn(t, ts)
	for _, size := range roundTripSizes {
		t.Run(itoa(size), func(t *testing.T) {
			data := randomBytes(t, size)
			n := upload(t, c, c.Root(), "f"+itoa(size), data)
			if n.Size != int64(size) || n.Type != FileNode || n.Name != "f"+itoa(size) {
				t.Fatalf("node = %+v", n)
			}
			if !n.ModTime.Equal(time.Unix(1700000000, 0)) {
				t.Errorf("ModTime = %v, want 1700000000", n.ModTime)
			}
			want, err := megacrypto.Fingerprint(bytes.NewReader(data), int64(size), 1700000000)
			if err != nil || n.Fingerprint != want {
				t.Errorf("Fingerprint = %q, want %q (%v)", n.Fingerprint, want, err)
			}
			if got := download(t, c, n); sum(got) != sum(data) {
				t.Fatalf("download differs (%d bytes, want %d)", len(got), size)
			}
			r, err := c.NewReader(t.Context(), n)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || sum(got) != sum(data) {
				t.Fatalf("NewReader: %v, %d bytes, equal=%v", err, len(got), bytes.Equal(got, data))
			}
		})
	}
}

func itoa(n int) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

func TestUploadSmallBudget(t *testing.T) {
	ts := megaservertest.Start(t)
	opts := testOptions(t, ts)
	opts.MemoryBudget = 1 // raised to 1 MiB: one piece at a time
	opts.UploadConcurrency, opts.DownloadConcurrency = 1, 1
	c := newLoggedInAs(t, ts, opts, megaservertest.UserV2, megaservertest.PasswordV2)
	data := randomBytes(t, 6<<20+5)
	n := upload(t, c, c.Root(), "small-budget", data)
	if got := download(t, c, n); sum(got) != sum(data) {
		t.Fatal("round trip differs")
	}
}

func TestReadAt(t *testing.T) {
	ts := megaservertest.Start(t)
	c := newLoggedIn(t, ts)
	data := randomBytes(t, 1<<20+12345)
	n := upload(t, c, c.Root(), "readat", data)
	f, err := c.Open(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	if f.Size() != int64(len(data)) {
		t.Fatalf("Size = %d", f.Size())
	}
	size := int64(len(data))
	for _, tt := range []struct {
		off     int64
		n       int
		want    int
		wantEOF bool
	}{
		{0, 1, 1, false},
		{1, 15, 15, false},
		{7, 33, 33, false},
		{131071, 3, 3, false},
		{131069, 100000, 100000, false},
		{size - 10, 10, 10, false},
		{size - 10, 11, 10, true},
		{size - 1, 4096, 1, true},
		{size, 5, 0, true},
		{size + 100, 5, 0, true},
		{12345, 0, 0, false},
	} {
		p := make([]byte, tt.n)
		got, err := f.ReadAt(p, tt.off)
		if got != tt.want || (err == io.EOF) != tt.wantEOF || (err != nil && err != io.EOF) {
			t.Errorf("ReadAt(%d bytes at %d) = %d, %v; want %d, EOF=%v", tt.n, tt.off, got, err, tt.want, tt.wantEOF)
			continue
		}
		if got > 0 && !bytes.Equal(p[:got], data[tt.off:tt.off+int64(got)]) {
			t.Errorf("ReadAt(%d bytes at %d): wrong bytes", tt.n, tt.off)
		}
	}
	if _, err := f.ReadAt(make([]byte, 1), -1); err == nil {
		t.Error("ReadAt at -1 succeeded")
	}
	// io.SectionReader over the File must read the whole content.
	got, err := io.ReadAll(io.NewSectionReader(f, 0, size))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("SectionReader: %v, equal=%v", err, bytes.Equal(got, data))
	}
}

func TestIOTestReader(t *testing.T) {
	ts := megaservertest.Start(t)
	c := newLoggedIn(t, ts)
	data := randomBytes(t, 300000)
	n := upload(t, c, c.Root(), "iotest", data)
	r, err := c.NewReader(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := iotest.TestReader(r, data); err != nil {
		t.Fatal(err)
	}
	// Every Read of a File is one HTTP request: test it on a small file.
	small := data[:3000]
	f, err := c.Open(t.Context(), upload(t, c, c.Root(), "iotest-small", small))
	if err != nil {
		t.Fatal(err)
	}
	if err := iotest.TestReader(io.NewSectionReader(f, 0, f.Size()), small); err != nil {
		t.Fatalf("File via SectionReader: %v", err)
	}
}

// blobOf finds the stored ciphertext of a size-byte upload in the server's
// data directory.
func blobOf(t *testing.T, ts *megaservertest.TestServer, size int64) string {
	t.Helper()
	var found []string
	filepath.WalkDir(filepath.Join(ts.Dir, "blobs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil && fi.Size() == size {
				found = append(found, p)
			}
		}
		return nil
	})
	if len(found) != 1 {
		t.Fatalf("found %d blobs of %d bytes, want 1", len(found), size)
	}
	return found[0]
}

func TestDownloadDetectsTampering(t *testing.T) {
	ts := megaservertest.Start(t)
	c := newLoggedIn(t, ts)
	data := randomBytes(t, 2<<20+777)
	n := upload(t, c, c.Root(), "tampered", data)

	path := blobOf(t, ts, int64(len(data)))
	blob, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const at = 1<<20 + 4242
	blob[at] ^= 0x40
	if err := os.WriteFile(path, blob, 0o600); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := c.Download(t.Context(), n, &buf); !errors.Is(err, megacrypto.ErrMAC) {
		t.Fatalf("Download of a tampered blob = %v, want ErrMAC", err)
	}
	r, err := c.NewReader(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(r)
	if !errors.Is(err, megacrypto.ErrMAC) {
		t.Fatalf("NewReader ReadAll = %v, want ErrMAC", err)
	}
	if _, err2 := r.Read(make([]byte, 10)); !errors.Is(err2, megacrypto.ErrMAC) {
		t.Fatalf("Read after the MAC error = %v, want ErrMAC again (sticky)", err2)
	}
	r.Close()

	// A range read is not verified: it sees the flipped bit and nothing else.
	f, err := c.Open(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 100)
	if _, err := f.ReadAt(p, at-50); err != nil {
		t.Fatalf("ReadAt: %v", err)
	}
	want := bytes.Clone(data[at-50 : at+50])
	want[50] ^= 0x40
	if !bytes.Equal(p, want) {
		t.Fatal("ReadAt of the tampered range returned unexpected bytes")
	}
	if _, err := f.ReadAt(p, 1000); err != nil || !bytes.Equal(p, data[1000:1100]) {
		t.Fatalf("ReadAt of an intact range: %v", err)
	}
}

func TestTransfersUnderFaults(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithFaults("eagain=0.05,http500=0.02,drop=0.02"))
	opts := testOptions(t, ts)
	opts.MemoryBudget = 8 << 20 // 1 MiB pieces: many requests
	c := newLoggedInAs(t, ts, opts, megaservertest.UserV2, megaservertest.PasswordV2)
	for _, size := range []int{0, 17, 131073, 393216, 5<<20 + 3, 12 << 20} {
		data := randomBytes(t, size)
		n := upload(t, c, c.Root(), "faulty"+itoa(size), data)
		if got := download(t, c, n); sum(got) != sum(data) {
			t.Fatalf("%d bytes: round trip under faults differs", size)
		}
		f, err := c.Open(t.Context(), n)
		if err != nil {
			t.Fatal(err)
		}
		for off := int64(0); off < int64(size); off += 777777 {
			p := make([]byte, min(5000, int64(size)-off))
			if _, err := f.ReadAt(p, off); err != nil || !bytes.Equal(p, data[off:off+int64(len(p))]) {
				t.Fatalf("ReadAt(%d) under faults: %v", off, err)
			}
		}
	}
	if err := c.FetchTree(t.Context()); err != nil {
		t.Fatal(err)
	}
	if nodes, err := c.Lookup("faulty17"); err != nil || len(nodes) != 1 {
		t.Fatalf("retries duplicated nodes: %d nodes named faulty17 (%v)", len(nodes), err)
	}
}

// blockingReader yields n bytes, then blocks until released.
type blockingReader struct {
	n       int
	started chan struct{}
	release chan struct{}
}

func (r *blockingReader) Read(p []byte) (int, error) {
	if r.n > 0 {
		k := min(len(p), r.n)
		r.n -= k
		return k, nil
	}
	close(r.started)
	<-r.release
	return 0, io.ErrUnexpectedEOF
}

func TestUploadCancelLeavesNoNode(t *testing.T) {
	ts := megaservertest.Start(t)
	c := newLoggedIn(t, ts)
	ctx, cancel := context.WithCancel(t.Context())
	r := &blockingReader{n: 3 << 20, started: make(chan struct{}), release: make(chan struct{})}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Upload(ctx, c.Root(), "cancelled", r, 10<<20, time.Now())
		errc <- err
	}()
	<-r.started
	cancel()
	close(r.release)
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Upload = %v, want context.Canceled", err)
	}
	if err := c.FetchTree(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Lookup("cancelled"); err == nil {
		t.Fatalf("cancelled upload left %v", n)
	}
}

func TestUploadShortAndLongSource(t *testing.T) {
	ts := megaservertest.Start(t)
	c := newLoggedIn(t, ts)
	_, err := c.Upload(t.Context(), c.Root(), "short", bytes.NewReader(make([]byte, 100)), 200, time.Now())
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short source: %v, want ErrUnexpectedEOF", err)
	}
	_, err = c.Upload(t.Context(), c.Root(), "long", bytes.NewReader(make([]byte, 300)), 200, time.Now())
	if err == nil {
		t.Error("long source succeeded")
	}
	if _, err := c.Lookup("short"); err == nil {
		t.Error("failed upload left a node")
	}
}

func TestUploadFromAwkwardReaders(t *testing.T) {
	ts := megaservertest.Start(t)
	c := newLoggedIn(t, ts)
	data := randomBytes(t, 400000)
	for name, r := range map[string]io.Reader{
		"onebyte": iotest.OneByteReader(bytes.NewReader(data[:20000])),
		"half":    iotest.HalfReader(bytes.NewReader(data)),
		"dataerr": iotest.DataErrReader(bytes.NewReader(data)),
	} {
		size := len(data)
		if name == "onebyte" {
			size = 20000
		}
		n, err := c.Upload(t.Context(), c.Root(), name, r, int64(size), time.Now())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := download(t, c, n); !bytes.Equal(got, data[:size]) {
			t.Fatalf("%s: round trip differs", name)
		}
	}
	boom := errors.New("disk on fire")
	_, err := c.Upload(t.Context(), c.Root(), "failing", io.MultiReader(bytes.NewReader(data[:5000]), iotest.ErrReader(boom)), int64(len(data)), time.Now())
	if !errors.Is(err, boom) {
		t.Fatalf("failing reader: %v, want its error", err)
	}
}
