package mediafire

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"sync/atomic"
)

// codeWatcher is an http.RoundTripper that counts the error replies with
// code 127 (signature invalid) that reach the client, so tests can show
// the key never goes out of step on the wire.
type codeWatcher struct {
	next http.RoundTripper
	n127 atomic.Int64
}

var code127 = regexp.MustCompile(`"error"\s*:\s*"?127\b`)

func (w *codeWatcher) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(r)
	if err != nil || resp.Header.Get("Content-Type") != "application/json" {
		return resp, err
	}
	b, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if code127.Match(b) {
		w.n127.Add(1)
	}
	resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), errReader{rerr}))
	return resp, nil
}

// errReader returns err (io.EOF when nil) at the end of a replayed body.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}
