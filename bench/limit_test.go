package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"ferry/mega"
	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
	"ferry/megaserver/megaservertest"
)

// rawClient is the limit of BenchmarkTransfer: it moves bytes through the
// server's upload and download endpoints the way ferry's client does (the
// same pieces of whole chunks, requests in flight, memory budget, reader
// and in-order writer, and the very same *http.Client) but with no crypto
// and no verification at all: plaintext goes up without a ?c= checksum and
// comes down without decryption or MACs. ferry's rate as a share of its
// rate is what ferry's encryption and verification cost.
type rawClient struct {
	api  string
	sid  string
	hc   *http.Client
	plan func(size int64) mega.TransferPlan
	seq  atomic.Int64

	pool sync.Pool // *[]byte piece buffers
}

// newRawClient logs in its own session (so its request ids never meet
// ferry's in the server's replay cache) and borrows fc's plan and HTTP
// client.
func newRawClient(tb testing.TB, ts *megaservertest.TestServer, fc *mega.Client) *rawClient {
	s := ts.Login(tb, megaservertest.UserV2, megaservertest.PasswordV2)
	rc := &rawClient{api: ts.URL, sid: s.SID, hc: fc.HTTPClient(), plan: fc.Plan}
	rc.seq.Store(1 << 40)
	return rc
}

func (rc *rawClient) getBuf(n int64) *[]byte {
	if v := rc.pool.Get(); v != nil {
		if b := v.(*[]byte); int64(cap(*b)) >= n {
			*b = (*b)[:n]
			return b
		}
	}
	b := make([]byte, n)
	return &b
}

func (rc *rawClient) putBuf(b *[]byte) { rc.pool.Put(b) }

// call runs one API command and decodes its result into out.
func (rc *rawClient) call(ctx context.Context, cmd, out any) error {
	body, err := json.Marshal([]any{cmd})
	if err != nil {
		return err
	}
	u := rc.api + "/cs?id=" + strconv.FormatInt(rc.seq.Add(1), 10) + "&sid=" + rc.sid
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := rc.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cs: HTTP %s", resp.Status)
	}
	var results []json.RawMessage
	if err := json.Unmarshal(data, &results); err != nil || len(results) != 1 {
		return fmt.Errorf("cs: bad reply %.100q", data)
	}
	var code int
	if json.Unmarshal(results[0], &code) == nil {
		if code < 0 {
			return &megaapi.Error{Code: megaapi.ErrorCode(code)}
		}
		return nil
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(results[0], out)
}

// closeWaiter is an upload body that tells when the HTTP transport has
// closed it (possibly after Do returned), so its buffer can be reused.
type closeWaiter struct {
	*bytes.Reader
	once sync.Once
	done chan struct{}
}

func (r *closeWaiter) Close() error {
	r.once.Do(func() { close(r.done) })
	return nil
}

// upload sends size bytes of src as a new file under parent, as ferry
// does: `u`, one reader filling pieces in order within the memory budget,
// UploadConcurrency POSTs in flight, then `p`. The node's key and
// attributes are random bytes of the right lengths (the server checks only
// those). It returns the new node's handle.
func (rc *rawClient) upload(ctx context.Context, parent string, src io.Reader, size int64) (string, error) {
	var ur megaapi.UploadReply
	if err := rc.call(ctx, megaapi.UploadRequest{A: "u", Size: size, V: 2}, &ur); err != nil {
		return "", fmt.Errorf("u: %w", err)
	}
	plan := rc.plan(size)
	type upPiece struct {
		mega.TransferPiece
		buf    *[]byte
		weight int64
	}
	sem := semaphore.NewWeighted(plan.MemoryBudget)
	g, gctx := errgroup.WithContext(ctx)
	toPost := make(chan *upPiece, plan.UploadConcurrency)
	release := func(p *upPiece) {
		rc.putBuf(p.buf)
		sem.Release(p.weight)
	}
	g.Go(func() error {
		defer close(toPost)
		for _, tp := range plan.Pieces {
			p := &upPiece{TransferPiece: tp, weight: min(tp.Size, plan.MemoryBudget)}
			if err := sem.Acquire(gctx, p.weight); err != nil {
				return err
			}
			p.buf = rc.getBuf(tp.Size)
			if _, err := io.ReadFull(src, *p.buf); err != nil {
				release(p)
				return fmt.Errorf("read source at %d: %w", tp.Offset, err)
			}
			select {
			case toPost <- p:
			case <-gctx.Done():
				release(p)
				return gctx.Err()
			}
		}
		return nil
	})
	var mu sync.Mutex
	var token []byte
	for range plan.UploadConcurrency {
		g.Go(func() error {
			for p := range toPost {
				tok, err := rc.post(gctx, ur.URL+"/"+strconv.FormatInt(p.Offset, 10), *p.buf)
				release(p)
				if err != nil {
					return fmt.Errorf("upload at %d: %w", p.Offset, err)
				}
				if tok != nil {
					mu.Lock()
					token = tok
					mu.Unlock()
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return "", err
	}
	if token == nil {
		return "", errors.New("no completion token")
	}
	attr, key := make([]byte, 16), make([]byte, 32)
	rand.Read(attr)
	rand.Read(key)
	var rep megaapi.PutNodesReply
	req := megaapi.PutNodesRequest{A: "p", Target: parent, Nodes: []megaapi.NewNode{{
		Handle: megacrypto.B64Encode(token), Type: megaapi.TypeFile,
		Attr: megacrypto.B64Encode(attr), Key: megacrypto.B64Encode(key)}}}
	if err := rc.call(ctx, req, &rep); err != nil {
		return "", fmt.Errorf("p: %w", err)
	}
	if len(rep.Nodes) != 1 {
		return "", errors.New("p: no node")
	}
	return rep.Nodes[0].Handle, nil
}

// post sends one piece and returns the completion token if it completed
// the file.
func (rc *rawClient) post(ctx context.Context, u string, body []byte) ([]byte, error) {
	cw := &closeWaiter{Reader: bytes.NewReader(body), done: make(chan struct{})}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, cw)
	if err != nil {
		return nil, err
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := rc.hc.Do(req)
	defer func() { <-cw.done }()
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	if len(reply) == 0 || string(reply) == "0" {
		return nil, nil
	}
	if len(reply) <= 4 && reply[0] == '-' {
		return nil, fmt.Errorf("server error %s", reply)
	}
	return reply, nil
}

// download writes node's stored bytes to w in order, as ferry does: `g`,
// one dispatcher handing pieces in order within the memory budget to
// DownloadConcurrency fetchers (ranged GETs into piece buffers), and one
// writer writing them to w in order. Nothing is decrypted or MACed.
func (rc *rawClient) download(ctx context.Context, node string, w io.Writer) error {
	var gr megaapi.DownloadReply
	if err := rc.call(ctx, megaapi.DownloadRequest{A: "g", G: 1, N: node}, &gr); err != nil {
		return fmt.Errorf("g: %w", err)
	}
	if !strings.HasPrefix(gr.URL, "http") {
		return errors.New("g: no URL")
	}
	if gr.Size == 0 {
		return nil
	}
	plan := rc.plan(gr.Size)
	type dlPiece struct {
		mega.TransferPiece
		buf    *[]byte
		weight int64
		done   chan struct{}
		err    error
	}
	sem := semaphore.NewWeighted(plan.MemoryBudget)
	g, gctx := errgroup.WithContext(ctx)
	work := make(chan *dlPiece)
	order := make(chan *dlPiece, 64)
	g.Go(func() error {
		defer close(work)
		defer close(order)
		for _, tp := range plan.Pieces {
			p := &dlPiece{TransferPiece: tp, weight: min(tp.Size, plan.MemoryBudget), done: make(chan struct{})}
			if err := sem.Acquire(gctx, p.weight); err != nil {
				return err
			}
			select {
			case order <- p:
			case <-gctx.Done():
				sem.Release(p.weight)
				return gctx.Err()
			}
			select {
			case work <- p:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range min(plan.DownloadConcurrency, len(plan.Pieces)) {
		g.Go(func() error {
			for p := range work {
				p.buf = rc.getBuf(p.Size)
				p.err = rc.get(gctx, gr.URL, p.Offset, *p.buf)
				close(p.done)
				if p.err != nil {
					return p.err
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		for p := range order {
			select {
			case <-p.done:
			case <-gctx.Done():
				return gctx.Err()
			}
			if p.err != nil {
				return p.err
			}
			_, err := w.Write(*p.buf)
			rc.putBuf(p.buf)
			sem.Release(p.weight)
			if err != nil {
				return err
			}
		}
		return nil
	})
	return g.Wait()
}

// get reads the bytes [off, off+len(dst)) of the download URL into dst.
func (rc *rawClient) get(ctx context.Context, url string, off int64, dst []byte) error {
	u := url + "/" + strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(off+int64(len(dst))-1, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, http.NoBody)
	if err != nil {
		return err
	}
	resp, err := rc.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("download at %d: HTTP %s", off, resp.Status)
	}
	if _, err := io.ReadFull(resp.Body, dst); err != nil {
		return fmt.Errorf("download at %d: %w", off, err)
	}
	return nil
}

// del deletes a node.
func (rc *rawClient) del(ctx context.Context, node string) error {
	return rc.call(ctx, megaapi.DeleteRequest{A: "d", Node: node}, nil)
}

// TestRawClient round-trips a few sizes (empty, inside the first chunks,
// and across several pieces) through the limit's client, so
// BenchmarkTransfer's limit rows measure a transfer that works.
func TestRawClient(t *testing.T) {
	ctx := t.Context()
	ts := megaservertest.Start(t, megaservertest.WithDir(t.TempDir()))
	fc := mega.New(mega.Options{APIURL: ts.URL})
	if err := fc.Login(ctx, megaservertest.UserV2, megaservertest.PasswordV2, mega.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := fc.FetchTree(ctx); err != nil {
		t.Fatal(err)
	}
	rc := newRawClient(t, ts, fc)
	for _, size := range []int64{0, 1, 128<<10 + 3, 9<<20 + 12345} {
		if n := len(fc.Plan(size).Pieces); size > 4<<20 && n < 2 {
			t.Fatalf("size %d: %d pieces, want several", size, n)
		}
		h, err := rc.upload(ctx, fc.Root().Handle, newStream(dataSeed, size), size)
		if err != nil {
			t.Fatalf("size %d: upload: %v", size, err)
		}
		var got bytes.Buffer
		if err := rc.download(ctx, h, &got); err != nil {
			t.Fatalf("size %d: download: %v", size, err)
		}
		want := make([]byte, size)
		fillAt(want, dataSeed, 0)
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("size %d: got %d different bytes", size, got.Len())
		}
		if err := rc.del(ctx, h); err != nil {
			t.Fatalf("size %d: delete: %v", size, err)
		}
	}
}
