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

	"ferry/internal/backend"
)

// spool copies exactly size bytes of r (checking its end) to memory or a
// temporary file and returns a reader of the copy, its SHA-256 and a
// cleanup function. A file is written by a goroutine of its own while the
// next block is read and hashed (see fileSpooler), so the hash and the
// write overlap on two cores.
func spool(ctx context.Context, r io.Reader, size int64) (io.ReaderAt, string, func(), error) {
	h := sha256.New()
	src := backend.ContextReader(ctx, r)
	if size <= memSpool {
		var buf bytes.Buffer
		buf.Grow(int(size))
		if _, err := backend.CopyExact(io.MultiWriter(&buf, h), src, size); err != nil {
			return nil, "", nil, err
		}
		return bytes.NewReader(buf.Bytes()), hex.EncodeToString(h.Sum(nil)), func() {}, nil
	}
	tmp, err := os.CreateTemp("", "ferry-mediafire-put-*")
	if err != nil {
		return nil, "", nil, fmt.Errorf("temporary file for the upload: %w", err)
	}
	cleanup := func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}
	if _, err := backend.CopyExact(&fileSpooler{f: tmp, h: h}, src, size); err != nil {
		cleanup()
		return nil, "", nil, err
	}
	return tmp, hex.EncodeToString(h.Sum(nil)), cleanup, nil
}

// Spooling blocks: spoolBlock bytes each, spoolBlocks of them in flight.
const (
	spoolBlock  = 1 << 20
	spoolBlocks = 3
)

// fileSpooler is the io.Writer spool copies a large source into. Its
// ReadFrom (which io.Copy prefers) reads the source in blocks, hashes each
// and hands it to a goroutine that writes it to f, so writing block n
// overlaps reading and hashing block n+1; at most spoolBlocks blocks are
// held. Write is there for callers that write (io.Copy never does here).
type fileSpooler struct {
	f *os.File
	h hash.Hash
}

func (s *fileSpooler) Write(p []byte) (int, error) {
	s.h.Write(p)
	return s.f.Write(p)
}

// ReadFrom copies r to its end (an io.EOF of r, and only that, is the
// end). An error of r or of the file is returned, the first one that
// happened; the file is then incomplete.
func (s *fileSpooler) ReadFrom(r io.Reader) (int64, error) {
	free := make(chan []byte, spoolBlocks)
	for range spoolBlocks {
		free <- make([]byte, spoolBlock)
	}
	full := make(chan []byte, spoolBlocks)
	failed := make(chan struct{}) // closed when a write fails
	var werr error                // set before failed is closed
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range full {
			if werr == nil {
				if _, err := s.f.Write(b); err != nil {
					werr = fmt.Errorf("temporary file for the upload: %w", err)
					close(failed)
				}
			}
			free <- b[:cap(b)]
		}
	}()
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
			s.h.Write(b[:k])
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
	<-done
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
