package backupdata

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
)

// Kind is what a file's bytes look like.
type Kind uint8

const (
	// Random bytes: incompressible.
	Random Kind = iota
	// Text: lines of logs and source code, about 3-4x compressible with zstd.
	Text
)

func (k Kind) String() string {
	if k == Random {
		return "random"
	}
	return "text"
}

// stream is an endless deterministic byte stream of one kind.
type stream struct {
	kind    Kind
	chacha  *rand.ChaCha8
	text    *textGen
	pending []byte
}

// newStream returns the stream of content number id under seed. Different
// (seed, id) pairs give unrelated streams.
func newStream(kind Kind, seed, id uint64) *stream {
	s := &stream{kind: kind}
	if kind == Random {
		var k [32]byte
		binary.LittleEndian.PutUint64(k[0:], seed)
		binary.LittleEndian.PutUint64(k[8:], id)
		binary.LittleEndian.PutUint64(k[16:], 0x72616e646f6d) // "random"
		s.chacha = rand.NewChaCha8(k)
	} else {
		s.text = newTextGen(seed^0x74657874, id)
	}
	return s
}

// Read fills p; it never fails.
func (s *stream) Read(p []byte) (int, error) {
	if s.kind == Random {
		return s.chacha.Read(p)
	}
	s.pending = s.text.fill(p, s.pending)
	return len(p), nil
}

// writeN writes n bytes of s to w.
func (s *stream) writeN(w io.Writer, n int64, buf []byte) error {
	for n > 0 {
		b := buf
		if int64(len(b)) > n {
			b = b[:n]
		}
		s.Read(b)
		if _, err := w.Write(b); err != nil {
			return err
		}
		n -= int64(len(b))
	}
	return nil
}
