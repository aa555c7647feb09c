package mediafire

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"ferry/internal/backend"
	mfclient "ferry/mediafire"
	"ferry/mediafireserver/mediafireservertest"
)

// watch127 is an http.RoundTripper that counts replies with error 127
// reaching the client.
type watch127 struct {
	next http.RoundTripper
	n    atomic.Int64
}

var code127 = regexp.MustCompile(`"error"\s*:\s*"?127\b`)

func (w *watch127) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(r)
	if err != nil || resp.Header.Get("Content-Type") != "application/json" {
		return resp, err
	}
	b, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if code127.Match(b) {
		w.n.Add(1)
	}
	if rerr != nil {
		return nil, rerr
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// TestMixedOperationsUnderFaults runs 200 random puts (small and
// resumable), overwrites, reads, moves and removes through the backend
// with every kind of fault on, and checks every byte against a model,
// and that no reply ever said 127 (the key never went out of step).
func TestMixedOperationsUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	ts := mediafireservertest.Start(t, mediafireservertest.WithFaults(faultSpec))
	w := &watch127{}
	b := newBackendAt(t, ts, "mixed", func(o *mfclient.Options) {
		next := o.HTTPClient.Transport
		if next == nil {
			next = http.DefaultTransport
		}
		w.next = next
		o.HTTPClient = &http.Client{Transport: w}
	})
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	model := map[string][]byte{}
	names := func() []string {
		var out []string
		for k := range model {
			out = append(out, k)
		}
		return out
	}
	pick := func() string {
		ns := names()
		if len(ns) == 0 {
			return ""
		}
		slices.Sort(ns) // map order is random; sort for a repeatable pick
		return ns[rng.IntN(len(ns))]
	}
	content := func() []byte {
		n := rng.IntN(64 << 10)
		if rng.IntN(20) == 0 {
			n = 4<<20 + rng.IntN(3<<20) // resumable units of 1 MiB
		}
		d := make([]byte, n)
		for i := range d {
			d[i] = byte(rng.Uint32())
		}
		return d
	}
	mt := time.Unix(1700000000, 0)
	for op := range 200 {
		switch k := rng.IntN(10); {
		case k < 4 || len(model) == 0: // put (new or overwrite)
			p := fmt.Sprintf("d%d/f%d", rng.IntN(3), rng.IntN(25))
			if _, isDir := model[p+"/"]; isDir {
				continue
			}
			d := content()
			if _, err := b.Put(ctx, p, bytes.NewReader(d), int64(len(d)), mt); err != nil {
				t.Fatalf("op %d: Put(%s): %v", op, p, err)
			}
			model[p] = d
		case k < 7: // read
			p := pick()
			rc, err := b.Open(ctx, p, 0, -1)
			if err != nil {
				t.Fatalf("op %d: Open(%s): %v", op, p, err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("op %d: read %s: %v", op, p, err)
			}
			if !bytes.Equal(got, model[p]) {
				t.Fatalf("op %d: %s: %d bytes differ from the %d put", op, p, len(got), len(model[p]))
			}
		case k < 9: // move
			src := pick()
			dst := fmt.Sprintf("d%d/m%d", rng.IntN(3), rng.IntN(25))
			if src == dst {
				continue
			}
			if _, err := b.Move(ctx, src, dst); err != nil {
				t.Fatalf("op %d: Move(%s, %s): %v", op, src, dst, err)
			}
			model[dst] = model[src]
			delete(model, src)
		default: // remove
			p := pick()
			if err := b.Remove(ctx, p); err != nil {
				t.Fatalf("op %d: Remove(%s): %v", op, p, err)
			}
			delete(model, p)
		}
	}
	// The final state, listed and read back.
	for d := range 3 {
		dir := fmt.Sprintf("d%d", d)
		es, err := b.List(ctx, dir)
		if err != nil {
			continue // a directory the run never made
		}
		seen := map[string]bool{}
		for _, e := range es {
			if seen[e.Path] {
				t.Errorf("%s listed twice", e.Path)
			}
			seen[e.Path] = true
			want, ok := model[e.Path]
			if !ok {
				t.Errorf("%s is listed but was removed or moved", e.Path)
				continue
			}
			got := readBackendFile(t, b, e.Path)
			if !bytes.Equal(got, want) {
				t.Errorf("%s: content differs", e.Path)
			}
		}
		for p := range model {
			if backend.Dir(p) == dir && !seen[p] {
				t.Errorf("%s is missing", p)
			}
		}
	}
	if n := w.n.Load(); n != 0 {
		t.Errorf("%d replies said 127", n)
	}
	t.Logf("fault hits: %v; %d files at the end", ts.Server.FaultHits(), len(model))
}

func readBackendFile(t *testing.T, b backend.Backend, p string) []byte {
	t.Helper()
	rc, err := b.Open(t.Context(), p, 0, -1)
	if err != nil {
		t.Fatalf("Open(%s): %v", p, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return got
}
