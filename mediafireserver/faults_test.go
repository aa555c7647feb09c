package mediafireserver_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"ferry/mediafireserver"
	mfst "ferry/mediafireserver/mediafireservertest"
)

func TestParseFaults(t *testing.T) {
	for _, spec := range []string{
		"",
		"http500=0.02,lost=0.01",
		"upload/poll_upload.status17=1x,dl.truncate=2x,slowdelay=1s,seed=7",
		"folder/get_content.expire=0.5,upload/resumable.fileerror7=1x,dl.corrupt=1",
	} {
		f, err := mediafireserver.ParseFaults(spec)
		if err != nil {
			t.Errorf("%q: %v", spec, err)
			continue
		}
		if f.String() != spec {
			t.Errorf("%q: String() = %q", spec, f.String())
		}
	}
	for _, c := range []struct{ spec, want string }{
		{"bogus=1", `unknown fault "bogus"`},
		{"folder/frob.lost=1", `unknown method "folder/frob"`},
		{"folder/get_info.truncate=1x", "truncate cannot strike folder/get_info"},
		{"dl.lost=1", "lost cannot strike dl"},
		{"user/get_session_token.expire=1", "expire cannot strike user/get_session_token"},
		{"lost=2", "probability between 0 and 1"},
		{"lost=0x", "count such as 1x"},
		{"lost", "want key=value"},
		{"slowdelay=fast", "slowdelay"},
	} {
		_, err := mediafireserver.ParseFaults(c.spec)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one saying %q", c.spec, err, c.want)
		}
	}
}

// setFaults replaces the faults of ts.
func setFaults(t *testing.T, ts *mfst.TestServer, spec string) {
	t.Helper()
	f, err := mediafireserver.ParseFaults(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Server.SetFaults(f); err != nil {
		t.Fatal(err)
	}
}

func TestFaultLostReply(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	setFaults(t, ts, "upload/poll_upload.lost=1x")
	key := uploadSimple(t, s, "", "v.bin", []byte("volume"), "replace")
	s.RotateDistinct(t) // the old key must be refused once the server rotates
	rep := s.Call(t, "upload/poll_upload", "key", key)
	if rep.Status != http.StatusBadGateway || rep.R != nil || !strings.HasPrefix(rep.Type, "text/html") {
		t.Fatalf("lost reply: %v (%s)", rep, rep.Type)
	}
	// The call ran: the file exists. The server rotated, the client did
	// not: every call with the old key is 127 (duplicity's lock-out).
	for range 3 {
		wantError(t, "call after the lost reply", s.Call(t, "user/get_action_token", "type", "upload"), 127, 403)
	}
	s.Key = mediafireserver.NextSecretKey(s.Key)
	if fe, qk := poll(t, s, key); fe != "" || qk == "" {
		t.Errorf("the lost poll's upload: %q %q", fe, qk)
	}
	// Counted: the fault struck once.
	if got := ts.Server.FaultHits()[mediafireserver.FaultLost]; got != 1 {
		t.Errorf("lost struck %d times, want 1", got)
	}
}

func TestFaultDrop(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	setFaults(t, ts, "folder/create.drop=1x")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+s.Path("folder/create"),
		strings.NewReader(s.Query("folder/create", "foldername", "made")))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if rep, err := s.TryDo(req); err == nil {
		t.Fatalf("dropped reply arrived: %v", rep)
	}
	s.Key = mediafireserver.NextSecretKey(s.Key) // the server rotated
	if got := names(t, s, "", "folders", 0); len(got) != 1 || got[0] != "made" {
		t.Errorf("the dropped call did not run: %v", got)
	}
}

func TestFaultsBeforeTheCall(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)

	setFaults(t, ts, "http500=1x")
	rep := s.Call(t, "folder/create", "foldername", "x")
	if rep.Status != 500 || rep.R != nil || !strings.HasPrefix(rep.Type, "text/html") {
		t.Fatalf("http500: %v", rep)
	}
	setFaults(t, ts, "folder/create.error100=1x")
	wantError(t, "error100", s.Call(t, "folder/create", "foldername", "x"), 100, 900)
	setFaults(t, ts, "ratelimit=1x")
	wantError(t, "ratelimit", s.Call(t, "folder/create", "foldername", "x"), 163, 400)
	// None of them ran the call or rotated the key.
	setFaults(t, ts, "")
	if got := names(t, s, "", "folders", 0); len(got) != 0 {
		t.Errorf("a failed call ran: %v", got)
	}

	setFaults(t, ts, "slow=1x,slowdelay=300ms")
	start := time.Now()
	wantOK(t, "slow", s.Call(t, "user/get_info"))
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("slow call took %v, want >= 300ms", d)
	}

	setFaults(t, ts, "file/get_info.expire=1x")
	wantError(t, "expire", s.Call(t, "file/get_info", "quick_key", "zzzzzzzzzzzzzzz"), 105, 403)
	wantError(t, "after expiry", s.Call(t, "user/get_info"), 105, 403)
	s = ts.Login(t, mfst.User, mfst.Password, false)
	wantOK(t, "after login", s.Call(t, "user/get_info"))

	// A count on an unprefixed fault strikes the next N calls of any
	// method, then stops.
	setFaults(t, ts, "error100=2x")
	wantError(t, "first", s.Call(t, "user/get_info"), 100, 900)
	wantError(t, "second", s.Call(t, "folder/get_info"), 100, 900)
	wantOK(t, "third", s.Call(t, "user/get_info"))

	// Probabilities strike about as often as said.
	setFaults(t, ts, "user/get_info.error100=0.5")
	hits := 0
	for range 200 {
		if s.Call(t, "user/get_info").Code() == 100 {
			hits++
		}
	}
	if hits < 50 || hits > 150 {
		t.Errorf("error100=0.5 struck %d of 200 calls", hits)
	}
}

func TestFaultDownloads(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	data := randomData(300_000, 4)
	l := link(t, s, put(t, s, "", "d.bin", data))
	c := ts.Client()
	get := func() (int, []byte, error) {
		resp, err := c.Get(l)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}

	setFaults(t, ts, "dl.truncate=1x")
	st, b, err := get()
	if st != 200 || !errors.Is(err, io.ErrUnexpectedEOF) || len(b) >= len(data) {
		t.Errorf("truncate: %d, %d bytes, %v", st, len(b), err)
	}
	setFaults(t, ts, "dl.corrupt=1x")
	st, b, err = get()
	if st != 200 || err != nil || len(b) != len(data) || sha(b) == sha(data) {
		t.Errorf("corrupt: %d, %d bytes, %v, same hash %v", st, len(b), err, sha(b) == sha(data))
	}
	setFaults(t, ts, "dl.http500=1x")
	if st, _, _ := get(); st != 500 {
		t.Errorf("dl.http500: %d", st)
	}
	// Go's transport retries a GET whose reused connection closed before
	// any reply; a fresh connection per request sees the drop.
	c = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	setFaults(t, ts, "dl.drop=1x")
	if _, _, err := get(); err == nil {
		t.Errorf("dl.drop: no error")
	}
	// Then clean again.
	if st, b, err := get(); st != 200 || err != nil || !bytes.Equal(b, data) {
		t.Errorf("after the faults: %d %v", st, err)
	}
	// An API fault without a prefix leaves downloads alone.
	setFaults(t, ts, "error100=1")
	if st, b, _ := get(); st != 200 || !bytes.Equal(b, data) {
		t.Errorf("error100 struck a download: %d", st)
	}
}

func TestFaultPollStatus17AndFileError7(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)

	setFaults(t, ts, "upload/poll_upload.status17=1x")
	key := uploadSimple(t, s, "", "a.bin", []byte("aaa"), "replace")
	rep := s.Call(t, "upload/poll_upload", "key", key)
	if rep.Str("doupload.status") != "17" || rep.Str("doupload.result") != "0" || rep.Str("doupload.quickkey") != "" {
		t.Fatalf("status17: %v", rep)
	}
	if fe, qk := poll(t, s, key); fe != "" || qk == "" {
		t.Errorf("poll after 17: %q %q", fe, qk)
	}

	setFaults(t, ts, "upload/simple.fileerror7=1x")
	if fe, qk := poll(t, s, uploadSimple(t, s, "", "b.bin", []byte("bbb"), "replace")); fe != "7" || qk != "" {
		t.Errorf("simple fileerror7: %q %q", fe, qk)
	}
	// The resumable fault strikes the unit that completes the file; the
	// session ends, so a retry starts over.
	setFaults(t, ts, "upload/resumable.fileerror7=1x")
	data := randomData(5<<20, 5) // 5 units of 1 MiB
	sendAll := func() string {
		var key string
		for u := range 5 {
			h, unit := unitHeaders("r.bin", data, 1<<20, u)
			rep := s.Upload(t, "upload/resumable", s.Query("upload/resumable"), h, bytes.NewReader(unit))
			s.Follow(rep)
			if rep.Str("doupload.result") != "0" {
				t.Fatalf("unit %d: %v", u, rep)
			}
			key = rep.Str("doupload.key")
		}
		return key
	}
	if fe, qk := poll(t, s, sendAll()); fe != "7" || qk != "" {
		t.Errorf("resumable fileerror7: %q %q", fe, qk)
	}
	if got := names(t, s, "", "files", 0); len(got) != 1 || got[0] != "a.bin" {
		t.Errorf("files after the failed uploads: %v", got)
	}
	rep = s.Call(t, "upload/check", "filename", "r.bin", "hash", sha(data), "size", strconv.Itoa(len(data)), "resumable", "yes")
	if words, _ := rep.Get("resumable_upload.bitmap.words").([]any); rep.Str("resumable_upload.all_units_ready") != "no" || len(words) != 1 || words[0] != "0" {
		t.Errorf("check after fileerror 7: %v", rep)
	}
	if fe, qk := poll(t, s, sendAll()); fe != "" || qk == "" {
		t.Errorf("resumable retry: %q %q", fe, qk)
	}
}
