package mediafireserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"ferry/mediafireserver"
)

// panicCounter counts log records about recovered panics.
type panicCounter struct {
	slog.Handler
	n *atomic.Int64
}

func (h panicCounter) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		h.n.Add(1)
	}
	return nil
}

func (h panicCounter) Enabled(context.Context, slog.Level) bool { return true }

// FuzzServeCall sends arbitrary parameters to every method with a v1
// token (no signature, so the handlers see them), in process, plus the
// raw body as a query string. The server must not panic and must answer
// one JSON envelope with the exact Content-Type.
func FuzzServeCall(f *testing.F) {
	var panics atomic.Int64
	srv, err := mediafireserver.Open(mediafireserver.Options{
		Dir: f.TempDir(), Logger: slog.New(panicCounter{Handler: slog.DiscardHandler, n: &panics}),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	if _, err := srv.AddUser(context.Background(), "fuzz@example.com", "pw", mediafireserver.UserOptions{}); err != nil {
		f.Fatal(err)
	}
	do := func(method, target, body string, hdr map[string]string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		target, rawQuery, _ := strings.Cut(target, "?")
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.URL.RawQuery = rawQuery // as sent, however malformed
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		srv.ServeHTTP(rec, req)
		return rec
	}
	login := url.Values{"application_id": {"45593"}, "email": {"fuzz@example.com"}, "password": {"pw"},
		"signature": {mediafireserver.LoginSignature("fuzz@example.com", "pw", "45593", "")}}
	var env struct {
		Response struct {
			SessionToken string `json:"session_token"`
		} `json:"response"`
	}
	if err := json.Unmarshal(do(http.MethodPost, "http://127.0.0.1/api/1.5/user/get_session_token.php", login.Encode(), nil).Body.Bytes(), &env); err != nil {
		f.Fatal(err)
	}
	token := env.Response.SessionToken
	actions := []string{"user/get_info", "folder/get_info", "folder/get_content", "folder/create", "folder/update",
		"folder/delete", "folder/purge", "file/get_info", "file/get_links", "file/delete", "file/purge", "file/move",
		"file/update", "upload/check", "upload/instant", "upload/simple", "upload/resumable", "upload/poll_upload",
		"user/get_action_token", "user/destroy_action_token", "user/renew_session_token"}
	sort.Strings(actions)
	f.Add(uint8(0), "folder_key=myfiles&content_type=files&chunk=1", []byte("x"))
	f.Add(uint8(13), "filename=a&hash="+strings.Repeat("ab", 32)+"&size=5&resumable=yes", []byte("hello"))
	f.Add(uint8(16), "foldername=a&parent_key=myfiles&action_on_duplicate=keep", []byte{})
	f.Add(uint8(15), "folder_key=myfiles", []byte("unit"))
	f.Fuzz(func(t *testing.T, which uint8, params string, data []byte) {
		action := actions[int(which)%len(actions)]
		path := "http://127.0.0.1/api/1.3/" + action + ".php"
		hdr := map[string]string{"X-Filename": "f", "X-Filesize": "4", "X-Filehash": sha(data), "X-Unit-Id": "0",
			"X-Unit-Size": "4", "X-Unit-Hash": sha(data)}
		var rec *httptest.ResponseRecorder
		if strings.HasPrefix(action, "upload/simple") || strings.HasPrefix(action, "upload/resumable") {
			rec = do(http.MethodPost, path+"?session_token="+token+"&"+params, string(data), hdr)
		} else {
			rec = do(http.MethodPost, path, "session_token="+token+"&"+params, nil)
		}
		if n := panics.Load(); n > 0 {
			t.Fatalf("%s %q: %d panics", action, params, n)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %q: Content-Type %q", action, params, ct)
		}
		var out map[string]map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out["response"]["result"] == nil {
			t.Fatalf("%s %q: not an envelope: %s", action, params, bytes.TrimSpace(rec.Body.Bytes()))
		}
	})
}

// FuzzParseFaults: a spec either fails with an error or parses into
// Faults whose String parses back to the same Faults.
func FuzzParseFaults(f *testing.F) {
	for _, s := range []string{"http500=0.02,lost=1x", "upload/poll_upload.status17=1x,dl.truncate=0.5,slowdelay=1s,seed=3", "x=", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		fa, err := mediafireserver.ParseFaults(spec)
		if err != nil {
			return
		}
		again, err := mediafireserver.ParseFaults(fa.String())
		if err != nil {
			t.Fatalf("%q: String %q does not parse: %v", spec, fa.String(), err)
		}
		if again.String() != fa.String() {
			t.Fatalf("%q: %q then %q", spec, fa.String(), again.String())
		}
	})
}
