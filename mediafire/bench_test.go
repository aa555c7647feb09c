package mediafire

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"ferry/mediafireserver/mediafireservertest"
)

// BenchmarkUpload uploads through the client to the stand-in on loopback:
// one simple upload (1 MiB) and a resumable one (24 MiB in 2 MiB units).
// Each iteration stores different content, so no upload is instant.
func BenchmarkUpload(b *testing.B) {
	quiet := slog.New(slog.DiscardHandler)
	ts := mediafireservertest.Start(b, mediafireservertest.WithLogger(quiet))
	for _, size := range []int64{1 << 20, 24 << 20} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			c, err := New(Options{BaseURL: ts.URL, Email: mediafireservertest.User, Password: mediafireservertest.Password})
			if err != nil {
				b.Fatal(err)
			}
			data := make([]byte, size)
			pattern{size: size}.ReadAt(data, 0)
			b.SetBytes(size)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				data[0], data[size-1] = byte(i), byte(i>>8) // new content each time
				if _, err := c.Upload(b.Context(), "", fmt.Sprintf("u%d", i), bytes.NewReader(data), size, UploadOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDownload reads a 24 MiB file through the verifying reader,
// hashed on its own goroutine: by Read (32 KiB at a time, as io.Copy to
// a writer without ReadFrom) and by WriteTo (io.Copy's first choice).
func BenchmarkDownload(b *testing.B) {
	quiet := slog.New(slog.DiscardHandler)
	ts := mediafireservertest.Start(b, mediafireservertest.WithLogger(quiet))
	c, err := New(Options{BaseURL: ts.URL, Email: mediafireservertest.User, Password: mediafireservertest.Password})
	if err != nil {
		b.Fatal(err)
	}
	const size = 24 << 20
	fi, err := c.Upload(b.Context(), "", "d", pattern{size: size}, size, UploadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for name, copyAll := range map[string]func(io.Reader) (int64, error){
		"Read":    func(r io.Reader) (int64, error) { return io.Copy(onlyWriter{io.Discard}, onlyReader{r}) },
		"WriteTo": func(r io.Reader) (int64, error) { return io.Copy(onlyWriter{io.Discard}, r) },
	} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				rc, err := c.Open(b.Context(), fi, 0, -1)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := copyAll(rc); err != nil || n != size {
					b.Fatal(n, err)
				}
				rc.Close()
			}
		})
	}
}

// onlyReader hides every method of r but Read.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }
