package backup

import (
	"io"

	"ferry/internal/backup/chunker"
)

// splitter cuts one file at a time into chunks (*chunker.Chunker).
type splitter interface {
	Reset(r io.Reader)
	Next(buf []byte) ([]byte, error)
}

// newSplitter returns the splitter for a repository's key and bounds.
// Until the content-defined chunker lands this cuts fixed-size chunks of
// p.Avg bytes.
func newSplitter(key []byte, p chunker.Params) splitter {
	return &fixedSplitter{size: p.Avg}
}

// fixedSplitter cuts chunks of size bytes.
type fixedSplitter struct {
	r    io.Reader
	size int
	err  error
}

func (s *fixedSplitter) Reset(r io.Reader) { s.r, s.err = r, nil }

func (s *fixedSplitter) Next(buf []byte) ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	if cap(buf) < s.size {
		buf = make([]byte, s.size)
	}
	n, err := io.ReadFull(s.r, buf[:s.size])
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF && n == 0:
		s.err = io.EOF
		if n == 0 {
			return nil, io.EOF
		}
	case err != nil:
		s.err = err
		return nil, err
	}
	return buf[:n], nil
}
