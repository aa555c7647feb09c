package mediafireserver_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"ferry/mediafireserver"
	mfst "ferry/mediafireserver/mediafireservertest"
)

func loginBody(email, password, app, apiKey, version string) string {
	q := url.Values{
		"application_id": {app}, "email": {email}, "password": {password}, "token_version": {version},
		"response_format": {"json"}, "signature": {mediafireserver.LoginSignature(email, password, app, apiKey)},
	}
	return q.Encode()
}

func TestLoginV2(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	rep := s.Post(t, "/api/1.3/user/get_session_token.php", loginBody(mfst.User, mfst.Password, mfst.AppID, "", "2"))
	wantOK(t, "login", rep)
	if rep.Type != "application/json" {
		t.Errorf("Content-Type %q, want exactly application/json", rep.Type)
	}
	if !regexp.MustCompile(`^[a-z0-9]{144}$`).MatchString(rep.Str("session_token")) {
		t.Errorf("session_token %q: want 144 alphanumerics", rep.Str("session_token"))
	}
	k, err := strconv.ParseUint(rep.Str("secret_key"), 10, 64)
	if err != nil || k < 1 || k > 2147483646 {
		t.Errorf("secret_key %q", rep.Str("secret_key"))
	}
	if !regexp.MustCompile(`^\d+\.\d+$`).MatchString(rep.Str("time")) {
		t.Errorf("time %q", rep.Str("time"))
	}
	for _, f := range []string{"ekey", "pkey"} {
		if rep.Str(f) == "" {
			t.Errorf("no %s", f)
		}
	}
	if rep.Str("action") != "user/get_session_token" || rep.Str("current_api_version") != "1.5" || rep.Str("new_key") != "" {
		t.Errorf("envelope: %v", rep)
	}
	// Every scalar is a string: secret_key and time are not numbers.
	if _, ok := rep.Get("secret_key").(string); !ok {
		t.Errorf("secret_key is not a JSON string: %s", rep.Body)
	}
	if _, ok := rep.Get("time").(string); !ok {
		t.Errorf("time is not a JSON string: %s", rep.Body)
	}
}

func TestLoginErrors(t *testing.T) {
	ts := mfst.Start(t, mfst.WithApps(map[string]string{"9999": "abcdefghijklmnopqrst"}))
	s := ts.Login(t, mfst.User, mfst.Password, false)
	const path = "/api/user/get_session_token.php" // unversioned, as FUSE logs in
	for _, c := range []struct {
		name   string
		body   string
		code   int
		status int
	}{
		{"wrong password", loginBody(mfst.User, "nope", mfst.AppID, "", "2"), 107, 403},
		{"unknown user", loginBody("carol@example.com", "x", mfst.AppID, "", "2"), 107, 403},
		{"unknown application", loginBody(mfst.User, mfst.Password, "1", "", "2"), 109, 403},
		{"API key left out of the signature", loginBody(mfst.User, mfst.Password, "9999", "", "2"), 107, 403},
		{"bad signature", strings.Replace(loginBody(mfst.User, mfst.Password, mfst.AppID, "", "2"), "signature=", "signature=0", 1), 107, 403},
	} {
		rep := s.Post(t, path, c.body)
		wantError(t, c.name, rep, c.code, c.status)
		if _, ok := rep.Get("error").(float64); !ok {
			t.Errorf("%s: error is not a JSON number: %s", c.name, rep.Body)
		}
		if rep.Str("message") == "" || rep.Type != "application/json" {
			t.Errorf("%s: %v", c.name, rep)
		}
	}
	// The application's API key signs its logins.
	wantOK(t, "login with an API key", s.Post(t, path, loginBody(mfst.User, mfst.Password, "9999", "abcdefghijklmnopqrst", "2")))
}

func TestLoginEKey(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	rep := s.Post(t, "/api/1.3/user/get_session_token.php", loginBody(mfst.User, mfst.Password, mfst.AppID, "", "2"))
	ekey := rep.Str("ekey")
	q := url.Values{
		"application_id": {mfst.AppID}, "ekey": {ekey}, "password": {mfst.Password}, "token_version": {"2"},
		"signature": {mediafireserver.LoginSignature(ekey, mfst.Password, mfst.AppID, "")},
	}
	wantOK(t, "ekey login", s.Post(t, "/api/1.3/user/get_session_token.php", q.Encode()))
}

func TestV1Token(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, true)
	rep := s.Post(t, "/api/1.5/user/get_session_token.php", loginBody(mfst.User, mfst.Password, mfst.AppID, "", "1"))
	wantOK(t, "v1 login", rep)
	if rep.Str("secret_key") != "" || rep.Str("time") != "" {
		t.Errorf("v1 token with a secret key: %v", rep)
	}
	// No signature, no new_key (NPMSDK style body with an empty details).
	rep = s.Post(t, "/api/1.5/folder/get_info.php", "session_token="+s.Token+"&response_format=json&folder_key=myfiles&details")
	wantOK(t, "v1 folder/get_info", rep)
	if rep.Str("new_key") != "" || rep.Str("folder_info.folderkey") != "myfiles" {
		t.Errorf("v1 call: %v", rep)
	}
	// Token version omitted means 1.
	q := url.Values{"application_id": {mfst.AppID}, "email": {mfst.User}, "password": {mfst.Password},
		"signature": {mediafireserver.LoginSignature(mfst.User, mfst.Password, mfst.AppID, "")}}
	rep = s.Post(t, "/api/1.3/user/get_session_token.php", q.Encode())
	wantOK(t, "login without token_version", rep)
	if rep.Str("secret_key") != "" {
		t.Errorf("token_version omitted gave a v2 token: %v", rep)
	}
}

func TestSignedCallRules(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	s.RotateDistinct(t) // the wrong-key and replay checks need keys that sign apart
	path := s.Path("user/get_info")

	wantError(t, "no token", s.Post(t, path, "response_format=json"), 104, 403)
	wantError(t, "unknown token", s.Post(t, path, "session_token="+strings.Repeat("z", 144)+"&response_format=json"), 105, 403)
	wantError(t, "no signature", s.Post(t, path, "response_format=json&session_token="+s.Token), 215, 403)

	// A wrong signature is 127 and does not rotate: the next call signed
	// with the same key succeeds.
	key := s.Key
	bad := "response_format=json&session_token=" + s.Token + "&signature=" + strings.Repeat("0", 32)
	wantError(t, "wrong signature", s.Post(t, path, bad), 127, 403)
	stale := s.Query("user/get_info")
	s.Key = mediafireserver.NextSecretKey(key) // as a client that rotated wrongly
	wantError(t, "signature under the next key", s.Call(t, "user/get_info"), 127, 403)
	s.Key = key
	rep := s.Post(t, path, stale)
	wantOK(t, "call after 127", rep)
	if rep.Str("new_key") != "yes" || rep.Str("user_info.email") != mfst.User {
		t.Fatalf("signed success: %v", rep)
	}
	// The reply's new_key rotated the server's key: the same query again
	// (signed under the old key) is refused, and the rotated key works.
	wantError(t, "replayed signature", s.Post(t, path, stale), 127, 403)
	s.Follow(rep)
	wantOK(t, "call under the rotated key", s.Call(t, "user/get_info"))

	// Every version and the unversioned path, and GET with the query.
	for _, v := range []string{"1.3", "1.5", "2.0"} {
		s.Version = v
		wantOK(t, "version "+v, s.Call(t, "folder/get_info"))
	}
	s.Version = "1.3"
	enc := url.Values{"session_token": {s.Token}, "response_format": {"json"}, "folder_key": {"myfiles"}}.Encode()
	sig := mediafireserver.CallSignature(s.Key, s.Time, "/api/folder/get_info.php", enc)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.URL+"/api/folder/get_info.php?"+enc+"&signature="+sig, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep = s.Do(t, req)
	wantOK(t, "GET unversioned", rep)
	s.Follow(rep)

	// CPPSDK's order: session_token first, the rest unsorted.
	raw := "session_token=" + s.Token + "&response_format=json&folder_key=myfiles"
	rep = s.Post(t, s.Path("folder/get_info"), raw+"&signature="+s.Sign(s.Path("folder/get_info"), raw))
	wantOK(t, "unsorted parameters", rep)
	s.Follow(rep)

	// Unknown methods.
	rep = s.Post(t, "/api/1.3/folder/frobnicate.php", s.Query("folder/frobnicate"))
	wantError(t, "unknown method", rep, 253, 404)
	wantOK(t, "key unchanged by an unknown method", s.Call(t, "user/get_info"))
}

func TestActionToken(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	rep := s.Call(t, "user/get_action_token", "type", "upload", "lifespan", "1440")
	wantOK(t, "get_action_token", rep)
	at := rep.Str("action_token")
	if len(at) < 100 {
		t.Fatalf("action token %q", at)
	}
	data := []byte("uploaded with an action token")
	q := url.Values{"session_token": {at}, "response_format": {"json"}, "folder_key": {"myfiles"}, "action_on_duplicate": {"replace"}}.Encode()
	hdr := map[string]string{"X-Filename": "a.txt", "X-Filesize": strconv.Itoa(len(data)), "X-Filehash": sha(data)}
	rep = s.Upload(t, "upload/simple", q, hdr, strings.NewReader(string(data)))
	wantOK(t, "upload with action token", rep)
	if rep.Str("new_key") != "" {
		t.Errorf("action-token upload carries new_key: %v", rep)
	}
	if fe, qk := poll(t, s, rep.Str("doupload.key")); fe != "" || qk == "" {
		t.Fatalf("poll: %q %q", fe, qk)
	}
	// Only the upload methods take it.
	wantError(t, "action token on folder/get_info", s.Post(t, s.Path("folder/get_info"), "session_token="+at+"&response_format=json"), 105, 403)
	wantOK(t, "destroy", s.Call(t, "user/destroy_action_token", "action_token", at))
	wantError(t, "destroy again", s.Call(t, "user/destroy_action_token", "action_token", at), 100, 900)
	rep = s.Upload(t, "upload/simple", q, hdr, strings.NewReader(string(data)))
	wantError(t, "upload with a destroyed token", rep, 105, 403)
	wantError(t, "bad type", s.Call(t, "user/get_action_token", "type", "other"), 129, 400)
}

func TestUserCalls(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	put(t, s, "", "x", []byte("12345"))
	rep := s.Call(t, "user/get_info")
	wantOK(t, "get_info", rep)
	if rep.Str("user_info.email") != mfst.User || rep.Str("user_info.used_storage_size") != "5" || rep.Str("user_info.storage_limit") == "" {
		t.Errorf("user/get_info: %v", rep)
	}
	rep = s.Call(t, "user/renew_session_token")
	wantOK(t, "renew", rep)
	if rep.Str("session_token") != s.Token || rep.Str("new_key") != "yes" {
		t.Errorf("renew: %v", rep)
	}
}

// TestSessionLimit: at the limit of live tokens per account a login ends
// the least recently used one; other accounts are not affected.
func TestSessionLimit(t *testing.T) {
	ts := mfst.Start(t, mfst.WithMaxSessions(3))
	bob := ts.Login(t, mfst.User2, mfst.Password2, false)
	var s []*mfst.Session
	for range 3 {
		s = append(s, ts.Login(t, mfst.User, mfst.Password, false))
	}
	wantOK(t, "use the first", s[0].Call(t, "user/get_info")) // now s[1] is the least recently used
	s = append(s, ts.Login(t, mfst.User, mfst.Password, true))
	wantError(t, "evicted session", s[1].Call(t, "user/get_info"), 105, 403)
	for _, i := range []int{0, 2, 3} {
		wantOK(t, "kept session", s[i].Call(t, "user/get_info"))
	}
	wantOK(t, "another account", bob.Call(t, "user/get_info"))
}
