package mediafire

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"

	"ferry/internal/backend"
	mfclient "ferry/mediafire"
	"ferry/mediafire/mfapi"
)

// spooled is a Put's source made ready for the upload: a reader of its
// bytes at any offset, their SHA-256 and, for a resumable upload, the
// units' hashes.
type spooled struct {
	src     io.ReaderAt
	sum     string
	units   *mfclient.UnitHashes // nil: Upload hashes the units
	cleanup func()
}

// spool reads exactly size bytes of r (checking its end) once, hashing
// them whole and, above mfapi.SimpleLimit, in upload units, and returns
// them ready for the upload. A source that can be read again at offsets
// (an io.ReaderAt and io.Seeker at its start, such as an *os.File) is
// used as it is; any other is copied to memory or a temporary file. Above
// memSpool the bytes go in blocks through two more goroutines, one for
// the whole hash and one that writes the copy and hashes the units (see
// blockSpooler), so the reads and the two hashes overlap.
func spool(ctx context.Context, r io.Reader, size int64) (*spooled, error) {
	h := sha256.New()
	src := backend.ContextReader(ctx, r)
	ra, again := rereadable(r)
	if size <= memSpool && !again {
		var buf bytes.Buffer
		buf.Grow(int(size))
		if _, err := backend.CopyExact(io.MultiWriter(&buf, h), src, size); err != nil {
			return nil, err
		}
		return &spooled{src: bytes.NewReader(buf.Bytes()), sum: hex.EncodeToString(h.Sum(nil)), cleanup: func() {}}, nil
	}
	s := &blockSpooler{h: h}
	if size > mfapi.SimpleLimit {
		s.units = mfclient.NewUnitHasher(size)
	}
	out := &spooled{src: ra, cleanup: func() {}}
	if !again {
		tmp, err := os.CreateTemp("", "ferry-mediafire-put-*")
		if err != nil {
			return nil, fmt.Errorf("temporary file for the upload: %w", err)
		}
		s.f, out.src = tmp, tmp
		out.cleanup = func() {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}
	var w io.Writer = s
	if size <= memSpool {
		w = h // small enough to hash in one goroutine
	}
	if _, err := backend.CopyExact(w, src, size); err != nil {
		out.cleanup()
		return nil, err
	}
	out.sum = hex.EncodeToString(h.Sum(nil))
	if s.units != nil {
		out.units = s.units.Hashes()
	}
	return out, nil
}

// rereadable returns r as an io.ReaderAt when its bytes can be read again
// at offsets counted from where r now stands: r is also an io.Seeker,
// standing at offset 0. Put still reads r to its end once (the contract's
// final Read, where a verifying source reports a change), and the upload
// then sends the bytes from the io.ReaderAt; a source that changed
// between the two fails the server's unit hashes, which were taken in the
// first read.
func rereadable(r io.Reader) (io.ReaderAt, bool) {
	ra, ok := r.(io.ReaderAt)
	sk, ok2 := r.(io.Seeker)
	if !ok || !ok2 {
		return nil, false
	}
	if pos, err := sk.Seek(0, io.SeekCurrent); err != nil || pos != 0 {
		return nil, false
	}
	return ra, true
}

// Spooling blocks: spoolBlock bytes each, spoolBlocks of them in flight
// (one for each stage of blockSpooler.ReadFrom and one to spare).
// spoolBlock divides every unit size, so units are cut at block bounds.
const (
	spoolBlock  = 1 << 20
	spoolBlocks = 4
)

// blockSpooler is the io.Writer spool copies a large source into. Its
// ReadFrom (which io.Copy prefers) reads the source in blocks and passes
// each down a pipeline of two goroutines: one hashes it whole, the next
// writes it to f (when set) and feeds it to the unit hasher (when set).
// Reading block n+2, hashing block n+1 and the unit hash of block n
// overlap, so the read, which costs about half a hash, is off the path of
// the whole-file hash, the one that cannot be split; at most spoolBlocks
// blocks are held. Write is there for callers that write (io.Copy never
// does here).
type blockSpooler struct {
	f     *os.File // nil: no copy
	h     hash.Hash
	units *mfclient.UnitHasher // nil: no unit hashes
}

func (s *blockSpooler) Write(p []byte) (int, error) {
	s.h.Write(p)
	if s.units != nil {
		s.units.Write(p)
	}
	if s.f == nil {
		return len(p), nil
	}
	return s.f.Write(p)
}

// ReadFrom copies r to its end (an io.EOF of r, and only that, is the
// end). An error of r or of the file is returned, the first one that
// happened; the file is then incomplete.
func (s *blockSpooler) ReadFrom(r io.Reader) (int64, error) {
	// A block goes free -> (read) -> full -> (hash) -> hashed -> (write,
	// unit hash) -> free; each channel holds every block, so no send
	// blocks.
	free := make(chan []byte, spoolBlocks)
	for range spoolBlocks {
		free <- make([]byte, spoolBlock)
	}
	full := make(chan []byte, spoolBlocks)
	hashed := make(chan []byte, spoolBlocks)
	failed := make(chan struct{}) // closed when a write fails
	var werr error                // set before failed is closed
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(hashed)
		for b := range full {
			s.h.Write(b)
			hashed <- b
		}
	})
	wg.Go(func() {
		for b := range hashed {
			if werr == nil && s.f != nil {
				if _, err := s.f.Write(b); err != nil {
					werr = fmt.Errorf("temporary file for the upload: %w", err)
					close(failed)
				}
			}
			if werr == nil && s.units != nil {
				s.units.Write(b)
			}
			free <- b[:cap(b)]
		}
	})
	var (
		n    int64
		rerr error
	)
read:
	for {
		var b []byte
		select {
		case b = <-free:
		case <-failed:
			break read
		}
		k, err := fill(r, b)
		if k > 0 {
			n += int64(k)
			full <- b[:k]
		} else {
			free <- b
		}
		if err != nil {
			if err != io.EOF {
				rerr = err
			}
			break
		}
	}
	close(full)
	wg.Wait()
	if rerr == nil {
		rerr = werr
	}
	return n, rerr
}

// fill reads from r until b is full or r fails; io.EOF (compared exactly,
// so a wrapped or unexpected EOF stays an error) is returned as is.
func fill(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := r.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
