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

// BenchmarkDownload reads a 24 MiB file through the verifying reader.
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
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		rc, err := c.Open(b.Context(), fi, 0, -1)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, rc); err != nil || n != size {
			b.Fatal(n, err)
		}
		rc.Close()
	}
}
