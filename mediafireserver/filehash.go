package mediafireserver

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"sync"
)

// fileHasher is the running SHA-256 of a resumable upload's data file
// over its first units, those the bitmap has in order from unit 0. Each
// unit request that lands advances it over what is then in order, so when
// the last unit arrives the file's hash is (nearly) done, instead of the
// whole file being read back and hashed then, while the client waits.
// A unit the bitmap has is never written again (writeUnit), so what was
// hashed stays what is in the file. The hasher lives in memory only: a
// server that restarts hashes from unit 0 again.
type fileHasher struct {
	mu   sync.Mutex
	h    hash.Hash // +checklocks:mu
	next int       // units hashed; +checklocks:mu
}

// hasher returns the running hash of upload key.
func (s *Server) hasher(key string) *fileHasher {
	v, ok := s.fileHashes.Load(key)
	if !ok {
		v, _ = s.fileHashes.LoadOrStore(key, &fileHasher{h: sha256.New()})
	}
	return v.(*fileHasher)
}

// advanceHashLater hashes, on a goroutine of its own (so the unit's
// reply does not wait for it, and the client sends the next unit while it
// runs), the units of r's data file that r's bitmap has in order from
// where the running hash stopped. r is a snapshot of the session; a unit
// stored after it is hashed by its own request's goroutine, or at the
// assembly (fileHash), which also reports the errors this one drops.
// Close waits for the goroutine.
func (s *Server) advanceHashLater(r *resumableRec) {
	if !s.enter() {
		return
	}
	fh := s.hasher(r.UploadKey)
	snap := *r
	snap.Have = slices.Clone(r.Have)
	data := s.unitData(r.UploadKey)
	go func() {
		defer s.inflight.Done()
		fh.mu.Lock()
		defer fh.mu.Unlock()
		_ = fh.advance(data, &snap) // after the assembly: next == Units, or the file is gone
	}()
}

// advance is advanceHash under fh.mu.
func (fh *fileHasher) advance(data string, r *resumableRec) error {
	if fh.next >= r.Units || !r.has(fh.next) {
		return nil
	}
	f, err := os.Open(data)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	for ; fh.next < r.Units && r.has(fh.next); fh.next++ {
		off := int64(fh.next) * r.UnitSize
		// A unit past the file's end hashes short, and the size check of
		// the assembly fails.
		if err := hashRange(fh.h, f, off, max(0, min(r.UnitSize, fi.Size()-off))); err != nil {
			return err
		}
	}
	return nil
}

// readRange feeds h the n bytes of f at off, read through a buffer.
func readRange(h hash.Hash, f *os.File, off, n int64) error {
	buf := make([]byte, min(unitCopyBuffer, max(n, 1)))
	m, err := io.CopyBuffer(h, io.NewSectionReader(f, off, n), buf)
	if err == nil && m != n {
		err = fmt.Errorf("%d bytes at %d: read %d: %w", n, off, m, io.ErrUnexpectedEOF)
	}
	return err
}

// fileHash returns the SHA-256 and length of the data file of the
// complete upload r: the running hash taken to the end.
func (s *Server) fileHash(r *resumableRec) (string, int64, error) {
	fh := s.hasher(r.UploadKey)
	fh.mu.Lock()
	defer fh.mu.Unlock()
	data := s.unitData(r.UploadKey)
	if err := fh.advance(data, r); err != nil {
		return "", 0, err
	}
	if fh.next != r.Units {
		return "", 0, fmt.Errorf("units %d and on are not all stored", fh.next)
	}
	fi, err := os.Stat(data)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(fh.h.Sum(nil)), fi.Size(), nil
}
