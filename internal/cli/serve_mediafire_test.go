package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"ferry/mediafireserver"
)

// mfReply is the "response" object of a MediaFire reply.
type mfReply map[string]any

func (r mfReply) str(k string) string { s, _ := r[k].(string); return s }

// TestServeMediaFire creates an account with adduser, serves it over TLS
// with a fault and debug logging, talks to it as a client that trusts the
// printed CA, and checks that no password, token, secret key or signature
// reached the log.
func TestServeMediaFire(t *testing.T) {
	dir := t.TempDir()
	const email, password = "alice@example.com", "s3cret pass"
	t.Setenv(envPassword, password)
	if code, out, errOut := runCLI(t, t.Context(), "", "serve", "mediafire", "adduser", "--data", dir, email); code != 0 || !strings.Contains(out, "created account") {
		t.Fatalf("adduser: exit %d: %s %s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, t.Context(), "", "serve", "mediafire", "adduser", "--data", dir, email); code == 0 || !strings.Contains(errOut, email) {
		t.Fatalf("duplicate adduser: exit %d, %q", code, errOut)
	}
	t.Setenv(envPassword, "pässword")
	if code, _, errOut := runCLI(t, t.Context(), "", "serve", "mediafire", "adduser", "--data", dir, "bob@example.com"); code == 0 || !strings.Contains(errOut, "ASCII") {
		t.Errorf("non-ASCII password: exit %d, %q", code, errOut)
	}
	if code, _, _ := runCLI(t, t.Context(), "", "serve", "mediafire", "--data", dir, "--faults", "folder/get_info.truncate=1x"); code != exitUsage {
		t.Errorf("a fault for a method it cannot strike: exit %d, want %d", code, exitUsage)
	}
	if code, _, _ := runCLI(t, t.Context(), "", "serve", "mediafire", "--data", dir, "--app", "duplicity"); code != exitUsage {
		t.Errorf("--app duplicity: exit %d, want %d", code, exitUsage)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out, logs := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"-vv", "serve", "mediafire", "--listen", "127.0.0.1:0", "--data", dir, "--tls",
			"--faults", "folder/get_info.lost=1x"}, Stdio{In: strings.NewReader(""), Out: out, Err: logs})
	}()
	base := waitFor(t, out, regexp.MustCompile(`MediaFire API on (https://127\.0\.0\.1:\d+)`))
	caPath := waitFor(t, out, regexp.MustCompile(`test CA certificate (\S+)`))
	pem, err := os.ReadFile(caPath)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", caPath)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer client.CloseIdleConnections()

	var secrets []string // everything that must never be logged
	post := func(path, body string) (int, mfReply) {
		t.Helper()
		resp, err := client.Post(base+path, "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var env struct{ Response mfReply }
		_ = json.Unmarshal(b, &env)
		return resp.StatusCode, env.Response
	}
	login := url.Values{"application_id": {"45593"}, "email": {email}, "password": {password}, "token_version": {"2"},
		"signature": {mediafireserver.LoginSignature(email, password, "45593", "")}}
	secrets = append(secrets, password, login.Get("signature"))
	_, rep := post("/api/1.3/user/get_session_token.php", login.Encode())
	token, tm := rep.str("session_token"), rep.str("time")
	key, err := strconv.ParseUint(rep.str("secret_key"), 10, 64)
	if token == "" || err != nil {
		t.Fatalf("login: %v", rep)
	}
	secrets = append(secrets, token, rep.str("secret_key"), rep.str("ekey"))
	call := func(method string, params url.Values) (int, mfReply) {
		t.Helper()
		params.Set("session_token", token)
		params.Set("response_format", "json")
		path := "/api/1.3/" + method + ".php"
		q := params.Encode()
		sig := mediafireserver.CallSignature(key, tm, path, q)
		secrets = append(secrets, sig)
		st, rep := post(path, q+"&signature="+sig)
		if rep.str("new_key") == "yes" {
			key = mediafireserver.NextSecretKey(key)
		}
		return st, rep
	}
	// The lost reply: an HTML 502 after the server rotated the key.
	if st, rep := call("folder/get_info", url.Values{}); st != http.StatusBadGateway || rep != nil {
		t.Fatalf("lost reply: HTTP %d %v", st, rep)
	}
	key = mediafireserver.NextSecretKey(key) // as a client that knows the server rotated
	if st, rep := call("user/get_action_token", url.Values{"type": {"upload"}}); st != 200 || rep.str("action_token") == "" {
		t.Fatalf("get_action_token: %d %v", st, rep)
	} else {
		secrets = append(secrets, rep.str("action_token"))
		data := []byte("hello over TLS")
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/api/1.3/upload/simple.php?session_token="+rep.str("action_token")+"&response_format=json", bytes.NewReader(data))
		req.Header.Set("X-Filename", "hello.txt")
		req.Header.Set("X-Filesize", strconv.Itoa(len(data)))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"result":"0"`)) {
			t.Fatalf("upload/simple: %d %s", resp.StatusCode, b)
		}
	}
	if st, rep := call("folder/get_content", url.Values{"content_type": {"files"}}); st != 200 || !strings.Contains(toJSON(rep), "hello.txt") {
		t.Errorf("listing: %d %v", st, rep)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exit %d after cancel", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after cancel")
	}
	log := logs.String()
	if !strings.Contains(log, "fault injected") || !strings.Contains(log, "login") {
		t.Fatalf("debug log without the fault or the login; is logging on?\n%s", log)
	}
	for _, s := range secrets {
		if len(s) >= 6 && strings.Contains(log, s) { // shorter secret keys could match by chance
			t.Errorf("the log contains a secret %q:\n%s", s, log)
		}
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
