package megaserver_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
	"ferry/megaserver/megaservertest"
)

func TestUploadOrders(t *testing.T) {
	ts := megaservertest.Start(t)
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	root := c.root()
	const size = 5<<20 + 3 // 1 MiB chunks after 4.5 MiB
	data := randBytes(size)
	chunks := megacrypto.Chunks(size)

	t.Run("reverse order", func(t *testing.T) {
		u := c.uploadURL(size, 0)
		var tok []byte
		for i := len(chunks) - 1; i >= 0; i-- {
			ch := chunks[i]
			body := postChunk(t, u, ch.Offset, data[ch.Offset:ch.Offset+ch.Size], "")
			if i > 0 && len(body) != 0 {
				t.Fatalf("chunk %d answered %q before the file was complete", i, body)
			}
			tok = body
		}
		f := c.putFile(root, tokenForP(t, tok, 0))
		if got := c.download(f.Handle); !bytes.Equal(got, data) {
			t.Errorf("downloaded %d bytes differ", len(got))
		}
	})

	t.Run("parallel", func(t *testing.T) {
		u := c.uploadURL(size, 2)
		var mu sync.Mutex
		var toks [][]byte
		var wg sync.WaitGroup
		for _, ch := range chunks {
			wg.Go(func() {
				body := postChunk(t, u, ch.Offset, data[ch.Offset:ch.Offset+ch.Size], "")
				if len(body) > 0 {
					mu.Lock()
					toks = append(toks, body)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(toks) < 1 {
			t.Fatalf("no completion token")
		}
		for _, tok := range toks[1:] {
			if !bytes.Equal(tok, toks[0]) {
				t.Errorf("different completion tokens")
			}
		}
		f := c.putFile(root, tokenForP(t, toks[0], 2))
		if got := c.download(f.Handle); !bytes.Equal(got, data) {
			t.Errorf("downloaded bytes differ")
		}
	})

	t.Run("several chunks per POST", func(t *testing.T) {
		u := c.uploadURL(size, 0)
		// chunks 0..3 in one POST, the rest in another
		split := chunks[4].Offset
		if body := postChunk(t, u, split, data[split:], ""); len(body) != 0 {
			t.Fatalf("tail answered %q", body)
		}
		tok := postChunk(t, u, 0, data[:split], "")
		f := c.putFile(root, tokenForP(t, tok, 0))
		if got := c.download(f.Handle); !bytes.Equal(got, data) {
			t.Errorf("downloaded bytes differ")
		}
	})
}

func TestUploadErrors(t *testing.T) {
	ts := megaservertest.Start(t)
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	root := c.root()
	data := randBytes(300000)
	u := c.uploadURL(int64(len(data)), 0)

	for _, tc := range []struct {
		name  string
		off   int64
		data  []byte
		query string
		want  string
	}{
		{"past the end", 131072, data[:200000], "", "-7"},
		{"offset past size", 400000, nil, "", "-7"},
		{"not a chunk start", 1000, data[1000:131072], "", "-7"},
		{"ends mid-chunk", 0, data[:1000], "", "-7"},
		{"bad checksum", 0, data[:131072], "?c=" + megacrypto.B64Encode(make([]byte, 12)), "-14"},
		{"malformed checksum", 0, data[:131072], "?c=xx", "-2"},
	} {
		if got := postChunk(t, u, tc.off, tc.data, tc.query); string(got) != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	// good checksums: c= answers empty, d= answers 0
	var sum megacrypto.UploadChecksum
	sum.Write(data[:131072])
	s := sum.Sum()
	if got := postChunk(t, u, 0, data[:131072], "?d="+megacrypto.B64Encode(s[:])); string(got) != "0" {
		t.Errorf("good d=: %q, want 0", got)
	}
	if got := postChunk(t, u, 0, data[:131072], "?c="+megacrypto.B64Encode(s[:])); string(got) != "" {
		t.Errorf("good c=: %q, want empty", got)
	}

	// A truncated body stores nothing: the server must not count that range.
	rest := data[131072:]
	truncatedPost(t, u, 131072, rest, len(rest)/2)
	if got := postChunk(t, u, 0, data[:131072], ""); len(got) != 0 {
		t.Fatalf("upload completed after a truncated POST: %q", got)
	}
	tok := postChunk(t, u, 131072, rest, "")
	f := c.putFile(root, tokenForP(t, tok, 0))
	if got := c.download(f.Handle); !bytes.Equal(got, data) {
		t.Errorf("bytes differ after truncated retry")
	}
	// The slot is gone once used; unknown slots answer -8.
	if got := postChunk(t, u, 0, data[:131072], ""); string(got) != "-8" {
		t.Errorf("used slot: %q, want -8", got)
	}
	if got := postChunk(t, ts.URL+"/ul/nosuchtoken", 0, nil, ""); string(got) != "-8" {
		t.Errorf("unknown slot: %q, want -8", got)
	}

	// Empty file: one empty POST at 0.
	u0 := c.uploadURL(0, 2)
	tok0 := postChunk(t, u0, 0, nil, "")
	f0 := c.putFile(root, tokenForP(t, tok0, 2))
	if f0.Size != 0 {
		t.Errorf("empty file size %d", f0.Size)
	}
	if got := c.download(f0.Handle); len(got) != 0 {
		t.Errorf("empty file downloaded %d bytes", len(got))
	}
	// A token is good for one node only.
	if got := c.code(map[string]any{"a": "p", "t": root, "n": []any{map[string]any{"h": tokenForP(t, tok0, 2), "t": 0, "a": randB64(16), "k": randB64(32)}}}); got != -9 {
		t.Errorf("reused completion token: %d, want -9", got)
	}
	// The same token twice in one p is a client error, not a retry.
	dup := c.uploadAll([]byte("dup"), 0)
	entry := map[string]any{"h": dup, "t": 0, "a": randB64(16), "k": randB64(32)}
	if got := c.code(map[string]any{"a": "p", "t": root, "n": []any{entry, entry}}); got != -2 {
		t.Errorf("token twice in one p: %d, want -2", got)
	}
	c.putFile(root, dup) // and it is still usable
	// The raw (not base64) form of a text token and the b64-decoded form
	// of a binary one are both accepted.
	txt := c.uploadAll([]byte("text token"), 0)
	c.putFile(root, txt)
}

// truncatedPost declares len(data) bytes but sends only n, then closes.
func truncatedPost(t *testing.T, rawURL string, off int64, data []byte, n int) {
	t.Helper()
	u, err := url.Parse(fmt.Sprintf("%s/%d", rawURL, off))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n", u.RequestURI(), u.Host, len(data))
	conn.Write(data[:n])
	conn.(*net.TCPConn).CloseWrite()
	// Wait until the server has seen the short body and answered or closed.
	io.Copy(io.Discard, bufio.NewReader(conn))
	conn.Close()
}

func TestDownloadRanges(t *testing.T) {
	ts := megaservertest.Start(t)
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	root := c.root()
	data := randBytes(200000)
	f := c.uploadFile(root, data)
	g := c.downloadURL(f.Handle)
	if !strings.HasPrefix(g, ts.URL+"/dl/") {
		t.Fatalf("g = %q", g)
	}
	for _, tc := range []struct {
		name   string
		suffix string
		hdr    map[string]string
		status int
		want   []byte
	}{
		{"whole", "", nil, 200, data},
		{"first chunk", "/0-131071", nil, 200, data[:131072]},
		{"middle", "/100-199", nil, 200, data[100:200]},
		{"end clamped", "/199990-300000", nil, 200, data[199990:]},
		{"one byte", "/5-5", nil, 200, data[5:6]},
		{"past end", "/200000-200001", nil, 416, nil},
		{"reversed", "/10-5", nil, 416, nil},
		{"garbage", "/abc", nil, 416, nil},
		{"range header", "", map[string]string{"Range": "bytes=10-19"}, 206, data[10:20]},
		{"suffix range header", "", map[string]string{"Range": "bytes=-10"}, 206, data[len(data)-10:]},
		{"bad range header", "", map[string]string{"Range": "bytes=900000-"}, 416, nil},
	} {
		status, body := get(t, g+tc.suffix, tc.hdr)
		if status != tc.status {
			t.Errorf("%s: HTTP %d, want %d", tc.name, status, tc.status)
			continue
		}
		if tc.want != nil && !bytes.Equal(body, tc.want) {
			t.Errorf("%s: %d bytes, want %d", tc.name, len(body), len(tc.want))
		}
	}
	// POST works like GET (the SDK uses POST).
	resp, err := http.Post(g+"/0-9", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, data[:10]) {
		t.Errorf("POST range: HTTP %d", resp.StatusCode)
	}
	// Empty file with /0-0.
	f0 := c.putFile(root, c.uploadAll(nil, 0))
	if status, body := get(t, c.downloadURL(f0.Handle)+"/0-0", nil); status != 200 || len(body) != 0 {
		t.Errorf("empty /0-0: HTTP %d, %d bytes", status, len(body))
	}
	// Forged or damaged tokens are unknown.
	// Flip a character well inside the token (the last base64 character may
	// carry only padding bits, so changing it need not change the token).
	i := len(g) - 10
	flip := byte('A')
	if g[i] == 'A' {
		flip = 'B'
	}
	if status, _ := get(t, g[:i]+string(flip)+g[i+1:], nil); status != 404 {
		t.Errorf("damaged token: HTTP %d, want 404", status)
	}
	// Deleted node: its URL stops working.
	c.code(map[string]any{"a": "d", "n": f.Handle})
	if status, _ := get(t, g, nil); status != 404 {
		t.Errorf("deleted file: HTTP %d, want 404", status)
	}
	// g on a folder or without g:1
	if got := c.code(map[string]any{"a": "g", "g": 1, "n": root}); got != -2 {
		t.Errorf("g on folder = %d, want -2", got)
	}
	f2 := c.uploadFile(root, []byte("abc"))
	var rep megaapi.DownloadReply
	c.do(map[string]any{"a": "g", "n": f2.Handle}, &rep)
	if rep.URL != "" || rep.Size != 3 || rep.Attr == "" {
		t.Errorf("g without g:1 = %+v", rep)
	}
}
