package megaserver_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"ferry/mega/megaapi"
	"ferry/megaserver"
	"ferry/megaserver/megaservertest"
)

// poll calls /sc and decodes the reply; a bare number is returned as code.
func (c *client) poll(sn string) (rep megaapi.ScReply, code int) {
	c.t.Helper()
	resp, err := http.Post(c.base+"/sc?sn="+sn+"&sid="+c.sid, "application/xml", nil)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if n, ok := asCode(body); ok {
		return rep, n
	}
	if err := json.Unmarshal(body, &rep); err != nil {
		c.t.Fatalf("sc reply %q: %v", body, err)
	}
	return rep, 0
}

func packets(t *testing.T, rep megaapi.ScReply) []megaapi.Packet {
	t.Helper()
	var out []megaapi.Packet
	for _, raw := range rep.Packets {
		var p megaapi.Packet
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatalf("packet %s: %v", raw, err)
		}
		if !strings.HasPrefix(string(raw), `{"a":`) {
			t.Errorf("packet %s does not start with a", raw)
		}
		out = append(out, p)
	}
	return out
}

func TestEvents(t *testing.T) {
	ts := megaservertest.Start(t, megaservertest.WithWaitTimeout(time.Second))
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	tr := c.fetch()
	root, rubbish := tr.byType(megaapi.TypeRoot).Handle, tr.byType(megaapi.TypeRubbish).Handle
	sn := tr.SN

	// Nothing pending: a wait URL, promptly.
	start := time.Now()
	rep, code := c.poll(sn)
	if code != 0 || rep.W == "" || rep.SN != sn || len(rep.Packets) != 0 {
		t.Fatalf("idle sc = %+v, %d", rep, code)
	}
	if time.Since(start) > time.Second {
		t.Errorf("idle sc took %v", time.Since(start))
	}
	// The wait URL times out with 0.
	status, body := get(t, rep.W, nil)
	if status != 200 || string(body) != "0" {
		t.Errorf("wait timeout: HTTP %d %q", status, body)
	}

	// The wait URL returns early when something changes.
	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		resp, err := http.Get(rep.W)
		if err == nil {
			resp.Body.Close()
		}
		done <- time.Since(start)
	}()
	time.Sleep(50 * time.Millisecond)
	var pr megaapi.PutNodesReply
	c.do(map[string]any{"a": "p", "t": root, "i": "tagtagtag1", "n": []any{
		map[string]any{"h": "xxxxxxxx", "t": 1, "a": randB64(16), "k": randB64(16)},
	}}, &pr)
	if d := <-done; d > 800*time.Millisecond {
		t.Errorf("wait URL returned after %v, want early wake-up", d)
	}
	folder := pr.Nodes[0]

	rep, _ = c.poll(sn)
	ps := packets(t, rep)
	if len(ps) != 1 || ps[0].A != "t" || ps[0].T == nil || len(ps[0].T.Nodes) != 1 || ps[0].T.Nodes[0].Handle != folder.Handle ||
		ps[0].I != "tagtagtag1" || ps[0].OU != c.user {
		t.Fatalf("p packets = %+v", ps)
	}
	sn = rep.SN
	if len(sn) != 11 {
		t.Errorf("sn %q", sn)
	}

	// One mutation of each kind, then one poll sees them in order.
	sub := c.mkdir(folder.Handle)
	file := c.uploadFile(sub.Handle, []byte("some bytes"))
	at := randB64(32)
	c.do(map[string]any{"a": "a", "n": file.Handle, "attr": at, "i": "renametag1"}, nil)
	c.do(map[string]any{"a": "m", "n": folder.Handle, "t": rubbish, "i": "movetag123"}, nil)
	var ph string
	c.do(map[string]any{"a": "l", "n": file.Handle}, &ph)
	c.do(map[string]any{"a": "d", "n": folder.Handle}, nil)

	rep, _ = c.poll(sn)
	ps = packets(t, rep)
	var kinds []string
	for _, p := range ps {
		kinds = append(kinds, p.A)
	}
	if got := strings.Join(kinds, ","); got != "t,t,u,d,t,ph,d" {
		t.Fatalf("packet kinds %s, want t,t,u,d,t,ph,d", got)
	}
	if u := ps[2]; u.N != file.Handle || u.At != at || u.TS == 0 || u.U != c.user || u.I != "renametag1" {
		t.Errorf("u packet = %+v", u)
	}
	// move: d with m:1 then t with the whole subtree, parents first
	if d := ps[3]; d.N != folder.Handle || d.M != 1 || d.I != "movetag123" {
		t.Errorf("move d packet = %+v", d)
	}
	if tp := ps[4]; tp.T == nil || len(tp.T.Nodes) != 3 || tp.T.Nodes[0].Handle != folder.Handle || tp.T.Nodes[0].Parent != rubbish ||
		tp.T.Nodes[1].Handle != sub.Handle || tp.T.Nodes[2].Handle != file.Handle {
		t.Errorf("move t packet = %+v", tp)
	}
	if p := ps[5]; p.H != file.Handle || p.PH != ph {
		t.Errorf("ph packet = %+v", p)
	}
	if d := ps[6]; d.N != folder.Handle || d.M != 0 {
		t.Errorf("delete packet = %+v", d)
	}
	// The move's two packets are one journal entry: the d(m:1)+t pair is
	// never split across polls. Check by polling from just before it.
	// (Each mutation is one journal entry; the move is the 4th after sn.)

	// A future sn and garbage answer -6; a bad sid -15.
	if _, code := c.poll("_____________"[:11]); code != -6 {
		t.Errorf("future sn: %d, want -6", code)
	}
	if _, code := c.poll("garbage"); code != -6 {
		t.Errorf("bad sn: %d, want -6", code)
	}
	bad := newClient(t, ts, &megaservertest.Session{SID: strings.Repeat("A", 58)})
	if _, code := bad.poll(sn); code != -15 {
		t.Errorf("bad sid: %d, want -15", code)
	}
	// Up to date: wait URL again.
	rep2, _ := c.poll(rep.SN)
	if rep2.W == "" {
		t.Errorf("up-to-date sc = %+v", rep2)
	}
}

func TestEventsSecondSession(t *testing.T) {
	ts := megaservertest.Start(t)
	a := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	b := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	other := login(t, ts, megaservertest.UserV1, megaservertest.PasswordV1)
	sn := b.fetch().SN
	osn := other.fetch().SN
	a.mkdir(a.root())
	rep, _ := b.poll(sn)
	if ps := packets(t, rep); len(ps) != 1 || ps[0].A != "t" {
		t.Errorf("second session packets = %+v", ps)
	}
	if rep, _ := other.poll(osn); rep.W == "" || len(rep.Packets) != 0 {
		t.Errorf("another user sees packets: %+v", rep)
	}
}

func TestEventsJournalLimit(t *testing.T) {
	ts := megaservertest.Start(t)
	megaserver.SetJournalKeep(ts.Server, 3)
	c := login(t, ts, megaservertest.UserV2, megaservertest.PasswordV2)
	tr := c.fetch()
	root := tr.byType(megaapi.TypeRoot).Handle
	for range 5 {
		c.mkdir(root)
	}
	if _, code := c.poll(tr.SN); code != -6 {
		t.Errorf("poll from before the journal: %d, want -6", code)
	}
	sn := c.fetch().SN
	c.mkdir(root)
	if rep, code := c.poll(sn); code != 0 || len(rep.Packets) != 1 {
		t.Errorf("poll within the journal: %+v %d", rep, code)
	}
}
