package mega

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ferry/internal/retry"
	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
	"ferry/megaserver/megaservertest"
)

func TestReadReply(t *testing.T) {
	var out struct {
		V int `json:"v"`
	}
	for _, tt := range []struct {
		name, body string
		wantCode   megaapi.ErrorCode
		wantErr    string // substring; "" means success
		retryable  bool
	}{
		{name: "object", body: `[{"v":2}]`},
		{name: "object with spaces", body: " \n[ {\"v\":2} ]"},
		{name: "zero", body: `[0]`},
		{name: "whole-request eagain", body: `-3`, wantCode: megaapi.EAGAIN, retryable: true},
		{name: "whole-request esid", body: "-15\n", wantCode: megaapi.ESID},
		{name: "sdk err object", body: `{"err":-4}`, wantCode: megaapi.ERATELIMIT, retryable: true},
		{name: "per-command error", body: `[-9]`, wantCode: megaapi.ENOENT},
		{name: "per-command eagain", body: `[-3]`, wantCode: megaapi.EAGAIN, retryable: true},
		{name: "err object in array", body: `[{"err":-11}]`, wantCode: megaapi.EACCESS},
		{name: "empty body", body: ``, wantErr: "cs x: read reply", retryable: true},
		{name: "truncated", body: `[{"v":`, wantErr: "unexpected EOF", retryable: true},
		{name: "html", body: `<html>oops</html>`, wantErr: `cs x: malformed reply starting "<html>`},
		{name: "empty array", body: `[]`, wantErr: "empty result array"},
		{name: "wrong type", body: `[{"v":"two"}]`, wantErr: "cs x: malformed reply"},
		{name: "positive bare number", body: `5`, wantErr: "malformed reply"},
		{name: "garbage number", body: `-3x`, wantErr: "malformed reply"},
		{name: "non-error object", body: `{"a":1}`, wantErr: "malformed reply"},
		{name: "string", body: `"hi"`, wantErr: "malformed reply"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := readReply("x", strings.NewReader(tt.body), func(dec *json.Decoder) error {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return jsonErr(err)
				}
				return decodeResult("x", raw, &out)
			})
			switch {
			case tt.wantCode != 0:
				if megaapi.CodeOf(err) != tt.wantCode {
					t.Fatalf("err = %v, want code %v", err, tt.wantCode)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			}
			if got := retry.IsRetryable(err); err != nil && got != tt.retryable {
				t.Errorf("IsRetryable(%v) = %v, want %v", err, got, tt.retryable)
			}
		})
	}
}

func TestESIDMapsToSessionExpired(t *testing.T) {
	err := readReply("f", strings.NewReader("-15"), nil)
	if !errors.Is(err, ErrSessionExpired) || !errors.Is(err, megaapi.ESID) {
		t.Fatalf("err = %v", err)
	}
	err = decodeResult("f", json.RawMessage("-16"), nil)
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("err = %v", err)
	}
}

func TestRedaction(t *testing.T) {
	body := `[{"a":"us","user":"a@b.c","uh":"SECRETUH","sek":"SECRETSEK","mfa":"123456"},` +
		`{"a":"p","t":"parent00","n":[{"h":"` + strings.Repeat("T", 48) + `","t":0,"a":"attrs","k":"SECRETKEY"}]},` +
		`{"p":"http://host/ul/SECRETTOKEN"},{"csid":"SECRETCSID","privk":"SECRETPRIVK","k":"SECRETK"}]`
	out := redactJSON([]byte(body))
	for _, s := range []string{"SECRET", "TTTTTTTTTT", "123456"} {
		if strings.Contains(out, s) {
			t.Errorf("redacted JSON contains %q: %s", s, out)
		}
	}
	if !strings.Contains(out, "a@b.c") || !strings.Contains(out, "parent00") || !strings.Contains(out, "http://host/ul/…") {
		t.Errorf("redaction removed too much: %s", out)
	}
	if got := redactURL("http://127.0.0.1:5/cs?id=1&sid=SECRET"); got != "http://127.0.0.1:5/cs?…" {
		t.Errorf("redactURL = %q", got)
	}
}

// TestMalformedServer points the client at a server that answers every
// command with a canned body, to check the client fails cleanly, naming
// the command, and never panics.
func TestMalformedServer(t *testing.T) {
	for _, body := range []string{
		`[{"f":[{"h":1}]}]`, `[{"f":"nope"}]`, `[{"f":[{"h":"root0000","t":2}]`, `[{"f":[]}]`,
		`[{"f":[{"h":"root0000","t":2}],"sn":5}]`, `[{"f":[{"h":"x","t":0,"k":"u:@@@","a":"!!"}],"sn":"a"}]`,
		`[{"s":5,"at":"x"}]`, `[{"s":5,"at":"x","g":"ftp://x"}]`, `[{"s":-5,"g":"http://x"}]`, `[{"e":-9}]`,
		`[{"p":"nope"}]`, `[{"f":[]}]`, `["short"]`, `[42]`, `[null]`, `[[1,2]]`, `[{"k":5}]`,
		`{"a":"x"}`, `{"sn":1}`, `[{"v":7}]`, `[{"v":2,"s":"!!"}]`,
	} {
		t.Run(body, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, body)
			}))
			defer srv.Close()
			c := New(Options{APIURL: srv.URL, Retry: retry.Policy{MaxAttempts: 2, Base: time.Millisecond}})
			ctx := t.Context()
			if err := c.Login(ctx, "a@b.c", "pw", LoginOptions{}); err == nil {
				t.Error("Login succeeded")
			}
			// Pretend to be logged in to exercise the other commands.
			c.sess = state{user: "AAAAAAAAAAA", sid: "x", mk: make([]byte, 16)}
			err := c.FetchTree(ctx)
			if err == nil {
				if c.Root() == nil {
					t.Error("FetchTree succeeded without a root")
				}
			} else if !strings.Contains(err.Error(), "f") {
				t.Errorf("FetchTree error does not name the command: %v", err)
			}
			fake := &Node{Handle: "abcdefgh", Type: FileNode, key: make([]byte, 32)}
			if _, err := c.Open(ctx, fake); err == nil {
				t.Log("Open succeeded on", body)
			}
			folder := &Node{Handle: "abcdefgh", Type: FolderNode, key: make([]byte, 16)}
			if _, err := c.Mkdir(ctx, folder, "x"); err == nil {
				t.Log("Mkdir succeeded on", body)
			}
			c.Quota(ctx)
			c.Link(ctx, fake)
			c.Upload(ctx, folder, "x", bytes.NewReader([]byte("hi")), 2, time.Now())
			if _, err := c.Poll(ctx); err == nil && c.SN() != "" {
				t.Log("Poll succeeded on", body)
			}
		})
	}
}

// TestRequestIDReusedOnRetry checks through the real server's replay cache
// that a retried mutation is not executed twice: a proxy drops the first
// reply of every `p` after forwarding it.
func TestRequestIDReusedOnRetry(t *testing.T) {
	ts := megaservertest.Start(t)
	var dropped atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, ts.URL+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		reply, _ := io.ReadAll(resp.Body)
		if bytes.Contains(body, []byte(`"a":"p"`)) && dropped.Add(1)%2 == 1 {
			panic(http.ErrAbortHandler) // the command ran; its reply is lost
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(reply)
	}))
	defer proxy.Close()
	opts := testOptions(t, ts)
	opts.APIURL = proxy.URL
	c := newLoggedInAs(t, ts, opts, megaservertest.UserV2, megaservertest.PasswordV2)
	if _, err := c.Mkdir(t.Context(), c.Root(), "once"); err != nil {
		t.Fatal(err)
	}
	upload(t, c, c.Root(), "once.txt", []byte("x"))
	if dropped.Load() < 2 {
		t.Fatalf("proxy dropped %d replies", dropped.Load())
	}
	if err := c.FetchTree(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"once", "once.txt"} {
		if ns, err := c.Lookup(name); err != nil || len(ns) != 1 {
			t.Errorf("%d nodes named %q after a retried p, want 1 (%v)", len(ns), name, err)
		}
	}
}

func TestCancelledContextStartsNoMutation(t *testing.T) {
	ts := megaservertest.Start(t)
	c := newLoggedIn(t, ts)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Mkdir(ctx, c.Root(), "never"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Mkdir = %v, want Canceled", err)
	}
	if err := c.FetchTree(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lookup("never"); err == nil {
		t.Fatal("a cancelled Mkdir created a folder")
	}
}

func FuzzFetchReply(f *testing.F) {
	for _, s := range []string{
		`{"f":[{"h":"root0000","t":2,"u":"AAAAAAAAAAA"}],"ok":[],"sn":"AAAAAAAAAAA"}`,
		`{"f":[{"h":"a","p":"b","t":0,"k":"AAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA","a":"AAAAAAAAAAAAAAAAAAAAAA"}],"sn":"x"}`,
		`{"ok":[{"h":"abcdefgh","k":"x","ha":"y"}],"ph":[{"h":"a","ph":"b"}],"s":[],"u":[{"u":"x"}],"sn":"y","f":[]}`,
		`-9`, `{"f":[{"h":"root0000","t":2}],"f":[{"h":"root0000","t":4}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dec := json.NewDecoder(strings.NewReader(s))
		kr := &keyring{user: "AAAAAAAAAAA", mk: make([]byte, 16), t: newTree()}
		decodeFetch(dec, kr)
		kr.t.apply(kr, []megaapi.Packet{{A: "d", N: "root0000"}, {A: "u", N: "a", At: s}, {A: "ph", H: "a", PH: s}})
	})
}

func FuzzReadReply(f *testing.F) {
	for _, s := range []string{`[{"v":2}]`, `-3`, `[-9]`, `{"err":-4}`, `[`, ``, `<x>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var out megaapi.PreloginReply
		readReply("x", strings.NewReader(s), func(dec *json.Decoder) error {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			return decodeResult("x", raw, &out)
		})
		parseUploadReply([]byte(s))
	})
}

func TestDebugLogHasNoSecrets(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithFaults("eagain=0.2,drop=0.05,seed=7"))
	var buf syncBuffer
	opts := testOptions(t, ts)
	opts.Debug = true
	opts.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newLoggedInAs(t, ts, opts, megaservertest.UserV2, megaservertest.PasswordV2)
	n := upload(t, c, c.Root(), "secret-name.txt", randomBytes(t, 300000))
	download(t, c, n)
	link, err := c.Link(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	c.Poll(t.Context())
	s := c.Session()
	log := buf.String()
	if testing.Verbose() {
		t.Log(log)
	}
	if !strings.Contains(log, "mega api call") || !strings.Contains(log, "cmd=us") {
		t.Fatalf("debug log lacks API calls:\n%s", log)
	}
	for what, secret := range map[string]string{
		"sid": s.SID, "master key": megacryptoB64(s.MasterKey), "password": megaservertest.PasswordV2,
		"link key": link[strings.Index(link, "#")+1:],
	} {
		if strings.Contains(log, secret) {
			t.Errorf("debug log contains the %s", what)
		}
	}
	for _, pat := range []string{"/ul/", "/dl/", "/wsc/"} {
		for i := strings.Index(log, pat); i >= 0; {
			if rest := log[i+len(pat):]; !strings.HasPrefix(rest, "…") {
				t.Errorf("debug log has a token after %s: %.40s", pat, rest)
			}
			j := strings.Index(log[i+1:], pat)
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func megacryptoB64(b []byte) string { return megacrypto.B64Encode(b) }
