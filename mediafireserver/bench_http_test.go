package mediafireserver_test

import (
	"bytes"
	"io"
	"log/slog"
	"strconv"
	"testing"

	mfst "ferry/mediafireserver/mediafireservertest"
)

func quietServer(b *testing.B) *mfst.TestServer {
	return mfst.Start(b, mfst.WithLogger(slog.New(slog.DiscardHandler)))
}

// BenchmarkSignedCall is one signed folder/get_info round trip on
// loopback: parse, verify, look up, rotate, reply.
func BenchmarkSignedCall(b *testing.B) {
	ts := quietServer(b)
	s := ts.Login(b, mfst.User, mfst.Password, false)
	for b.Loop() {
		if rep := s.Call(b, "folder/get_info"); rep.Code() != 0 {
			b.Fatal(rep)
		}
	}
}

// BenchmarkUploadSimple uploads 4 MiB (the simple-upload limit) per
// iteration with replace, then polls: received, hashed, synced, stored.
func BenchmarkUploadSimple(b *testing.B) {
	ts := quietServer(b)
	s := ts.Login(b, mfst.User, mfst.Password, false)
	data := randomData(4<<20, 1)
	b.SetBytes(int64(len(data)))
	i := 0
	for b.Loop() {
		data[0] = byte(i) // new content each time: no dedupe shortcut
		i++
		h := map[string]string{"X-Filename": "bench.bin", "X-Filesize": strconv.Itoa(len(data)), "X-Filehash": sha(data)}
		rep := s.Upload(b, "upload/simple", s.Query("upload/simple", "action_on_duplicate", "replace"), h, bytes.NewReader(data))
		s.Follow(rep)
		if rep.Str("doupload.result") != "0" {
			b.Fatal(rep)
		}
	}
}

// BenchmarkDownload streams a 64 MiB file from its direct link.
func BenchmarkDownload(b *testing.B) {
	ts := quietServer(b)
	s := ts.Login(b, mfst.User, mfst.Password, false)
	data := randomData(64<<20, 2)
	h := map[string]string{"X-Filename": "big.bin", "X-Filesize": strconv.Itoa(len(data)), "X-Filehash": sha(data)}
	rep := s.Upload(b, "upload/simple", s.Query("upload/simple"), h, bytes.NewReader(data))
	s.Follow(rep)
	qk := s.Call(b, "upload/poll_upload", "key", rep.Str("doupload.key")).Str("doupload.quickkey")
	l := s.Call(b, "file/get_links", "quick_key", qk).Get("links").([]any)[0].(map[string]any)["direct_download"].(string)
	c := ts.Client()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		resp, err := c.Get(l)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != int64(len(data)) {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkUploadResumable uploads 64 MiB as 16 units of 4 MiB, in
// order, then polls: the server's cost of the resumable path.
func BenchmarkUploadResumable(b *testing.B) {
	ts := quietServer(b)
	s := ts.Login(b, mfst.User, mfst.Password, false)
	data := randomData(64<<20, 3)
	const unit = 4 << 20
	b.SetBytes(int64(len(data)))
	i := 0
	for b.Loop() {
		b.StopTimer()
		data[0] = byte(i) // new content each time
		i++
		hs := make([]map[string]string, 16)
		for u := range hs {
			hs[u], _ = unitHeaders("", data, unit, u)
		}
		b.StartTimer()
		rep := s.Call(b, "upload/check", "filename", "big.bin", "hash", sha(data), "size", strconv.Itoa(len(data)), "resumable", "yes")
		for u := range 16 {
			rep = s.Upload(b, "upload/resumable", s.Query("upload/resumable", "action_on_duplicate", "replace"), hs[u], bytes.NewReader(data[u*unit:(u+1)*unit]))
			s.Follow(rep)
		}
		if rep.Str("resumable_upload.all_units_ready") != "yes" {
			b.Fatal(rep)
		}
		if rep := s.Call(b, "upload/poll_upload", "key", rep.Str("doupload.key")); rep.Str("doupload.quickkey") == "" {
			b.Fatal(rep)
		}
	}
}
