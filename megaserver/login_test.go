package megaserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
	"ferry/megaserver"
	"ferry/megaserver/megaservertest"
)

func TestPrelogin(t *testing.T) {
	ts := megaservertest.Start(t)
	c := newClient(t, ts, nil)
	var v2 megaapi.PreloginReply
	c.do(map[string]any{"a": "us0", "user": "Alice@Example.com"}, &v2)
	if v2.V != 2 || len(v2.Salt) != 43 {
		t.Errorf("us0 v2 account = %+v, want v=2 and a 43-char salt", v2)
	}
	var v1 megaapi.PreloginReply
	c.do(map[string]any{"a": "us0", "user": megaservertest.UserV1}, &v1)
	if v1.V != 1 || v1.Salt != "" {
		t.Errorf("us0 v1 account = %+v, want v=1", v1)
	}
	if got := c.code(map[string]any{"a": "us0", "user": "nobody@example.com"}); got != -9 {
		t.Errorf("us0 unknown user = %d, want -9", got)
	}
	if got := c.code(map[string]any{"a": "us0", "user": 5}); got != -2 {
		t.Errorf("us0 with a numeric user = %d, want -2", got)
	}
}

func TestLogin(t *testing.T) {
	ts := megaservertest.Start(t)
	ctx := context.Background()
	for _, tc := range []struct{ email, password string }{
		{megaservertest.UserV2, megaservertest.PasswordV2},
		{megaservertest.UserV1, megaservertest.PasswordV1},
	} {
		s, err := ts.TryLogin(ctx, tc.email, tc.password, "")
		if err != nil {
			t.Fatalf("login %s: %v", tc.email, err)
		}
		if len(s.SID) != 58 || len(s.User) != 11 {
			t.Errorf("login %s: sid %d chars, user %q", tc.email, len(s.SID), s.User)
		}
		c := newClient(t, ts, s)
		var ug megaapi.UserReply
		c.do(map[string]any{"a": "ug"}, &ug)
		if ug.User != s.User || ug.Email != tc.email || ug.Privk == "" || ug.Pubk == "" || ug.TS == "" || ug.C != 1 || ug.S != 1 {
			t.Errorf("ug = %+v", ug)
		}
		// The SDK's resume: `us` without user/uh on the URL sid.
		var res megaapi.LoginReply
		c.do(map[string]any{"a": "us"}, &res)
		if res.User != s.User || res.Key == "" || res.Privk == "" || res.CSID != "" {
			t.Errorf("resume us = %+v", res)
		}
		_, err = ts.TryLogin(ctx, tc.email, tc.password+"x", "")
		if !errors.Is(err, megaapi.ENOENT) {
			t.Errorf("wrong password: %v, want ENOENT", err)
		}
	}
	// sek is echoed.
	c := newClient(t, ts, nil)
	a, _ := megaservertest.Account(megaservertest.UserV2, megaservertest.PasswordV2, megacrypto.AccountOptions{})
	_, authKey := megacrypto.DeriveV2([]byte(megaservertest.PasswordV2), a.Salt)
	var rep megaapi.LoginReply
	c.do(map[string]any{"a": "us", "user": megaservertest.UserV2, "uh": megacrypto.B64Encode(authKey), "sek": "c2VrLXZhbHVl"}, &rep)
	if rep.Sek != "c2VrLXZhbHVl" || rep.CSID == "" || rep.Ach != 1 {
		t.Errorf("us reply = %+v, want sek echoed and csid", rep)
	}
}

func TestLogoutAndBadSession(t *testing.T) {
	ts := megaservertest.Start(t)
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	if got := c.code(map[string]any{"a": "sml"}); got != 0 {
		t.Fatalf("sml = %d", got)
	}
	if _, body := c.post(c.nextID(), `[{"a":"ug"}]`); string(body) != "-15" {
		t.Errorf("after sml: %q, want -15", body)
	}
	bad := newClient(t, ts, &megaservertest.Session{SID: strings.Repeat("A", 58)})
	if _, body := bad.post("1", `[{"a":"ug"}]`); string(body) != "-15" {
		t.Errorf("unknown sid: %q, want -15", body)
	}
	bad.sid = "garbage!"
	if _, body := bad.post("1", `[{"a":"f","c":1}]`); string(body) != "-15" {
		t.Errorf("malformed sid: %q, want -15", body)
	}
	// A stale sid does not stop a new login.
	bad.sid = c.sid
	var pre megaapi.PreloginReply
	bad.do(map[string]any{"a": "us0", "user": megaservertest.UserV1}, &pre)
	if pre.V != 1 {
		t.Errorf("us0 with a stale sid = %+v", pre)
	}
	// Commands that need a session answer -15 per command without one.
	anon := newClient(t, ts, nil)
	res := anon.batch(map[string]any{"a": "us0", "user": megaservertest.UserV1}, map[string]any{"a": "f", "c": 1})
	if string(res[1]) != "-15" {
		t.Errorf("f without sid = %s, want -15", res[1])
	}
}

func TestLoginWithoutKeys(t *testing.T) {
	ts := megaservertest.Start(t)
	ts.AddUser(t, "carol@example.com", "pw carol", megaservertest.UserOpts{NoKeys: true})
	s := ts.Login(t, "carol@example.com", "pw carol")
	// tsid = r || user || AES_mk(r)
	raw, err := megacrypto.B64Decode(s.SID)
	if err != nil || len(raw) != 43 {
		t.Fatalf("tsid %q", s.SID)
	}
	if string(raw[16:27]) != s.User {
		t.Errorf("tsid user part %q, want %q", raw[16:27], s.User)
	}
	enc, _ := megacrypto.EncryptKey(s.MasterKey, raw[:16])
	if string(enc) != string(raw[27:]) {
		t.Errorf("tsid check block does not match AES_mk(r)")
	}
	c := newClient(t, ts, s)
	var ug megaapi.UserReply
	c.do(map[string]any{"a": "ug"}, &ug)
	if ug.Privk != "" || ug.Pubk != "" {
		t.Errorf("keyless ug has keys: %+v", ug)
	}
	// up stores a key pair once.
	donor, _ := megaservertest.Account(megaservertest.UserV2, megaservertest.PasswordV2, megacrypto.AccountOptions{})
	var h string
	c.do(map[string]any{"a": "up", "privk": donor.Privk, "pubk": donor.Pubk}, &h)
	if h != s.User {
		t.Errorf("up = %q, want the user handle", h)
	}
	if got := c.code(map[string]any{"a": "up", "privk": donor.Privk, "pubk": donor.Pubk}); got != -12 {
		t.Errorf("second up = %d, want -12", got)
	}
	if got := c.code(map[string]any{"a": "up", "pubk": "!!"}); got != -2 {
		t.Errorf("bad up = %d, want -2", got)
	}
	c.do(map[string]any{"a": "ug"}, &ug)
	if ug.Pubk != donor.Pubk {
		t.Errorf("ug after up: pubk not stored")
	}
}

func TestTwoFactor(t *testing.T) {
	ts := megaservertest.Start(t)
	secret := []byte("12345678901234567890")
	ts.AddUser(t, "dave@example.com", "pw dave", megaservertest.UserOpts{MFASecret: secret})
	ctx := context.Background()
	if _, err := ts.TryLogin(ctx, "dave@example.com", "pw dave", ""); !errors.Is(err, megaapi.EMFAREQUIRED) {
		t.Errorf("no pin: %v, want -26", err)
	}
	wrong := "000000"
	if megaserver.TOTP(secret, time.Now()) == wrong {
		wrong = "111111"
	}
	if _, err := ts.TryLogin(ctx, "dave@example.com", "pw dave", wrong); !errors.Is(err, megaapi.EMFAREQUIRED) {
		t.Errorf("wrong pin: %v, want -26", err)
	}
	if _, err := ts.TryLogin(ctx, "dave@example.com", "pw dave", megaserver.TOTP(secret, time.Now())); err != nil {
		t.Errorf("right pin: %v", err)
	}
	// RFC 6238 appendix B vector (SHA1, T=59 -> 94287082, 6 digits).
	if got := megaserver.TOTP(secret, time.Unix(59, 0)); got != "287082" {
		t.Errorf("TOTP(59) = %s, want 287082", got)
	}
}

func TestHashcash(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithHashcash(255))
	// A client that solves the challenge logs in.
	if _, err := ts.TryLogin(context.Background(), megaservertest.UserV2, megaservertest.PasswordV2, ""); err != nil {
		t.Fatalf("login behind hashcash: %v", err)
	}
	body := `[{"a":"us","user":"alice@example.com","uh":"AAAAAAAAAAAAAAAAAAAAAA"}]`
	post := func(hc string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/cs?id=7", strings.NewReader(body))
		if hc != "" {
			req.Header.Set("X-Hashcash", hc)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := post("")
	if resp.StatusCode != http.StatusPaymentRequired || resp.ContentLength != 0 {
		t.Fatalf("no proof: HTTP %d len %d, want 402 and empty", resp.StatusCode, resp.ContentLength)
	}
	e, tok, err := megacrypto.ParseHashcash(resp.Header.Get("X-Hashcash"))
	if err != nil || e != 255 || len(tok) != 48 {
		t.Fatalf("challenge %q: %v", resp.Header.Get("X-Hashcash"), err)
	}
	proof, err := megacrypto.SolveHashcash(context.Background(), tok, e, 2)
	if err != nil {
		t.Fatal(err)
	}
	resp = post(proof)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Hashcash") != "" {
		t.Errorf("with proof: HTTP %d, X-Hashcash %q", resp.StatusCode, resp.Header.Get("X-Hashcash"))
	}
	if resp = post(proof); resp.StatusCode != http.StatusPaymentRequired {
		t.Errorf("reused proof: HTTP %d, want 402", resp.StatusCode)
	}
	// A proof for a token the server never issued is refused.
	if resp = post("1:" + megacrypto.B64Encode(make([]byte, 48)) + ":AAAAAA"); resp.StatusCode != http.StatusPaymentRequired {
		t.Errorf("foreign token: HTTP %d, want 402", resp.StatusCode)
	}
	// Non-login commands are not challenged.
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/cs?id=8", strings.NewReader(`[{"a":"us0","user":"alice@example.com"}]`))
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusOK {
		t.Errorf("us0 behind hashcash: HTTP %d", r2.StatusCode)
	}
}

func TestLoginLimit(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithFaults("logins=3/min"))
	ctx := context.Background()
	for i := range 3 {
		if _, err := ts.TryLogin(ctx, megaservertest.UserV1, megaservertest.PasswordV1, ""); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
	}
	if _, err := ts.TryLogin(ctx, megaservertest.UserV1, megaservertest.PasswordV1, ""); !errors.Is(err, megaapi.EBLOCKED) {
		t.Errorf("4th login: %v, want -16", err)
	}
	if n := ts.Server.Logins(megaservertest.UserV1); n != 4 {
		t.Errorf("Logins = %d, want 4", n)
	}
	if _, err := ts.TryLogin(ctx, megaservertest.UserV2, megaservertest.PasswordV2, ""); err != nil {
		t.Errorf("other account: %v", err)
	}
	if n := ts.Server.Logins("nobody@example.com"); n != 0 {
		t.Errorf("Logins(unknown) = %d", n)
	}
}

func TestRequestErrors(t *testing.T) {
	ts := megaservertest.Start(t)
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	for _, tc := range []struct {
		name, body, want string
	}{
		{"not json", `[{"a":`, "-2"},
		{"object body", `{"a":"f"}`, "-2"},
		{"number body", `5`, "-2"},
		{"empty", ``, "-2"},
		{"unknown command", `[{"a":"nope"}]`, "[-2]"},
		{"command not object", `[5,"x",null,[]]`, "[-2,-2,-2,-2]"},
		{"command name not string", `[{"a":5}]`, "[-2]"},
		{"wrong types", `[{"a":"m","n":1,"t":2},{"a":"u","s":"big"},{"a":"f","c":"x"},{"a":"g","g":1,"n":[]}]`, "[-2,-2,-2,-2]"},
		{"bad tag", `[{"a":"ug","i":7}]`, "[-2]"},
		{"mixed batch", `[{"a":"nope"},{"a":"d","n":"AAAAAAAA"},{"a":"uq"}]`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := c.post(c.nextID(), tc.body)
			if status != http.StatusOK {
				t.Fatalf("HTTP %d", status)
			}
			if tc.want != "" && string(body) != tc.want {
				t.Errorf("got %s, want %s", body, tc.want)
			}
			if !json.Valid(body) {
				t.Errorf("invalid JSON %q", body)
			}
			if tc.want == "" {
				var res []json.RawMessage
				if err := json.Unmarshal(body, &res); err != nil || len(res) != 3 || string(res[0]) != "-2" || string(res[1]) != "-9" || res[2][0] != '{' {
					t.Errorf("mixed batch: %s", body)
				}
			}
		})
	}
	t.Run("oversized", func(t *testing.T) {
		big := `[{"a":"ug","x":"` + strings.Repeat("x", 17<<20) + `"}]`
		status, body := c.post(c.nextID(), big)
		if status != http.StatusOK || string(body) != "-2" {
			t.Errorf("HTTP %d %q, want -2", status, abbrev(body))
		}
	})
	t.Run("double slash and GET", func(t *testing.T) {
		resp, err := http.Post(ts.URL+"//cs?id=1", "application/json", strings.NewReader(`[{"a":"us0","user":"bob@example.com"}]`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("//cs: HTTP %d", resp.StatusCode)
		}
		resp, err = http.Get(ts.URL + "/cs")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /cs: HTTP %d", resp.StatusCode)
		}
	})
}
