package mediafireservertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"ferry/mediafireserver"
)

// Reply is a decoded API reply.
type Reply struct {
	Status int            // HTTP status
	Type   string         // Content-Type
	Body   []byte         // raw body
	R      map[string]any // the "response" object; nil if the body was not an envelope
}

// Str returns the string at a dotted path of the response object
// ("doupload.key"); numbers are formatted, anything else is "".
func (r *Reply) Str(path string) string {
	var v any = r.R
	for p := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

// Get returns the value at a dotted path of the response object.
func (r *Reply) Get(path string) any {
	var v any = r.R
	for p := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// Code is the reply's error code, 0 on success.
func (r *Reply) Code() int {
	if r.Str("result") == "Success" {
		return 0
	}
	n, _ := strconv.Atoi(r.Str("error"))
	return n
}

// Session is a logged-in session: a token and, for v2, the key state.
type Session struct {
	URL     string // the server's URL; change it to talk to a restarted server
	Token   string
	V2      bool
	Key     uint64
	Time    string
	Version string // API version in paths, default "1.3"
	Client  *http.Client
}

// Login logs in with token version 2 (or 1 when v1 is set) and fails the
// test on error.
func (ts *TestServer) Login(t testing.TB, email, password string, v1 bool) *Session {
	t.Helper()
	tv := "2"
	if v1 {
		tv = "1"
	}
	q := url.Values{
		"application_id": {AppID}, "email": {email}, "password": {password}, "token_version": {tv},
		"response_format": {"json"}, "signature": {mediafireserver.LoginSignature(email, password, AppID, "")},
	}
	s := &Session{URL: ts.URL, Version: "1.3", Client: ts.Client()}
	rep := s.Post(t, "/api/1.3/user/get_session_token.php", q.Encode())
	if rep.Code() != 0 {
		t.Fatalf("mediafireservertest: login %s: %s", email, rep.Body)
	}
	s.Token, s.Time, s.V2 = rep.Str("session_token"), rep.Str("time"), !v1
	if s.V2 {
		k, err := strconv.ParseUint(rep.Str("secret_key"), 10, 64)
		if err != nil {
			t.Fatalf("mediafireservertest: secret_key %q", rep.Str("secret_key"))
		}
		s.Key = k
	}
	return s
}

// Path is the request path of a method, "/api/<Version>/<method>.php".
func (s *Session) Path(method string) string { return "/api/" + s.Version + "/" + method + ".php" }

// Sign returns the signature of a call to path with the encoded query.
func (s *Session) Sign(path, query string) string {
	return mediafireserver.CallSignature(s.Key, s.Time, path, query)
}

// Query builds the encoded parameter string of a call: params (key,
// value pairs) plus session_token and response_format, sorted as
// url.Values.Encode sorts, and for v2 the signature appended last.
func (s *Session) Query(method string, params ...string) string {
	q := url.Values{"session_token": {s.Token}, "response_format": {"json"}}
	for i := 0; i+1 < len(params); i += 2 {
		q.Add(params[i], params[i+1])
	}
	enc := q.Encode()
	if s.V2 {
		enc += "&signature=" + s.Sign(s.Path(method), enc)
	}
	return enc
}

// Call posts a signed call of method with params and follows new_key.
func (s *Session) Call(t testing.TB, method string, params ...string) *Reply {
	t.Helper()
	rep := s.Post(t, s.Path(method), s.Query(method, params...))
	s.Follow(rep)
	return rep
}

// RotateDistinct makes signed user/get_info calls until the session's
// key and its successor sign differently. A signature hashes the key
// mod 256, so one key in 256 has a successor that signs alike, and a
// test that expects the old or the next key to be refused would pass
// or fail by chance.
func (s *Session) RotateDistinct(t testing.TB) {
	t.Helper()
	for range 50 {
		if s.Key%256 != mediafireserver.NextSecretKey(s.Key)%256 {
			return
		}
		if rep := s.Call(t, "user/get_info"); rep.Str("new_key") != "yes" {
			t.Fatalf("user/get_info did not rotate the key: %v", rep)
		}
	}
	t.Fatalf("50 keys in a row whose successors sign alike, ending at %d", s.Key)
}

// Follow advances the key when rep says new_key.
func (s *Session) Follow(rep *Reply) {
	if rep.Str("new_key") == "yes" {
		s.Key = mediafireserver.NextSecretKey(s.Key)
	}
}

// Post posts body (urlencoded) to path and decodes the reply.
func (s *Session) Post(t testing.TB, path, body string) *Reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.Do(t, req)
}

// Upload sends an upload request of method (upload/simple or
// upload/resumable) with query (already encoded, signed if it needs
// to be), headers and the body data.
func (s *Session) Upload(t testing.TB, method, query string, headers map[string]string, data io.Reader) *Reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+s.Path(method)+"?"+query, data)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return s.Do(t, req)
}

// Do sends req and decodes the reply; a transport error fails the test.
func (s *Session) Do(t testing.TB, req *http.Request) *Reply {
	t.Helper()
	rep, err := s.TryDo(req)
	if err != nil {
		t.Fatalf("mediafireservertest: %s: %v", req.URL.Path, err)
	}
	return rep
}

// TryDo is Do returning transport errors (a dropped connection).
func (s *Session) TryDo(req *http.Request) (*Reply, error) {
	resp, err := s.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read reply: %w", err)
	}
	rep := &Reply{Status: resp.StatusCode, Type: resp.Header.Get("Content-Type"), Body: body}
	var env struct {
		Response map[string]any `json:"response"`
	}
	if json.Unmarshal(body, &env) == nil {
		rep.R = env.Response
	}
	return rep, nil
}

// String describes the reply for test failures.
func (r *Reply) String() string { return fmt.Sprintf("HTTP %d %s", r.Status, r.Body) }
