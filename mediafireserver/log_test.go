package mediafireserver_test

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"

	mfst "ferry/mediafireserver/mediafireservertest"
)

// lockedBuffer is a bytes.Buffer safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestNoSecretsInLogs runs logins (good and bad), signed calls (good,
// badly signed, faulted), action-token uploads and resumable units with
// debug logging, and checks that no password, token, secret key, ekey or
// signature reached the log.
func TestNoSecretsInLogs(t *testing.T) {
	var buf lockedBuffer
	ts := mfst.Start(t, mfst.WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		mfst.WithFaults("folder/get_info.lost=1x,user/get_info.expire=1x"))
	secrets := []string{mfst.Password}
	s := ts.Login(t, mfst.User, mfst.Password, false)
	secrets = append(secrets, s.Token, strconv.FormatUint(s.Key, 10))
	wantError(t, "bad login", s.Post(t, "/api/1.3/user/get_session_token.php", loginBody(mfst.User, "wrong-password-123", mfst.AppID, "", "2")), 107, 403)
	secrets = append(secrets, "wrong-password-123")

	q := s.Query("folder/get_info")
	secrets = append(secrets, q[strings.LastIndex(q, "=")+1:])
	s.Post(t, s.Path("folder/get_info"), q) // lost
	s.Key = nextKey(s.Key)
	secrets = append(secrets, strconv.FormatUint(s.Key, 10))
	wantError(t, "bad signature", s.Post(t, s.Path("folder/create"), s.Query("folder/create")+"0"), 127, 403)
	rep := s.Call(t, "user/get_action_token", "type", "upload")
	at := rep.Str("action_token")
	secrets = append(secrets, at)
	data := randomData(5<<20, 40)
	for u := range 5 {
		h, unit := unitHeaders("big.bin", data, 1<<20, u)
		rep := s.Upload(t, "upload/resumable", "session_token="+at+"&response_format=json", h, bytes.NewReader(unit))
		wantOK(t, "unit", rep)
	}
	wantError(t, "expire", s.Call(t, "user/get_info"), 105, 403)
	v1 := ts.Login(t, mfst.User, mfst.Password, true)
	secrets = append(secrets, v1.Token)
	wantOK(t, "v1", v1.Call(t, "folder/get_content", "content_type", "files"))

	log := buf.String()
	for _, want := range []string{"login", "fault injected", "code=127", "call refused"} {
		if !strings.Contains(log, want) {
			t.Fatalf("log lacks %q; is debug logging on?\n%s", want, log)
		}
	}
	for _, sec := range secrets {
		if len(sec) >= 6 && strings.Contains(log, sec) {
			t.Errorf("the log contains the secret %q", sec)
		}
	}
}
