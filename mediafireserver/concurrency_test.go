package mediafireserver_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	mfst "ferry/mediafireserver/mediafireservertest"
)

// TestOneKeyOneCall: calls on one v2 token are serialised, so of several
// calls signed with the same key and sent at once exactly one succeeds
// and the others are 127, and the key ends rotated exactly once.
func TestOneKeyOneCall(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	// A listing of a few hundred files takes long enough that unserialised
	// calls would overlap between the signature check and the rotation.
	data := []byte("listed")
	put(t, s, "", "seed", data)
	for i := range 300 {
		wantOK(t, "instant", s.Call(t, "upload/instant", "filename", "f"+strconv.Itoa(i), "hash", sha(data), "size", strconv.Itoa(len(data))))
	}
	const n = 8
	q := s.Query("folder/get_content", "content_type", "files", "chunk_size", "1000")
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+s.Path("folder/get_content"), strings.NewReader(q))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rep, err := s.TryDo(req)
			if err != nil {
				t.Error(err)
				return
			}
			codes[i] = rep.Code()
		})
	}
	wg.Wait()
	ok, refused := 0, 0
	for _, c := range codes {
		switch c {
		case 0:
			ok++
		case 127:
			refused++
		}
	}
	if ok != 1 || refused != n-1 {
		t.Fatalf("codes %v: want one success and %d x 127", codes, n-1)
	}
	s.Key = nextKey(s.Key)
	wantOK(t, "after the burst", s.Call(t, "user/get_info"))
}

// TestConcurrentClients: sessions of two accounts upload, list, download
// and purge at once, sharing content; every byte stays right and purges
// never take a blob another file still uses.
func TestConcurrentClients(t *testing.T) {
	ts := mfst.Start(t)
	shared := randomData(50_000, 60)
	var wg sync.WaitGroup
	for w := range 4 {
		user, pw := mfst.User, mfst.Password
		if w%2 == 1 {
			user, pw = mfst.User2, mfst.Password2
		}
		s := ts.Login(t, user, pw, false)
		dir := mkdir(t, s, "", "w"+strconv.Itoa(w))
		wg.Go(func() {
			c := ts.Client()
			for i := range 10 {
				own := randomData(10_000+i, uint64(100*w+i))
				for _, f := range []struct {
					name string
					data []byte
				}{{"own", own}, {"shared", shared}} {
					qk := put(t, s, dir, f.name, f.data)
					if _, b := fetch(t, c, link(t, s, qk)); !bytes.Equal(b, f.data) {
						t.Errorf("worker %d round %d: %s differs", w, i, f.name)
					}
					if i%3 == 0 {
						wantOK(t, "purge", s.Call(t, "file/purge", "quick_key", qk))
					}
				}
				names(t, s, dir, "files", 0)
			}
		})
	}
	wg.Wait()
}

// TestUnitCutMidBody: a unit whose connection drops mid-body is not
// stored; the bitmap lacks it and sending it again completes the file.
func TestUnitCutMidBody(t *testing.T) {
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	data := randomData(5<<20, 70)
	h, unit := unitHeaders("cut.bin", data, 1<<20, 2)
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	var req strings.Builder
	fmt.Fprintf(&req, "POST %s?%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n", s.Path("upload/resumable"), s.Query("upload/resumable"), len(unit))
	for k, v := range h {
		fmt.Fprintf(&req, "%s: %s\r\n", k, v)
	}
	req.WriteString("\r\n")
	conn.Write([]byte(req.String()))
	conn.Write(unit[:len(unit)/2])
	conn.Close() // the call fails, so the key does not rotate

	rep := s.Call(t, "upload/check", "filename", "cut.bin", "hash", sha(data), "size", strconv.Itoa(len(data)), "resumable", "yes")
	wantOK(t, "check after the cut unit", rep)
	if w := rep.Get("resumable_upload.bitmap.words").([]any); w[0] != "0" {
		t.Fatalf("bitmap after a cut unit: %v", rep)
	}
	var last *mfst.Reply
	for u := range 5 {
		h, unit := unitHeaders("", data, 1<<20, u)
		last = s.Upload(t, "upload/resumable", s.Query("upload/resumable"), h, bytes.NewReader(unit))
		s.Follow(last)
	}
	if fe, qk := poll(t, s, last.Str("doupload.key")); fe != "" || qk == "" {
		t.Fatalf("poll: %q %q", fe, qk)
	}
	if entries, _ := os.ReadDir(filepath.Join(ts.Dir, "tmp")); len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}
}

// TestResume64MiB is the server half of "a resumable upload of a 64 MiB
// file interrupted halfway resumes and sends only the missing units": 16
// units of 4 MiB, the connection dropped in the 9th, the bitmap then
// shows the 8 received, and the server receives exactly the 8 missing
// ones (and the cut one) before the file is complete and intact.
func TestResume64MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB")
	}
	ts := mfst.Start(t)
	s := ts.Login(t, mfst.User, mfst.Password, false)
	data := randomData(64<<20, 80)
	const unit = 4 << 20
	check := func() *mfst.Reply {
		t.Helper()
		rep := s.Call(t, "upload/check", "filename", "big.bin", "hash", sha(data), "size", strconv.Itoa(len(data)), "resumable", "yes")
		wantOK(t, "check", rep)
		return rep
	}
	if rep := check(); rep.Str("resumable_upload.number_of_units") != "16" || rep.Str("resumable_upload.unit_size") != strconv.Itoa(unit) {
		t.Fatalf("check: %v", rep)
	}
	for u := range 8 {
		h, b := unitHeaders("", data, unit, u)
		rep := s.Upload(t, "upload/resumable", s.Query("upload/resumable"), h, bytes.NewReader(b))
		s.Follow(rep)
		wantOK(t, "unit", rep)
	}
	// Unit 8 dies halfway.
	h, b := unitHeaders("", data, unit, 8)
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST %s?%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n", s.Path("upload/resumable"), s.Query("upload/resumable"), len(b))
	for k, v := range h {
		fmt.Fprintf(conn, "%s: %s\r\n", k, v)
	}
	fmt.Fprint(conn, "\r\n")
	conn.Write(b[:len(b)/2])
	conn.Close()

	ts.Server.ResetStats()
	words := check().Get("resumable_upload.bitmap.words").([]any)
	if len(words) != 1 || words[0] != "255" {
		t.Fatalf("bitmap after 8 units and a cut one: %v", words)
	}
	have, _ := strconv.Atoi(words[0].(string))
	var key string
	for u := range 16 {
		if have&(1<<u) != 0 {
			continue
		}
		h, b := unitHeaders("", data, unit, u)
		rep := s.Upload(t, "upload/resumable", s.Query("upload/resumable"), h, bytes.NewReader(b))
		s.Follow(rep)
		wantOK(t, "unit", rep)
		key = rep.Str("doupload.key")
	}
	if st := ts.Server.Stats(); st.Units != 8 || st.UnitBytes != 8*unit {
		t.Errorf("resume: the server received %d units (%d bytes), want the 8 missing", st.Units, st.UnitBytes)
	}
	_, qk := poll(t, s, key)
	if _, got := fetch(t, ts.Client(), link(t, s, qk)); sha(got) != sha(data) {
		t.Error("the resumed file differs")
	}
}
