package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/internal/retry"
	"ferry/mega"
	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// clientOptions are ferry client options for tests against apiURL: warnings
// to the test log and quick retries (a server with faults needs many).
func clientOptions(t testing.TB, apiURL string) mega.Options {
	return mega.Options{
		APIURL: apiURL,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		Retry:  retry.Policy{Base: 5 * time.Millisecond, Cap: 200 * time.Millisecond, MaxAttempts: 25},
	}
}

// newFerry returns a ferry client logged in to apiURL with its tree fetched.
func newFerry(t testing.TB, opts mega.Options, email, password string) *mega.Client {
	t.Helper()
	c := mega.New(opts)
	if err := c.Login(t.Context(), email, password, mega.LoginOptions{}); err != nil {
		t.Fatalf("ferry Login(%s): %v", email, err)
	}
	if err := c.FetchTree(t.Context()); err != nil {
		t.Fatalf("ferry FetchTree: %v", err)
	}
	return c
}

// pollTimeout bounds one Poll: it only fetches and applies what is pending.
const pollTimeout = 8 * time.Second

// poll applies the action packets pending for c. A Poll that does not
// return within pollTimeout panics, ending the test binary with every
// goroutine's stack: a Poll spinning under the tree lock (the bug
// TestPollAfterOwnMoves pins) would otherwise eat memory until the test
// times out.
func poll(t testing.TB, c *mega.Client) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := c.Poll(t.Context())
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ferry Poll: %v", err)
		}
	case <-time.After(pollTimeout):
		panic(fmt.Sprintf("%s: ferry Poll did not return within %v", t.Name(), pollTimeout))
	}
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pattern returns n deterministic pseudo-random bytes for seed.
func pattern(seed uint64, n int) []byte {
	b := make([]byte, n)
	newPRNG(seed, int64(n)).Read(b)
	return b
}

// prng is an io.Reader of n deterministic pseudo-random bytes that holds
// none of them: a streamed upload source.
type prng struct {
	r *rand.ChaCha8
	n int64
}

func newPRNG(seed uint64, n int64) *prng {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return &prng{r: rand.NewChaCha8(s), n: n}
}

func (p *prng) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n)]
	p.r.Read(b)
	p.n -= int64(len(b))
	return len(b), nil
}

// sumOf is the SHA-256 of what r yields.
func sumOf(r io.Reader) [32]byte {
	h := sha256.New()
	io.Copy(h, r)
	return [32]byte(h.Sum(nil))
}

// ferryDownload downloads n with ferry's client, which verifies the MAC,
// and returns the SHA-256 of the content.
func ferryDownload(t testing.TB, c *mega.Client, n *mega.Node) [32]byte {
	t.Helper()
	h := sha256.New()
	if err := c.Download(t.Context(), n, h); err != nil {
		t.Fatalf("ferry Download(%v): %v", n, err)
	}
	return [32]byte(h.Sum(nil))
}

// entry is a node as the tests compare it across clients and models.
type entry struct {
	Parent string
	Name   string
	Dir    bool
	Size   int64
}

// ferryTree returns every node under c's Cloud Drive and Rubbish Bin by
// handle (the roots themselves excluded).
func ferryTree(t testing.TB, c *mega.Client) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	var walk func(n *mega.Node)
	walk = func(n *mega.Node) {
		for _, k := range c.Children(n) {
			if k.Err != nil {
				t.Errorf("ferry: node %s: %v", k.Handle, k.Err)
			}
			out[k.Handle] = entry{Parent: n.Handle, Name: k.Name, Dir: k.IsDir(), Size: k.Size}
			walk(k)
		}
	}
	walk(c.Root())
	walk(c.Rubbish())
	return out
}

// diffTrees describes the differences between got and want ("" if none).
func diffTrees(got, want map[string]entry) string {
	var lines []string
	for h, w := range want {
		g, ok := got[h]
		switch {
		case !ok:
			lines = append(lines, fmt.Sprintf("missing %s %+v", h, w))
		case g != w:
			lines = append(lines, fmt.Sprintf("%s: got %+v, want %+v", h, g, w))
		}
	}
	for h, g := range got {
		if _, ok := want[h]; !ok {
			lines = append(lines, fmt.Sprintf("extra %s %+v", h, g))
		}
	}
	slices.Sort(lines)
	if len(lines) > 20 {
		lines = append(lines[:20], fmt.Sprintf("... and %d more", len(lines)-20))
	}
	return strings.Join(lines, "\n")
}

// Public links: ferry writes https://mega.nz/file/<ph>#<key>, go-mega
// https://mega.co.nz/#!<ph>!<key>.
var (
	newLinkRE    = regexp.MustCompile(`^https://mega\.nz/(file|folder)/([A-Za-z0-9_-]{8})#([A-Za-z0-9_-]+)$`)
	legacyLinkRE = regexp.MustCompile(`^https://mega\.co\.nz/#(F?)!([A-Za-z0-9_-]{8})!([A-Za-z0-9_-]+)$`)
)

// parseLink returns a public link's handle and key.
func parseLink(t testing.TB, link string) (ph string, key []byte) {
	t.Helper()
	var m []string
	if m = newLinkRE.FindStringSubmatch(link); m == nil {
		m = legacyLinkRE.FindStringSubmatch(link)
	}
	if m == nil {
		t.Fatalf("unrecognized public link %q", link)
	}
	key, err := megacrypto.B64Decode(m[3])
	if err != nil {
		t.Fatalf("public link %q: key: %v", link, err)
	}
	return m[2], key
}

// publicFetch opens a public file link as a stranger would, with no
// session: `g` with the public handle, the attributes decrypted with the
// key from the link, the content fetched, decrypted and MAC-verified with
// ferry's megacrypto. It returns the name and the content.
func publicFetch(t testing.TB, apiURL, ph string, nodeKey []byte) (string, []byte) {
	t.Helper()
	ctx := t.Context()
	fk, err := megacrypto.UnpackFileKey(nodeKey)
	if err != nil {
		t.Fatalf("public link key: %v", err)
	}
	var rep megaapi.DownloadReply
	if err := rawCommand(ctx, apiURL, megaapi.DownloadRequest{A: "g", G: 1, P: ph}, &rep); err != nil {
		t.Fatalf("g p=%s: %v", ph, err)
	}
	attrs, err := megacrypto.DecryptAttrs(fk.Key[:], rep.Attr)
	if err != nil {
		t.Fatalf("public link attributes do not decrypt with the link's key: %v", err)
	}
	var data []byte
	if rep.Size > 0 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/0-%d", rep.URL, rep.Size-1), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("public download: %v", err)
		}
		data, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || int64(len(data)) != rep.Size {
			t.Fatalf("public download: %s, %d of %d bytes, %v", resp.Status, len(data), rep.Size, err)
		}
	}
	megacrypto.NewCTR(&fk, 0).XORKeyStream(data, data)
	chunks := megacrypto.Chunks(int64(len(data)))
	macs := make([][16]byte, len(chunks))
	mac := megacrypto.NewChunkMAC(&fk)
	for i, ch := range chunks {
		mac.Reset()
		mac.Write(data[ch.Offset : ch.Offset+ch.Size])
		macs[i] = mac.Sum()
	}
	if len(chunks) > 0 && megacrypto.MetaMAC(&fk, macs) != fk.MetaMAC {
		t.Fatalf("public download of %s: %v", ph, megacrypto.ErrMAC)
	}
	return attrs.Name, data
}

// rawCommand posts one command without a session and decodes its result.
func rawCommand(ctx context.Context, apiURL string, cmd, out any) error {
	body, err := json.Marshal([]any{cmd})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, apiURL+"/cs?id="+fmt.Sprint(time.Now().UnixNano()), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var results []json.RawMessage
	if err := json.Unmarshal(data, &results); err != nil || len(results) != 1 {
		return fmt.Errorf("reply %q", data)
	}
	var code int
	if json.Unmarshal(results[0], &code) == nil {
		return &megaapi.Error{Code: megaapi.ErrorCode(code)}
	}
	return json.Unmarshal(results[0], out)
}
