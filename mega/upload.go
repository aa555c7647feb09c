package mega

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"ferry/internal/retry"
	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// maxUploadRestarts bounds how often a lost upload slot is restarted.
const maxUploadRestarts = 3

// errSlotLost marks upload URL failures that need a new upload (`u`).
var errSlotLost = errors.New("upload slot lost")

// Upload streams size bytes from r into a new file node called name in
// parent and returns the node. mtime goes into the fingerprint attribute
// `c` (zero means now).
//
// The content is encrypted with a fresh random key as it streams: one
// goroutine reads r in order into pooled buffers (at most
// Options.MemoryBudget bytes in flight), GOMAXPROCS workers MAC and
// encrypt them, and Options.UploadConcurrency POSTs of several whole
// chunks each are in flight. Each POST is retried with backoff on
// transient failures. If the server drops the upload slot, Upload starts
// again from scratch when r is an io.Seeker (rewound to where it was) or an
// io.ReaderAt (read from offset 0); otherwise it fails with ErrUploadLost.
//
// r must yield exactly size bytes. If ctx ends, Upload stops and no node is
// created; it returns once its goroutines have stopped, which includes
// waiting for a Read of r in progress to return.
func (c *Client) Upload(ctx context.Context, parent *Node, name string, r io.Reader, size int64, mtime time.Time) (*Node, error) {
	n, err := c.upload(ctx, parent, name, r, size, mtime)
	if err != nil {
		return nil, fmt.Errorf("upload %q: %w", name, err)
	}
	return n, nil
}

func (c *Client) upload(ctx context.Context, parent *Node, name string, r io.Reader, size int64, mtime time.Time) (*Node, error) {
	st, err := c.loggedIn()
	if err != nil {
		return nil, err
	}
	switch {
	case !parent.IsDir():
		return nil, fmt.Errorf("parent %v is not a folder", parent)
	case name == "":
		return nil, errors.New("empty name")
	case size < 0:
		return nil, fmt.Errorf("negative size %d", size)
	}
	if mtime.IsZero() {
		mtime = time.Now()
	}
	rewind := rewinder(r, size)
	for attempt := 0; ; attempt++ {
		src := r
		if attempt > 0 {
			if src, err = rewind(); err != nil {
				return nil, fmt.Errorf("restart after a lost upload slot: %w", err)
			}
		}
		n, err := c.uploadOnce(ctx, st, parent, name, src, size, mtime)
		if err == nil {
			return n, nil
		}
		if !errors.Is(err, errSlotLost) {
			return nil, err
		}
		if rewind == nil || attempt+1 >= maxUploadRestarts {
			return nil, fmt.Errorf("%w: %w", ErrUploadLost, err)
		}
		c.log.Info("upload slot lost; restarting the upload", logKeyErr, err)
	}
}

// rewinder returns a function that restarts reading r from its current
// start, or nil if r cannot be re-read.
func rewinder(r io.Reader, size int64) func() (io.Reader, error) {
	if s, ok := r.(io.Seeker); ok {
		if pos, err := s.Seek(0, io.SeekCurrent); err == nil {
			return func() (io.Reader, error) {
				_, err := s.Seek(pos, io.SeekStart)
				return r, err
			}
		}
	}
	if ra, ok := r.(io.ReaderAt); ok {
		return func() (io.Reader, error) { return io.NewSectionReader(ra, 0, size), nil }
	}
	return nil
}

// UploadFile uploads the local file at path as name in parent, keeping its
// mtime.
func (c *Client) UploadFile(ctx context.Context, parent *Node, name, path string) (*Node, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("upload %q: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("upload %q: %w", name, err)
	}
	return c.Upload(ctx, parent, name, f, fi.Size(), fi.ModTime())
}

// upPiece is a piece on its way through the upload pipeline.
type upPiece struct {
	piece
	buf    *[]byte
	weight int64 // bytes held in the memory budget
	sum    [12]byte
}

// uploadOnce runs one upload from `u` to `p`.
func (c *Client) uploadOnce(ctx context.Context, st state, parent *Node, name string, r io.Reader, size int64, mtime time.Time) (*Node, error) {
	fk, err := megacrypto.NewFileKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	f := &upFile{st: st, parent: parent, name: name, mtime: mtime, fk: fk, chunks: megacrypto.Chunks(size),
		fp: megacrypto.NewFingerprinter(size)}
	f.macs = make([][16]byte, len(f.chunks))
	if pieces := c.pieces(f.chunks); len(pieces) == 1 {
		return c.uploadOne(ctx, f, r, size, pieces[0])
	}
	url, err := c.uploadURL(ctx, size)
	if err != nil {
		return nil, err
	}
	token, err := c.sendData(ctx, url, &f.fk, r, size, f.chunks, f.macs, f.fp)
	if err != nil {
		return nil, err
	}
	req, err := c.putFileRequest(f)
	if err != nil {
		return nil, err
	}
	return c.putFile(ctx, f, req, token)
}

// upFile is what an upload needs to name its file with `p` once its data
// is sealed: the file key, the chunk MACs and the fingerprint.
type upFile struct {
	st     state
	parent *Node
	name   string
	mtime  time.Time
	fk     megacrypto.FileKey
	chunks []megacrypto.Chunk
	macs   [][16]byte
	fp     *megacrypto.Fingerprinter
}

// uploadURL asks for an upload slot of size bytes (`u`) and returns its URL.
func (c *Client) uploadURL(ctx context.Context, size int64) (string, error) {
	var ur megaapi.UploadReply
	if err := c.call(ctx, "u", megaapi.UploadRequest{A: "u", Size: size, V: 2, SSL: c.ssl()}, &ur); err != nil {
		if errors.Is(err, megaapi.ETOOMANY) {
			// ferry's server (megaserver.DefaultLimits.UploadIdleTTL) drops
			// idle slots after 10 minutes and answers -6 only when every
			// slot is receiving data.
			return "", fmt.Errorf("the server has too many unfinished uploads for this account (-6 ETOOMANY); "+
				"they expire after 10 minutes without data (on a ferry server), try again later: %w", err)
		}
		return "", err
	}
	if !strings.HasPrefix(ur.URL, "http") {
		return "", errors.New("cs u: malformed reply: no upload URL")
	}
	return ur.URL, nil
}

// putFileRequest is the `p` of f, all but the completion token, which
// putFile sets: it needs the MACs of every chunk.
func (c *Client) putFileRequest(f *upFile) (*megaapi.PutNodesRequest, error) {
	f.fk.MetaMAC = megacrypto.MetaMAC(&f.fk, f.macs)
	a, err := megacrypto.EncryptAttrs(f.fk.Key[:], megacrypto.Attrs{Name: f.name, Fingerprint: f.fp.Sum(f.mtime.Unix())})
	if err != nil {
		return nil, err
	}
	k, err := wrapKey(f.st.mk, f.fk.Pack())
	if err != nil {
		return nil, err
	}
	return &megaapi.PutNodesRequest{A: "p", Target: f.parent.Handle, I: c.tag, Nodes: []megaapi.NewNode{{
		Type: megaapi.TypeFile, Attr: a, Key: k}}}, nil
}

// putFile creates the file node of req (from putFileRequest for f) with
// the completion token of its upload.
func (c *Client) putFile(ctx context.Context, f *upFile, req *megaapi.PutNodesRequest, token []byte) (*Node, error) {
	h := megacrypto.B64Encode(token)
	req.Nodes[0].Handle = h
	var err error
	if req.CR, err = c.shareCR(f.parent.Handle, []string{h}, [][]byte{f.fk.Pack()}); err != nil {
		return nil, err
	}
	var rep megaapi.PutNodesReply
	if err := c.call(ctx, "p", req, &rep); err != nil {
		return nil, err
	}
	if len(rep.Nodes) == 0 {
		return nil, errors.New("cs p: malformed reply: no node")
	}
	return c.insertNodes(f.st, rep.Nodes)[0], nil
}

// sendData runs the upload pipeline and returns the completion token.
func (c *Client) sendData(ctx context.Context, url string, fk *megacrypto.FileKey, r io.Reader, size int64,
	chunks []megacrypto.Chunk, macs [][16]byte, fp *megacrypto.Fingerprinter) ([]byte, error) {
	pieces := c.pieces(chunks)
	workers := runtime.GOMAXPROCS(0)
	sem := semaphore.NewWeighted(c.budget)
	g, gctx := errgroup.WithContext(ctx)
	toSeal := make(chan *upPiece, workers)
	toPost := make(chan *upPiece, c.upConc)
	release := func(p *upPiece) {
		c.putBuf(p.buf)
		sem.Release(p.weight)
	}

	// Reader: the source in order, into budgeted buffers.
	g.Go(func() error {
		defer close(toSeal)
		for i := range pieces {
			p := &upPiece{piece: pieces[i], weight: min(pieces[i].size, c.budget)}
			if err := sem.Acquire(gctx, p.weight); err != nil {
				return err
			}
			p.buf = c.getBuf(p.size)
			if err := readPiece(r, p, size, fp); err != nil {
				release(p)
				return err
			}
			select {
			case toSeal <- p:
			case <-gctx.Done():
				release(p)
				return gctx.Err()
			}
		}
		return readEnd(r, size)
	})

	// Sealers: MAC and encrypt on every core.
	var sealers sync.WaitGroup
	mm := megacrypto.NewMultiMAC(fk)
	for range workers {
		sealers.Add(1)
		g.Go(func() error {
			defer sealers.Done()
			for p := range toSeal {
				p.sum = sealPiece(mm, &p.piece, *p.buf, chunks, macs)
				select {
				case toPost <- p:
				case <-gctx.Done():
					release(p)
					return gctx.Err()
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		sealers.Wait()
		close(toPost)
		return nil
	})

	// Posters: UploadConcurrency POSTs in flight.
	var mu sync.Mutex
	var token []byte
	for range c.upConc {
		g.Go(func() error {
			for p := range toPost {
				tok, err := c.postPiece(gctx, url, p)
				release(p)
				if err != nil {
					return err
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
		if ctx.Err() != nil {
			return nil, ctx.Err() // the cause, rather than what it broke
		}
		return nil, err
	}
	if token == nil {
		return nil, errors.New("the server sent no completion token")
	}
	return token, nil
}

// uploadOne is uploadOnce for a file of one piece, most small files.
// The client's work runs while `u` is on its way: another goroutine
// reads and seals the piece and makes the `p` request (its attributes and
// key encrypted), so only the three round trips are left in turn. The
// caller's goroutine sends `u` itself: a goroutine started for it would
// wait for this one to block, or for another thread to wake up, before
// the request left. The pipeline's goroutines and channel hand-offs would
// cost such a file more than its crypto does, and a program writing
// small files one after the other through a mount waits for each.
func (c *Client) uploadOne(ctx context.Context, f *upFile, r io.Reader, size int64, p piece) (*Node, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type sealed struct {
		req *megaapi.PutNodesRequest
		err error
	}
	up := &upPiece{piece: p, buf: c.getBuf(p.size)}
	defer c.putBuf(up.buf) // postPiece returns once the transport is done with it
	sealc := make(chan sealed, 1)
	go func() {
		req, err := c.sealOne(f, r, size, up)
		if err != nil {
			cancel() // no use for the slot
		}
		sealc <- sealed{req, err}
	}()
	url, uerr := c.uploadURL(ctx, size)
	sd := <-sealc
	switch {
	case sd.err != nil:
		return nil, sd.err
	case uerr != nil:
		return nil, uerr
	}
	token, err := c.postPiece(ctx, url, up)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return nil, err
	case token == nil:
		return nil, errors.New("the server sent no completion token")
	}
	return c.putFile(ctx, f, sd.req, token)
}

// sealOne reads the only piece of f, p, from r, seals it and returns the
// `p` request of f.
func (c *Client) sealOne(f *upFile, r io.Reader, size int64, p *upPiece) (*megaapi.PutNodesRequest, error) {
	if err := readPiece(r, p, size, f.fp); err != nil {
		return nil, err
	}
	if err := readEnd(r, size); err != nil {
		return nil, err
	}
	p.sum = sealPiece(megacrypto.NewMultiMAC(&f.fk), &p.piece, *p.buf, f.chunks, f.macs)
	return c.putFileRequest(f)
}

// readPiece fills p's buffer from r, the source of a size-byte file, and
// feeds it to the fingerprint.
func readPiece(r io.Reader, p *upPiece, size int64, fp *megacrypto.Fingerprinter) error {
	if n, err := io.ReadFull(r, *p.buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("source ended after %d of %d bytes: %w", p.off+int64(n), size, io.ErrUnexpectedEOF)
		}
		return fmt.Errorf("read source at %d: %w", p.off+int64(n), err)
	}
	fp.Write(*p.buf)
	return nil
}

// readEnd checks that r, the source of a size-byte file read whole, ends
// here, and says so without an error: a reader that verifies its content
// (or notices the file changed) reports a failure on this final Read.
func readEnd(r io.Reader, size int64) error {
	var one [1]byte
	switch n, err := io.ReadFull(r, one[:]); {
	case n > 0:
		return fmt.Errorf("source has more than the %d bytes announced", size)
	case err != io.EOF:
		return fmt.Errorf("read source at its end (%d bytes): %w", size, err)
	}
	return nil
}

// postPiece POSTs one piece's ciphertext, retrying transient failures,
// and returns the completion token if this POST completed the file.
func (c *Client) postPiece(ctx context.Context, base string, p *upPiece) ([]byte, error) {
	u := base + "/" + strconv.FormatInt(p.off, 10) + "?c=" + megacrypto.B64Encode(p.sum[:])
	body := *p.buf
	var token []byte
	err := retry.Do(ctx, c.retryPolicy("upload"), func(ctx context.Context) error {
		rb := newDoneReader(body)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, rb)
		if err != nil {
			return retry.Permanent(fmt.Errorf("upload at %d: %w", p.off, scrub(err)))
		}
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := c.hc.Do(req)
		// The transport may still be reading the body after Do returns
		// (a reply before the whole body was sent); the buffer goes back
		// to the pool only once it has closed it.
		defer rb.wait()
		if err != nil {
			return fmt.Errorf("upload at %d: %w", p.off, scrub(err))
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return retry.NewStatusError("upload at "+strconv.FormatInt(p.off, 10), resp)
		}
		reply, err := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		if err != nil {
			return fmt.Errorf("upload at %d: read reply: %w", p.off, truncated(err))
		}
		token, err = parseUploadReply(reply)
		if err != nil {
			return fmt.Errorf("upload at %d: %w", p.off, err)
		}
		return nil
	})
	return token, err
}

// doneReader is a request body that tells when the HTTP transport has
// closed it, which it always does, sometimes after Do has returned.
type doneReader struct {
	*bytes.Reader
	once sync.Once
	done chan struct{}
}

func newDoneReader(b []byte) *doneReader {
	return &doneReader{Reader: bytes.NewReader(b), done: make(chan struct{})}
}

// Close marks the body as finished.
func (r *doneReader) Close() error {
	r.once.Do(func() { close(r.done) })
	return nil
}

// wait blocks until the transport has closed the body.
func (r *doneReader) wait() { <-r.done }

// parseUploadReply interprets an upload POST's body: empty (or "0") for an
// accepted piece, a negative number for an error, else the completion token.
func parseUploadReply(b []byte) ([]byte, error) {
	if len(b) == 0 || string(b) == "0" {
		return nil, nil
	}
	if len(b) <= 4 && b[0] == '-' {
		n, err := strconv.Atoi(string(b))
		if err == nil {
			code := megaapi.ErrorCode(n)
			e := &megaapi.Error{Code: code, Cmd: "upload"}
			switch code {
			case megaapi.EAGAIN:
				return nil, e
			case megaapi.EKEY:
				// The checksum did not match: the body was damaged on the way.
				return nil, retry.Transient(e)
			case megaapi.ERATELIMIT, megaapi.EFAILED, megaapi.ETOOMANY, megaapi.EEXPIRED, megaapi.ENOENT:
				return nil, retry.Permanent(fmt.Errorf("%w: %w", errSlotLost, e))
			}
			return nil, retry.Permanent(e)
		}
	}
	return bytes.Clone(b), nil
}

// ssl is the `ssl` argument of `u` and `g`: ask for https transfer URLs
// when the API itself is https.
func (c *Client) ssl() int {
	if strings.HasPrefix(c.api, "https:") {
		return 2
	}
	return 0
}
