package megaserver_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mega "github.com/t3rm1n4l/go-mega"

	"ferry/megaserver"
	"ferry/megaserver/megaservertest"
)

func TestParseFaults(t *testing.T) {
	got, err := megaserver.ParseFaults("eagain=0.05, http500=0.02,drop=0.01,slow=0.01,slowdelay=2s,logins=20/min,seed=7")
	if err != nil {
		t.Fatal(err)
	}
	want := megaserver.Faults{EAgain: 0.05, HTTP500: 0.02, Drop: 0.01, Slow: 0.01, SlowDelay: 2 * time.Second, LoginsPerMinute: 20, Seed: 7}
	if got != want {
		t.Errorf("ParseFaults = %+v, want %+v", got, want)
	}
	if again, err := megaserver.ParseFaults(got.String()); err != nil || again != got {
		t.Errorf("String round trip: %q -> %+v, %v", got.String(), again, err)
	}
	if f, err := megaserver.ParseFaults(""); err != nil || f != (megaserver.Faults{}) {
		t.Errorf("empty spec = %+v, %v", f, err)
	}
	for _, tc := range []struct{ spec, mention string }{
		{"eagain=2", "eagain"},
		{"drop=-0.1", "drop"},
		{"http500=x", "http500"},
		{"bogus=1", "bogus"},
		{"slow", "slow"},
		{"slowdelay=soon", "slowdelay"},
		{"logins=many/min", "logins"},
		{"logins=5/hour", "hour"},
		{"seed=-1", "seed"},
	} {
		_, err := megaserver.ParseFaults(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("ParseFaults(%q) = %v, want an error naming %q", tc.spec, err, tc.mention)
		}
	}
}

func TestFaultEAgainAnd500(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithFaults("eagain=1"))
	c := newClient(t, ts, nil)
	if _, body := c.post("1", `[{"a":"us0","user":"alice@example.com"}]`); string(body) != "-3" {
		t.Errorf("eagain=1: %q, want -3", body)
	}
	ts2 := megaservertest.Start(t, megaservertest.WithFaults("http500=1"))
	c2 := newClient(t, ts2, nil)
	if status, _ := c2.post("1", `[{"a":"us0","user":"alice@example.com"}]`); status != 500 {
		t.Errorf("http500=1: HTTP %d", status)
	}
	ts3 := megaservertest.Start(t, megaservertest.WithFaults("slow=1,slowdelay=100ms"))
	c3 := newClient(t, ts3, nil)
	start := time.Now()
	c3.post("1", `[{"a":"us0","user":"alice@example.com"}]`)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("slow=1: answered after %v", d)
	}
}

// TestFaultDropReplay: a dropped reply and a retry with the same id never
// create a second node.
func TestFaultDropReplay(t *testing.T) {
	clean := megaservertest.Start(t)
	sess := clean.Login(t, megaservertest.UserV2, megaservertest.PasswordV2)
	clean.Close()
	// Sessions persist, so the faulty server accepts the clean login.
	ts := megaservertest.Start(t, megaservertest.WithDir(clean.Dir), megaservertest.WithFaults("drop=0.5,seed=3"))
	c := newClient(t, ts, sess)
	body := string(mustJSON([]any{map[string]any{"a": "f", "c": 1}}))
	var tr []byte
	for i := 0; i < 50 && tr == nil; i++ {
		tr = tryPost(c, "f1", body)
	}
	pbody := string(mustJSON([]any{map[string]any{"a": "p", "t": rootOf(t, tr), "n": []any{
		map[string]any{"h": "xxxxxxxx", "t": 1, "a": randB64(16), "k": randB64(16)},
	}}}))
	drops := 0
	var reply []byte
	for i := 0; i < 50 && reply == nil; i++ {
		if reply = tryPost(c, "p1", pbody); reply == nil {
			drops++
		}
	}
	if reply == nil {
		t.Fatalf("p never got through")
	}
	var after []byte
	for i := 0; i < 50 && after == nil; i++ {
		after = tryPost(c, "f2", body)
	}
	if n := strings.Count(string(after), `"t":1`); n != 1 {
		t.Errorf("%d folders after %d dropped replies and retries, want 1", n, drops)
	}
	if drops == 0 {
		t.Logf("no drop hit the p request")
	}

	// Uploads: a dropped POST stores nothing; retries complete the file.
	data := randBytes(300000)
	var urep []byte
	for i := 0; i < 50 && urep == nil; i++ {
		urep = tryPost(c, "u1", string(mustJSON([]any{map[string]any{"a": "u", "s": len(data)}})))
	}
	var ur []struct {
		P string `json:"p"`
	}
	if err := json.Unmarshal(urep, &ur); err != nil || len(ur) != 1 {
		t.Fatalf("u reply %q", urep)
	}
	var tok []byte
	ulDrops := 0
	for _, ch := range [][2]int{{0, 131072}, {131072, 300000}} {
		for i := 0; ; i++ {
			if i == 50 {
				t.Fatalf("chunk at %d never got through", ch[0])
			}
			resp, err := http.Post(fmt.Sprintf("%s/%d", ur[0].P, ch[0]), "", bytes.NewReader(data[ch[0]:ch[1]]))
			if err != nil {
				ulDrops++
				continue
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				ulDrops++
				continue
			}
			if ch[0] == 0 && len(body) != 0 {
				t.Fatalf("first chunk completed the upload: %q", body)
			}
			tok = body
			break
		}
	}
	if len(tok) != 36 {
		t.Fatalf("token %q after %d dropped chunk POSTs", tok, ulDrops)
	}
}

// tryPost posts to /cs and returns the body, or nil if the connection
// failed or the reply was cut.
func tryPost(c *client, id, body string) []byte {
	resp, err := http.Post(c.base+"/cs?id="+id+"&sid="+c.sid, "application/json", strings.NewReader(body))
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		return nil
	}
	return data
}

func rootOf(t *testing.T, fReply []byte) string {
	t.Helper()
	i := strings.Index(string(fReply), `"t":2`)
	j := strings.LastIndex(string(fReply[:i]), `"h":"`)
	if i < 0 || j < 0 {
		t.Fatalf("no root in %s", fReply)
	}
	return string(fReply[j+5 : j+13])
}

func TestFaultDropTransfers(t *testing.T) {
	clean := megaservertest.Start(t)
	c := login(t, clean, megaservertest.UserV2, megaservertest.PasswordV2)
	data := randBytes(300000)
	f := c.uploadFile(c.root(), data)
	dl := c.downloadURL(f.Handle)
	dir := clean.Dir
	clean.Close()

	ts := megaservertest.Start(t, megaservertest.WithDir(dir), megaservertest.WithFaults("drop=1"))
	dl = ts.URL + dl[strings.Index(dl, "/dl/"):]
	resp, err := http.Get(dl + "/0-299999")
	if err == nil {
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr == nil && len(body) == len(data) {
			t.Errorf("drop=1 download delivered the whole body")
		}
	}
	if n := countFiles(t, filepath.Join(dir, "tmp")); n != 0 {
		t.Errorf("temporary files: %d", n)
	}
}

// TestGoMegaWithFaults: go-mega's retries hide HTTP 500s and -3s on
// commands (it cannot handle -3 on upload URLs, so only 500s there).
func TestGoMegaWithFaults(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithFaults("http500=0.3,seed=11"), megaservertest.WithWaitTimeout(200*time.Millisecond))
	m := mega.New()
	m.SetLogger(nil)
	m.SetAPIUrl(ts.URL)
	if err := m.Login(megaservertest.UserV2, megaservertest.PasswordV2); err != nil {
		t.Fatalf("Login: %v", err)
	}
	dir, err := m.CreateDir("faulty", m.FS.GetRoot())
	if err != nil {
		t.Fatalf("CreateDir: %v", err)
	}
	data := make([]byte, 600000)
	rand.Read(data)
	src := filepath.Join(t.TempDir(), "src")
	os.WriteFile(src, data, 0o600)
	n, err := m.UploadFile(src, dir, "f", nil)
	if err != nil {
		t.Fatalf("UploadFile: %v", err)
	}
	settle(m)
	dst := filepath.Join(t.TempDir(), "dst")
	if err := m.DownloadFile(n, dst, nil); err != nil {
		t.Fatalf("DownloadFile: %v", err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
		t.Errorf("bytes differ")
	}
	children, _ := m.FS.GetChildren(m.FS.GetRoot())
	if len(children) != 1 {
		t.Errorf("%d folders in root after retries, want 1", len(children))
	}
}

func TestParseFaultsEndpoints(t *testing.T) {
	got, err := megaserver.ParseFaults("eagain=0.1,cs.eagain=0.05,ul.http500=0.01,dl.drop=0.02,UL.Slow=0.5,cs.drop=1")
	if err != nil {
		t.Fatal(err)
	}
	want := megaserver.Faults{
		EAgain: 0.1,
		CS:     megaserver.EndpointFaults{EAgain: 0.05, Drop: 1},
		UL:     megaserver.EndpointFaults{HTTP500: 0.01, Slow: 0.5},
		DL:     megaserver.EndpointFaults{Drop: 0.02},
	}
	if got != want {
		t.Errorf("ParseFaults = %+v, want %+v", got, want)
	}
	if again, err := megaserver.ParseFaults(got.String()); err != nil || again != got {
		t.Errorf("String round trip: %q -> %+v, %v", got.String(), again, err)
	}
	for _, tc := range []struct{ spec, mention string }{
		{"sc.eagain=1", `unknown endpoint "sc"`},
		{"api.drop=0.1", `unknown endpoint "api"`},
		{".eagain=1", `unknown endpoint ""`},
		{"cs.logins=5", "only eagain, http500, drop and slow"},
		{"ul.seed=1", "only eagain, http500, drop and slow"},
		{"cs.bogus=1", "only eagain, http500, drop and slow"},
		{"cs.ul.eagain=1", "only eagain, http500, drop and slow"},
		{"dl.eagain=0.1", "dl.eagain"},
		{"cs.eagain=2", "cs.eagain"},
		{"ul.drop=x", "ul.drop"},
	} {
		_, err := megaserver.ParseFaults(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("ParseFaults(%q) = %v, want an error containing %q", tc.spec, err, tc.mention)
		}
	}
	if _, err := megaserver.Open(megaserver.Options{Dir: t.TempDir(), Faults: megaserver.Faults{DL: megaserver.EndpointFaults{EAgain: 1}}}); err == nil {
		t.Errorf("Open with DL.EAgain: no error")
	}
}

// TestFaultsByEndpoint: a prefixed fault hits its endpoint only, an
// unprefixed one every endpoint. Chunk POST errors answer the code in the
// body with HTTP 200 (§5.4).
func TestFaultsByEndpoint(t *testing.T) {
	ts := megaservertest.Start(t)
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	root := c.root()
	data := randBytes(300000)
	stored := c.uploadFile(root, data)
	dl := c.downloadURL(stored.Handle)
	set := func(spec string) {
		t.Helper()
		f, err := megaserver.ParseFaults(spec)
		if err != nil {
			t.Fatal(err)
		}
		megaserver.SetFaults(ts.Server, f)
	}
	csCode := func() string {
		t.Helper()
		_, body := c.post(c.nextID(), `[{"a":"ug"}]`)
		if strings.HasPrefix(string(body), "[{") {
			return "ok"
		}
		return string(body)
	}
	chunk := func(url string, off, end int) (int, string) {
		t.Helper()
		resp, err := http.Post(fmt.Sprintf("%s/%d", url, off), "application/octet-stream", bytes.NewReader(data[off:end]))
		if err != nil {
			t.Fatalf("POST chunk: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	download := func() int {
		t.Helper()
		status, body := get(t, dl, nil)
		if status == http.StatusOK && !bytes.Equal(body, data) {
			t.Fatalf("download: wrong bytes")
		}
		return status
	}

	// cs.eagain: every command request fails; chunks and downloads work.
	url := c.uploadURL(int64(len(data)), 0)
	set("cs.eagain=1")
	if got := csCode(); got != "-3" {
		t.Errorf("cs.eagain=1: /cs answered %s, want -3", got)
	}
	if status, body := chunk(url, 0, 131072); status != 200 || body != "" {
		t.Errorf("cs.eagain=1: first chunk: HTTP %d %q, want 200 and an empty body", status, body)
	}
	status, tok := chunk(url, 131072, len(data))
	if status != 200 || len(tok) != 36 {
		t.Errorf("cs.eagain=1: last chunk: HTTP %d %q, want the completion token", status, tok)
	}
	if got := download(); got != 200 {
		t.Errorf("cs.eagain=1: download HTTP %d", got)
	}
	set("")
	c.putFile(root, tok) // the upload made under cs faults is good

	// ul.eagain: chunk POSTs answer -3 in the body (HTTP 200), store
	// nothing; /cs and downloads work.
	url = c.uploadURL(int64(len(data)), 0)
	set("ul.eagain=1")
	if got := csCode(); got != "ok" {
		t.Errorf("ul.eagain=1: /cs answered %s", got)
	}
	if status, body := chunk(url, 0, 131072); status != 200 || body != "-3" {
		t.Errorf("ul.eagain=1: chunk: HTTP %d %q, want 200 and -3", status, body)
	}
	if got := download(); got != 200 {
		t.Errorf("ul.eagain=1: download HTTP %d", got)
	}
	set("")
	// Nothing was stored: the whole file is still wanted.
	if _, body := chunk(url, 131072, len(data)); body != "" {
		t.Errorf("after ul.eagain: the last chunk alone answered %q", body)
	}

	// dl.http500: only downloads fail.
	set("dl.http500=1")
	if got := download(); got != 500 {
		t.Errorf("dl.http500=1: download HTTP %d, want 500", got)
	}
	if got := csCode(); got != "ok" {
		t.Errorf("dl.http500=1: /cs answered %s", got)
	}
	if status, body := chunk(url, 0, 131072); status != 200 || len(body) != 36 {
		t.Errorf("dl.http500=1: chunk: HTTP %d %q, want the completion token", status, body)
	}

	// Unprefixed keys still hit every endpoint they apply to.
	url = c.uploadURL(int64(len(data)), 0)
	set("eagain=1")
	if got := csCode(); got != "-3" {
		t.Errorf("eagain=1: /cs answered %s, want -3", got)
	}
	if status, body := chunk(url, 0, 131072); status != 200 || body != "-3" {
		t.Errorf("eagain=1: chunk: HTTP %d %q, want 200 and -3", status, body)
	}
	set("http500=1")
	if got := download(); got != 500 {
		t.Errorf("http500=1: download HTTP %d, want 500", got)
	}
	if status, _ := c.post(c.nextID(), `[{"a":"ug"}]`); status != 500 {
		t.Errorf("http500=1: /cs HTTP %d, want 500", status)
	}
	if status, _ := chunk(url, 0, 131072); status != 500 {
		t.Errorf("http500=1: chunk HTTP %d, want 500", status)
	}
	set("")
}
