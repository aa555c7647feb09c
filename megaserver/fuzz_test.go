package megaserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
	"ferry/megaserver"
	"ferry/megaserver/megaservertest"
)

// panicCounter counts log records about recovered panics.
type panicCounter struct {
	slog.Handler
	n *atomic.Int64
}

func (h panicCounter) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		h.n.Add(1)
	}
	return nil
}

func (h panicCounter) Enabled(context.Context, slog.Level) bool { return true }

// FuzzHandleCS feeds arbitrary bodies to /cs, with and without a valid
// session, in process. The server must not panic (it would recover, log
// and answer -1, so the log is watched) and must answer valid JSON.
func FuzzHandleCS(f *testing.F) {
	var panics atomic.Int64
	srv, err := megaserver.Open(megaserver.Options{
		Dir:    f.TempDir(),
		Logger: slog.New(panicCounter{Handler: slog.DiscardHandler, n: &panics}),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	const email, password = "fuzz@example.com", "fuzz password"
	acct, err := megaservertest.Account(email, password, megacrypto.AccountOptions{NoKeys: true})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := srv.AddUser(context.Background(), acct, megaserver.UserOptions{}); err != nil {
		f.Fatal(err)
	}
	_, authKey := megacrypto.DeriveV2([]byte(password), acct.Salt)
	post := func(query string, body []byte) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/cs?id=1"+query, bytes.NewReader(body))
		srv.ServeHTTP(rec, req)
		return rec
	}
	rec := post("", []byte(`[{"a":"us","user":"`+email+`","uh":"`+megacrypto.B64Encode(authKey)+`"}]`))
	var login []megaapi.LoginReply
	if err := json.Unmarshal(rec.Body.Bytes(), &login); err != nil || len(login) != 1 || login[0].TSID == "" {
		f.Fatalf("login: %q", rec.Body.Bytes())
	}
	sid := login[0].TSID
	var fetched []struct {
		F []megaapi.Node `json:"f"`
	}
	json.Unmarshal(post("&sid="+sid, []byte(`[{"a":"f","c":1}]`)).Body.Bytes(), &fetched)
	root := fetched[0].F[0].Handle

	for _, seed := range []string{
		`[{"a":"f","c":1}]`,
		`[{"a":"us0","user":"fuzz@example.com"}]`,
		`[{"a":"ug"},{"a":"uq","strg":1,"xfer":1}]`,
		`[{"a":"p","t":"` + root + `","n":[{"h":"xxxxxxxx","t":1,"a":"AAAAAAAAAAAAAAAAAAAAAA","k":"AAAAAAAAAAAAAAAAAAAAAA"}],"i":"tag"}]`,
		`[{"a":"p","t":"` + root + `","n":[{"h":"t1","t":1,"a":"AAAAAAAAAAAAAAAAAAAAAA","k":"AAAAAAAAAAAAAAAAAAAAAA"},{"h":"t2","p":"t1","t":1,"a":"AAAAAAAAAAAAAAAAAAAAAA","k":"AAAAAAAAAAAAAAAAAAAAAA"}]}]`,
		`[{"a":"m","n":"` + root + `","t":"` + root + `"}]`,
		`[{"a":"a","n":"` + root + `","attr":"AAAAAAAAAAAAAAAAAAAAAA"}]`,
		`[{"a":"d","n":"AAAAAAAA"},{"a":"dr"}]`,
		`[{"a":"l","n":"AAAAAAAA","d":1}]`,
		`[{"a":"s2","n":"` + root + `","s":[{"u":"EXP","r":0}],"ok":"AAAAAAAAAAAAAAAAAAAAAA","ha":"AAAAAAAAAAAAAAAAAAAAAA","cr":[["` + root + `"],["` + root + `"],[0,0,"AAAAAAAAAAAAAAAAAAAAAA"]]}]`,
		`[{"a":"p","t":"` + root + `","n":[{"h":"xxxxxxxx","t":1,"a":"AAAAAAAAAAAAAAAAAAAAAA","k":"AAAAAAAAAAAAAAAAAAAAAA"}]},{"a":"s2","n":"AAAAAAAA","s":[{"u":"EXP","r":0}],"ok":"AAAAAAAAAAAAAAAAAAAAAA","ha":"AAAAAAAAAAAAAAAAAAAAAA","cr":[["AAAAAAAA"],["AAAAAAAA","BBBBBBBB"],[0,1,"AAAAAAAAAAAAAAAAAAAAAA",0,0,1.5]]}]`,
		`[{"a":"u","s":100,"v":2},{"a":"g","g":1,"p":"AAAAAAAA"}]`,
		`[{"a":"us"},{"a":"up","privk":"AAAA","pubk":"AAAA"},{"a":"sml"}]`,
		`[{"a":"us","user":"fuzz@example.com","uh":"AAAA","mfa":"123456"}]`,
		`[1,"x",null,[],{}]`,
		`{"a":"f"}`,
		`[{"a":"f","c":1`,
		``,
	} {
		f.Add([]byte(seed), true)
		f.Add([]byte(seed), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, withSID bool) {
		before := panics.Load()
		q := ""
		if withSID {
			q = "&sid=" + sid
		}
		rec := post(q, body)
		if panics.Load() != before {
			t.Fatalf("body %q: the server recovered from a panic", body)
		}
		if rec.Code != http.StatusOK {
			t.Fatalf("body %q: HTTP %d", body, rec.Code)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("body %q: invalid JSON reply %q", body, rec.Body.Bytes())
		}
		// Logging out would end the fuzz session; log back in.
		if withSID && bytes.Contains(body, []byte("sml")) {
			rec := post("", []byte(`[{"a":"us","user":"`+email+`","uh":"`+megacrypto.B64Encode(authKey)+`"}]`))
			var again []megaapi.LoginReply
			if json.Unmarshal(rec.Body.Bytes(), &again) == nil && len(again) == 1 && again[0].TSID != "" {
				sid = again[0].TSID
			}
		}
	})
}
