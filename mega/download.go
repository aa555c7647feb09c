package mega

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"ferry/internal/retry"
	"ferry/mega/megaapi"
	"ferry/mega/megacrypto"
)

// File is an open MEGA file: its download URL and key. It implements
// io.ReaderAt; every ReadAt fetches exactly the bytes asked for, so reads
// at any offset are cheap. A File is safe for concurrent use. Partial
// reads cannot be verified against the file's MAC; use Client.Download or
// Client.NewReader to read a whole file verified.
type File struct {
	c    *Client
	node *Node
	size int64
	fk   megacrypto.FileKey
	req  megaapi.DownloadRequest // the `g` that gets a download URL

	mu  sync.Mutex // guards url
	url string
}

// Open prepares n for reading with one `g` command. ctx is used only for
// that command.
func (c *Client) Open(ctx context.Context, n *Node) (*File, error) {
	f, err := c.open(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("open %v: %w", n, err)
	}
	return f, nil
}

func (c *Client) open(ctx context.Context, n *Node) (*File, error) {
	if _, err := c.loggedIn(); err != nil && c.folder == "" {
		return nil, err
	}
	if n == nil {
		return nil, errNilNode
	}
	cur := c.current(n)
	fk, err := cur.fileKey()
	if err != nil {
		return nil, err
	}
	f := &File{c: c, node: cur, fk: fk, req: megaapi.DownloadRequest{A: "g", G: 1, N: cur.Handle, SSL: c.ssl()}}
	if f.size, err = f.refresh(ctx); err != nil {
		if c.folder != "" {
			err = linkError(err)
		}
		return nil, err
	}
	return f, nil
}

// refresh gets a (new) download URL with `g` and returns the size.
func (f *File) refresh(ctx context.Context) (int64, error) {
	rep, err := f.get(ctx)
	return rep.Size, err
}

// get runs f's `g` command, keeps the download URL and returns the reply.
func (f *File) get(ctx context.Context) (megaapi.DownloadReply, error) {
	var rep megaapi.DownloadReply
	if err := f.c.call(ctx, "g", f.req, &rep); err != nil {
		return rep, err
	}
	if rep.E < 0 {
		return rep, apiError("g", megaapi.ErrorCode(rep.E))
	}
	if len(rep.URL) < 4 || rep.URL[:4] != "http" {
		return rep, errors.New("cs g: malformed reply: no download URL")
	}
	if rep.Size < 0 {
		return rep, fmt.Errorf("cs g: malformed reply: size %d", rep.Size)
	}
	f.mu.Lock()
	f.url = rep.URL
	f.mu.Unlock()
	return rep, nil
}

// Size returns the file's size in bytes.
func (f *File) Size() int64 { return f.size }

// Node returns the node the file was opened from.
func (f *File) Node() *Node { return f.node }

// ReadAt implements io.ReaderAt with context.Background(); see
// ReadAtContext.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	return f.ReadAtContext(context.Background(), p, off)
}

// ReadAtContext reads len(p) bytes at off, fetching only that byte range
// and retrying transient failures. Like io.ReaderAt it returns io.EOF with
// fewer bytes when the range passes the end, and 0, io.EOF at or after it.
func (f *File) ReadAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read %v: negative offset %d", f.node, off)
	}
	if off >= f.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := int(min(int64(len(p)), f.size-off))
	if err := f.fetch(ctx, off, p[:n]); err != nil {
		return 0, fmt.Errorf("read %v at %d: %w", f.node, off, err)
	}
	megacrypto.NewCTR(&f.fk, off).XORKeyStream(p[:n], p[:n])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// fetch reads the ciphertext [off, off+len(dst)) into dst, retrying
// transient failures and getting a new URL once if the old one expired.
func (f *File) fetch(ctx context.Context, off int64, dst []byte) error {
	refreshed := false
	return retry.Do(ctx, f.c.retryPolicy("download"), func(ctx context.Context) error {
		err := f.fetchOnce(ctx, off, dst)
		var se *retry.StatusError
		if !refreshed && errors.As(err, &se) && (se.StatusCode == http.StatusNotFound ||
			se.StatusCode == http.StatusForbidden || se.StatusCode == http.StatusGone) {
			refreshed = true
			if _, rerr := f.refresh(ctx); rerr != nil {
				return retry.Permanent(fmt.Errorf("%w (and a new download URL failed: %w)", err, rerr))
			}
			return retry.Transient(err)
		}
		return err
	})
}

func (f *File) fetchOnce(ctx context.Context, off int64, dst []byte) error {
	f.mu.Lock()
	u := f.url + "/" + strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(off+int64(len(dst))-1, 10)
	f.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, http.NoBody)
	if err != nil {
		return retry.Permanent(scrub(err))
	}
	resp, err := f.c.hc.Do(req)
	if err != nil {
		return scrub(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return retry.NewStatusError("download", resp)
	}
	if _, err := io.ReadFull(resp.Body, dst); err != nil {
		return fmt.Errorf("download: %w", truncated(err))
	}
	return nil
}

// Download writes n's whole content to w in order and verifies its MAC.
// Options.DownloadConcurrency ranges of whole chunks are fetched at once,
// decrypted and MACed on every core, within Options.MemoryBudget.
//
// The file's last piece (whole chunks, at most a few MiB) is written only
// after the whole content verified. On a MAC mismatch Download returns an
// error wrapping megacrypto.ErrMAC without writing it: what w received
// is then incomplete and possibly forged, and must be discarded.
func (c *Client) Download(ctx context.Context, n *Node, w io.Writer) error {
	f, err := c.Open(ctx, n)
	if err != nil {
		return err
	}
	return f.Download(ctx, w)
}

// Download writes f's whole content to w and verifies its MAC, with the
// guarantees of Client.Download: the last piece is written only after
// the whole content verified.
func (f *File) Download(ctx context.Context, w io.Writer) error {
	if err := f.download(ctx, w); err != nil {
		return fmt.Errorf("download %v: %w", f.node, err)
	}
	return nil
}

// dlPiece is a piece on its way through the download pipeline.
type dlPiece struct {
	piece
	buf    *[]byte
	weight int64
	done   chan struct{} // closed when buf holds plaintext (or err is set)
	err    error
}

// download runs the pipeline: a dispatcher hands pieces in order to
// DownloadConcurrency fetchers (which also decrypt and MAC), and a writer
// writes them to w in order.
func (f *File) download(ctx context.Context, w io.Writer) error {
	c := f.c
	chunks := megacrypto.Chunks(f.size)
	if len(chunks) == 0 {
		return nil // an empty file has nothing to fetch or verify
	}
	pieces := c.pieces(chunks)
	macs := make([][16]byte, len(chunks))
	sem := semaphore.NewWeighted(c.budget)
	g, gctx := errgroup.WithContext(ctx)
	work := make(chan *dlPiece)
	order := make(chan *dlPiece, 64)
	release := func(p *dlPiece) {
		c.putBuf(p.buf)
		p.buf = nil
		sem.Release(p.weight)
	}

	g.Go(func() error {
		defer close(work)
		defer close(order)
		for i := range pieces {
			p := &dlPiece{piece: pieces[i], weight: min(pieces[i].size, c.budget), done: make(chan struct{})}
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

	// Fetchers only fetch, so DownloadConcurrency GETs stay in flight
	// while openers decrypt and MAC the pieces that arrived, on every core.
	fetchers := min(c.downConc, len(pieces))
	toOpen := make(chan *dlPiece, fetchers)
	var fetching sync.WaitGroup
	for range fetchers {
		fetching.Add(1)
		g.Go(func() error {
			defer fetching.Done()
			for p := range work {
				p.buf = c.getBuf(p.size)
				if p.err = f.fetch(gctx, p.off, *p.buf); p.err != nil {
					close(p.done)
					return p.err
				}
				select {
				case toOpen <- p:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		fetching.Wait()
		close(toOpen)
		return nil
	})
	mm := megacrypto.NewMultiMAC(&f.fk)
	for range min(runtime.GOMAXPROCS(0), len(pieces)) {
		g.Go(func() error {
			for p := range toOpen {
				openPiece(mm, &p.piece, *p.buf, chunks, macs)
				close(p.done)
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
			// The last piece is written only after the whole file
			// verified: pieces complete in order, so every chunk MAC is
			// known by now. A consumer that stops reading at the
			// expected size (io.ReadFull, io.LimitReader, io.CopyN)
			// never gets the final byte of corrupt content, and sees
			// the error instead.
			if p.off+p.size == f.size && megacrypto.MetaMAC(&f.fk, macs) != f.fk.MetaMAC {
				release(p)
				return megacrypto.ErrMAC
			}
			_, err := w.Write(*p.buf)
			release(p)
			if err != nil {
				return err
			}
		}
		return nil
	})
	return g.Wait()
}

// NewReader returns a reader of n's whole content, fetched and verified
// like Download. The reader never delivers the last byte of content that
// does not match its MAC: the Read that would have returned it fails with
// an error wrapping megacrypto.ErrMAC instead, so a consumer reading
// exactly Size bytes (io.ReadFull, io.CopyN, io.LimitReader) sees the
// error too. Errors are sticky. ctx bounds the whole stream. Close stops
// the transfer, waits for its goroutines, and returns the transfer's
// error if it failed on its own (not because of Close).
func (c *Client) NewReader(ctx context.Context, n *Node) (io.ReadCloser, error) {
	f, err := c.Open(ctx, n)
	if err != nil {
		return nil, err
	}
	return f.NewReader(ctx), nil
}

// NewReader returns a reader of f's whole content, fetched and verified
// with the guarantees of Client.NewReader: it never delivers the last
// byte of content that does not match its MAC.
func (f *File) NewReader(ctx context.Context) io.ReadCloser {
	n := f.node
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	r := &reader{pr: pr, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		err := f.download(ctx, pw)
		if err != nil {
			err = fmt.Errorf("download %v: %w", n, err)
			if !r.closing.Load() {
				r.err = err // a failure of its own, not caused by Close
			}
		}
		pw.CloseWithError(err) // nil: the reader sees io.EOF
	}()
	return r
}

// reader is NewReader's io.ReadCloser.
type reader struct {
	pr      *io.PipeReader
	cancel  context.CancelFunc
	done    chan struct{} // closed when the download goroutine ends
	closing atomic.Bool   // set by Close before it stops the download
	err     error         // the download's own failure; read after done
}

func (r *reader) Read(p []byte) (int, error) { return r.pr.Read(p) }

// Close stops the download and waits for it. It returns the download's
// error when the transfer failed by itself (a MAC mismatch, a fetch that
// kept failing), even if no Read saw it.
func (r *reader) Close() error {
	r.closing.Store(true)
	r.cancel()
	r.pr.Close()
	<-r.done
	return r.err
}
