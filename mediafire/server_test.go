package mediafire

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/internal/retry"
	"ferry/mediafire/mfapi"
	"ferry/mediafireserver"
	"ferry/mediafireserver/mediafireservertest"
)

// These tests talk HTTP to the stand-in server on 127.0.0.1.

func serverClient(t *testing.T, ts *mediafireservertest.TestServer, tweak ...func(*Options)) *Client {
	c, _ := watchedClient(t, ts, tweak...)
	return c
}

// watchedClient is serverClient with a watcher of the replies' codes.
func watchedClient(t *testing.T, ts *mediafireservertest.TestServer, tweak ...func(*Options)) (*Client, *codeWatcher) {
	t.Helper()
	hc := ts.Client()
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	w := &codeWatcher{next: next}
	hc.Transport = w
	o := Options{
		BaseURL: ts.URL, Email: mediafireservertest.User, Password: mediafireservertest.Password,
		HTTPClient:   hc,
		Logger:       slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo})),
		Retry:        retry.Policy{Base: time.Millisecond, Cap: 10 * time.Millisecond, MaxAttempts: 8},
		PollInterval: time.Millisecond,
	}
	for _, f := range tweak {
		f(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c, w
}

// pattern is a deterministic source of any size that holds nothing in
// memory: byte i is a function of i.
type pattern struct {
	size   int64
	failAt int64 // ReadAt at or past this offset fails; 0: never
}

func (p pattern) ReadAt(b []byte, off int64) (int, error) {
	if p.failAt > 0 && off+int64(len(b)) > p.failAt {
		return 0, errors.New("source unreadable (simulated crash)")
	}
	if off >= p.size {
		return 0, io.EOF
	}
	n := min(int64(len(b)), p.size-off)
	for i := range n {
		x := uint64(off + i)
		b[i] = byte(x*2654435761>>13) ^ byte(x>>9)
	}
	if n < int64(len(b)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

func sumOf(t *testing.T, r io.ReaderAt, size int64) string {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func readAll(t *testing.T, c *Client, fi *mfapi.FileInfo) []byte {
	t.Helper()
	rc, err := c.Open(t.Context(), fi, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A resumable upload cut off halfway resumes without sending again the
// units the server has: 64 MiB in 16 units of 4 MiB, the first attempt
// dies at unit 8, the second sends units 8..15 only (counted at the
// server).
func TestResumableUploadResumes(t *testing.T) {
	ts := mediafireservertest.Start(t)
	c := serverClient(t, ts, func(o *Options) { o.UploadConcurrency = 1 })
	const size = 64 << 20
	src := pattern{size: size}
	sum := sumOf(t, src, size)
	if u := mfapi.UnitSize(size); u != 4<<20 {
		t.Fatalf("unit size %d", u)
	}
	_, err := c.Upload(t.Context(), "", "big.bin", pattern{size: size, failAt: size / 2}, size, UploadOptions{Hash: sum})
	if err == nil {
		t.Fatal("upload from a source that fails halfway succeeded")
	}
	st := ts.Server.Stats()
	if st.Units != 8 || st.UnitBytes != size/2 {
		t.Fatalf("first attempt: %d units, %d bytes; want 8 units of the first half", st.Units, st.UnitBytes)
	}
	ts.Server.ResetStats()
	fi, err := c.Upload(t.Context(), "", "big.bin", src, size, UploadOptions{Hash: sum})
	if err != nil {
		t.Fatal(err)
	}
	st = ts.Server.Stats()
	if st.Units != 8 || st.UnitBytes != size/2 {
		t.Errorf("resumed upload sent %d units, %d bytes; want only the 8 missing units (%d bytes)", st.Units, st.UnitBytes, size/2)
	}
	if fi.Hash != sum || int64(fi.Size) != size {
		t.Errorf("file %+v, want hash %s size %d", fi, sum, size)
	}
	rc, err := c.Open(t.Context(), fi, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		t.Errorf("downloaded hash %s, want %s", got, sum)
	}
}

// Units whose replies were lost (the connection dropped after the server
// stored them) are not sent again within the same Upload.
func TestResumableDroppedRepliesNotResent(t *testing.T) {
	ts := mediafireservertest.Start(t, mediafireservertest.WithFaults("upload/resumable.drop=2x"))
	c := serverClient(t, ts, func(o *Options) { o.UploadConcurrency = 1 })
	const size = 9437307 // 10 units of 1 MiB
	src := pattern{size: size}
	fi, err := c.Upload(t.Context(), "", "nine.bin", src, size, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st := ts.Server.Stats(); st.Units != 10 || st.UnitBytes != size {
		t.Errorf("server received %d units, %d bytes; want each of the 10 units once (%d bytes)", st.Units, st.UnitBytes, size)
	}
	if hits := ts.Server.FaultHits()[mediafireserver.FaultDrop]; hits != 2 {
		t.Errorf("drop hit %d times, want 2", hits)
	}
	want := make([]byte, size)
	src.ReadAt(want, 0)
	if got := readAll(t, c, fi); !bytes.Equal(got, want) {
		t.Error("content differs")
	}
}

// The duplicity lock-out (a poll_upload reply lost after the key rotated)
// is repaired by one new login: the upload succeeds and no 127 reaches
// the caller.
func TestLostPollReplyNoLockout(t *testing.T) {
	for _, kind := range []string{"lost", "drop"} {
		t.Run(kind, func(t *testing.T) {
			ts := mediafireservertest.Start(t, mediafireservertest.WithFaults("upload/poll_upload."+kind+"=1x"))
			c, w := watchedClient(t, ts)
			data := []byte("a duplicity volume")
			fi, err := c.Upload(t.Context(), "", "vol1.difftar.gpg", bytes.NewReader(data), int64(len(data)), UploadOptions{})
			if err != nil {
				t.Fatalf("upload: %v", err)
			}
			if got := readAll(t, c, fi); !bytes.Equal(got, data) {
				t.Errorf("content %q", got)
			}
			if n := w.n127.Load(); n != 0 {
				t.Errorf("%d replies said 127: a call was signed with a stale key", n)
			}
			if n := c.Logins(); n != 2 {
				t.Errorf("%d logins, want 2 (one to repair the lost key)", n)
			}
			if ts.Server.FaultHits()[mediafireserver.FaultKind(kind)] != 1 {
				t.Error("the fault never struck")
			}
		})
	}
}

// Content the server already has is added by upload/instant, sending no
// bytes; the same name and content again is no upload at all.
func TestInstantAndNoUpload(t *testing.T) {
	ts := mediafireservertest.Start(t)
	c := serverClient(t, ts)
	data := bytes.Repeat([]byte("instant"), 1000)
	if _, err := c.Upload(t.Context(), "", "a.bin", bytes.NewReader(data), int64(len(data)), UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	ts.Server.ResetStats()
	fi, err := c.Upload(t.Context(), "", "b.bin", bytes.NewReader(data), int64(len(data)), UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := ts.Server.Stats()
	if st.Calls["upload/instant"] != 1 || st.SimpleBytes != 0 || st.Calls["upload/simple"] != 0 {
		t.Errorf("second copy: %v, %d bytes sent; want one upload/instant and no bytes", st.Calls, st.SimpleBytes)
	}
	if fi.Filename != "b.bin" {
		t.Errorf("instant upload named %q", fi.Filename)
	}
	ts.Server.ResetStats()
	if _, err := c.Upload(t.Context(), "", "b.bin", bytes.NewReader(data), int64(len(data)), UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	st = ts.Server.Stats()
	if st.Calls["upload/instant"] != 0 || st.Calls["upload/simple"] != 0 {
		t.Errorf("same name and content again: %v; want no upload", st.Calls)
	}
}

// A download whose bytes do not hash to the file's hash fails at the
// Read that would deliver the last byte, however the consumer reads; a
// truncated stream is resumed and verified.
// onlyWriter hides every method of w but Write (so io.Copy uses the
// reader's WriteTo).
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

// Both sizes: hashed inline, and on the hashing goroutine (pipeMin and up).
func TestDownloadVerified(t *testing.T) {
	for _, size := range []int64{300000, pipeMin + 300001} {
		t.Run(strconv.FormatInt(size, 10), func(t *testing.T) { testDownloadVerified(t, size) })
	}
}

func testDownloadVerified(t *testing.T, size int64) {
	ts := mediafireservertest.Start(t)
	c := serverClient(t, ts)
	data := make([]byte, size)
	pattern{size: size}.ReadAt(data, 0)
	fi, err := c.Upload(t.Context(), "", "v.bin", bytes.NewReader(data), size, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, read := range map[string]func(io.Reader) error{
		"ReadFull": func(r io.Reader) error { _, err := io.ReadFull(r, make([]byte, size)); return err },
		"CopyN":    func(r io.Reader) error { _, err := io.CopyN(io.Discard, r, size); return err },
		"ReadAll":  func(r io.Reader) error { _, err := io.ReadAll(r); return err },
		"WriteTo": func(r io.Reader) error {
			var got bytes.Buffer
			_, err := io.Copy(onlyWriter{&got}, r)
			if int64(got.Len()) >= size {
				return fmt.Errorf("WriteTo wrote all %d bytes before the hash failed (%v)", got.Len(), err)
			}
			return err
		},
		"Read then WriteTo": func(r io.Reader) error {
			if _, err := io.ReadFull(r, make([]byte, 1000)); err != nil {
				return err
			}
			_, err := io.Copy(onlyWriter{io.Discard}, r)
			return err
		},
	} {
		t.Run("corrupt/"+name, func(t *testing.T) {
			if err := ts.Server.SetFaults(mediafireserver.Faults{Rules: []mediafireserver.FaultRule{{Method: "dl", Kind: mediafireserver.FaultCorrupt, Count: 1}}}); err != nil {
				t.Fatal(err)
			}
			rc, err := c.Open(t.Context(), fi, 0, -1)
			if err != nil {
				t.Fatal(err)
			}
			err = read(rc)
			rc.Close()
			if !errors.Is(err, ErrHashMismatch) {
				t.Errorf("%s of corrupt bytes: %v, want ErrHashMismatch", name, err)
			}
			if !retry.IsRetryable(err) {
				t.Errorf("a hash mismatch is not retryable: %v", err)
			}
		})
	}
	t.Run("truncated", func(t *testing.T) {
		if err := ts.Server.SetFaults(mediafireserver.Faults{Rules: []mediafireserver.FaultRule{{Method: "dl", Kind: mediafireserver.FaultTruncate, Count: 3}}}); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, c, fi); !bytes.Equal(got, data) {
			t.Error("content differs after resumed downloads")
		}
		if h := ts.Server.FaultHits()[mediafireserver.FaultTruncate]; h != 3 {
			t.Errorf("truncate hit %d times, want 3", h)
		}
		// The same through WriteTo (io.Copy), which writes the last
		// bytes only after the hash.
		if err := ts.Server.SetFaults(mediafireserver.Faults{Rules: []mediafireserver.FaultRule{{Method: "dl", Kind: mediafireserver.FaultTruncate, Count: 2}}}); err != nil {
			t.Fatal(err)
		}
		rc, err := c.Open(t.Context(), fi, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		n, err := io.Copy(onlyWriter{&got}, rc)
		rc.Close()
		if err != nil || n != size || !bytes.Equal(got.Bytes(), data) {
			t.Errorf("WriteTo after resumed downloads: %d bytes, %v; content equal %v", n, err, bytes.Equal(got.Bytes(), data))
		}
	})
	t.Run("range", func(t *testing.T) {
		rc, err := c.Open(t.Context(), fi, 1000, 5000)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		got, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(got, data[1000:6000]) {
			t.Errorf("range: %d bytes, %v", len(got), err)
		}
	})
	t.Run("abandoned", func(t *testing.T) {
		// A reader closed halfway ends what it started (the hashing
		// goroutine of a large read).
		before := runtime.NumGoroutine()
		for range 5 {
			rc, err := c.Open(t.Context(), fi, 0, -1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.CopyN(io.Discard, rc, size/2); err != nil {
				t.Fatal(err)
			}
			rc.Close()
		}
		c.hc.CloseIdleConnections()
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			t.Errorf("%d goroutines after 5 abandoned reads, %d before", n, before)
		}
	})
}

// Listings read every page: 7 files in pages of 3 are 3 calls.
func TestListingPages(t *testing.T) {
	ts := mediafireservertest.Start(t)
	c := serverClient(t, ts)
	old := chunkSize
	chunkSize = 3
	t.Cleanup(func() { chunkSize = old })
	dir, err := c.CreateFolder(t.Context(), "", "paged")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		d := []byte(fmt.Sprint("file ", i))
		if _, err := c.Upload(t.Context(), dir, fmt.Sprintf("f%d", i), bytes.NewReader(d), int64(len(d)), UploadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ts.Server.ResetStats()
	files, err := c.Files(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 7 {
		t.Errorf("%d files, want 7", len(files))
	}
	if n := ts.Server.Stats().Calls["folder/get_content"]; n != 3 {
		t.Errorf("%d pages read, want 3", n)
	}
}

// Wrong credentials against the server: fatal, tried once.
func TestServerWrongPassword(t *testing.T) {
	ts := mediafireservertest.Start(t)
	c := serverClient(t, ts, func(o *Options) { o.Password = "not it" })
	err := c.Login(t.Context())
	if !errors.Is(err, mfapi.ErrCredentials) {
		t.Fatalf("err = %v, want 107", err)
	}
	if n := ts.Server.Stats().Calls["user/get_session_token"]; n != 1 {
		t.Errorf("%d logins tried, want 1", n)
	}
}

// Against the server, with faults that exercise every error path and
// debug logging on: no log line or error holds the password, a token
// (144 characters), a query string or a signature.
func TestServerSecretsNotLogged(t *testing.T) {
	ts := mediafireservertest.Start(t, mediafireservertest.WithFaults("lost=2x,expire=2x,http500=2x,drop=2x,upload/resumable.drop=1x,upload/resumable.expire=1x,dl.truncate=1x"))
	var logBuf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logBuf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := serverClient(t, ts, func(o *Options) { o.Logger = log })
	var errs []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, err.Error(), fmt.Sprintf("%#v", err))
		}
	}
	ctx := t.Context()
	const size = 5 << 20
	fi, err := c.Upload(ctx, "", "secret-test.bin", pattern{size: size}, size, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, c, fi)
	_, _, err = c.Content(ctx, "")
	note(err)
	note(c.DeleteFile(ctx, fi.QuickKey, false))
	note(c.DeleteFile(ctx, fi.QuickKey, false)) // 110
	bad := serverClient(t, ts, func(o *Options) { o.Logger = log; o.Password = "Wrong-Pa55word" })
	note(bad.Login(ctx))
	if len(errs) == 0 {
		t.Fatal("no errors to check")
	}
	mu.Lock()
	all := logBuf.String() + strings.Join(errs, "\n")
	mu.Unlock()
	if !strings.Contains(all, "upload/resumable") {
		t.Fatalf("the log shows no calls:\n%s", all)
	}
	token := regexp.MustCompile(`[A-Za-z0-9]{100,}`)
	for _, bad := range []string{mediafireservertest.Password, "Wrong-Pa55word", "session_token=", "signature=", "password="} {
		if strings.Contains(all, bad) {
			t.Errorf("%q leaked into the log or an error", bad)
		}
	}
	if m := token.FindString(all); m != "" {
		t.Errorf("a token-like string leaked: %.20s…", m)
	}
}

// Unit hashes a caller gives (UploadOptions.Units) replace the client's
// own only for the server's unit size, and they are what the server
// checks: a source whose bytes are not those hashes fails, and nothing is
// stored.
func TestUploadGivenUnitHashes(t *testing.T) {
	ts := mediafireservertest.Start(t)
	c := serverClient(t, ts)
	const size = 9<<20 + 5 // 10 units of 1 MiB
	src := pattern{size: size}
	sum := sumOf(t, src, size)
	uh := NewUnitHasher(size)
	if _, err := io.Copy(uh, io.NewSectionReader(src, 0, size)); err != nil {
		t.Fatal(err)
	}
	good := uh.Hashes()
	if good.UnitSize != 1<<20 || len(good.Sums) != 10 {
		t.Fatalf("unit hashes: %d of %d bytes", len(good.Sums), good.UnitSize)
	}
	bad := &UnitHashes{UnitSize: good.UnitSize, Sums: append([]string(nil), good.Sums...)}
	bad.Sums[3] = strings.Repeat("0", 64)
	other := &UnitHashes{UnitSize: 2 << 20, Sums: []string{"x"}} // not the server's unit size: ignored

	if _, err := c.Upload(t.Context(), "", "bad.bin", src, size, UploadOptions{Hash: sum, Units: bad}); err == nil {
		t.Error("an upload whose unit hashes are not its bytes succeeded")
	}
	for name, units := range map[string]*UnitHashes{"given.bin": good, "other.bin": other} {
		fi, err := c.Upload(t.Context(), "", name, src, size, UploadOptions{Hash: sum, Units: units})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if fi.Hash != sum {
			t.Errorf("%s: hash %s, want %s", name, fi.Hash, sum)
		}
	}
	files, err := c.Files(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Filename == "bad.bin" {
			t.Errorf("the failed upload left %+v", f)
		}
	}
}

// Units of an *os.File source go out from an open file of their own
// (sendfile), in parallel, and arrive intact; the caller's file offset is
// not moved.
func TestUploadFromFile(t *testing.T) {
	ts := mediafireservertest.Start(t)
	c := serverClient(t, ts, func(o *Options) { o.UploadConcurrency = 3 })
	const size = 9<<20 + 5
	data := make([]byte, size)
	pattern{size: size}.ReadAt(data, 0)
	p := filepath.Join(t.TempDir(), "src.bin")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(123, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "linux" {
		for _, src := range []io.ReaderAt{f, io.NewSectionReader(f, 7, size-7)} {
			body, done := unitBody(src, 1<<20, 1<<20)
			if fs, ok := body.(*fileSection); !ok {
				t.Errorf("a unit of a %T is sent from a %T, want a file of its own", src, body)
			} else {
				got := make([]byte, 1<<20)
				if _, err := io.ReadFull(body, got); err != nil {
					t.Fatal(err)
				}
				base := int64(1 << 20)
				if sr, ok := src.(*io.SectionReader); ok {
					_, b, _ := sr.Outer()
					base += b
				}
				if !bytes.Equal(got, data[base:base+1<<20]) || fs.end != base+1<<20 {
					t.Errorf("a unit of a %T: wrong bytes or end %d", src, fs.end)
				}
			}
			done()
		}
	}
	fi, err := c.Upload(t.Context(), "", "from-file.bin", f, size, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pos, _ := f.Seek(0, io.SeekCurrent); pos != 123 {
		t.Errorf("the source's offset moved to %d", pos)
	}
	if got := readAll(t, c, fi); !bytes.Equal(got, data) {
		t.Error("the uploaded file differs from the source")
	}
	fi, err = c.Upload(t.Context(), "", "section.bin", io.NewSectionReader(f, 7, size-7), size-7, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, c, fi); !bytes.Equal(got, data[7:]) {
		t.Error("the file uploaded from a section differs from the section")
	}
}
