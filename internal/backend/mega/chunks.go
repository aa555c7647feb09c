package mega

import (
	"context"
	"fmt"
	"io/fs"

	"ferry/internal/backend"
	megaclient "ferry/mega"
)

var (
	_ backend.ChunkVerifier = (*Backend)(nil)
	_ backend.ChunkVerifier = (*LinkBackend)(nil)
)

// ChunkChecker implements backend.ChunkVerifier: MEGA's chunk layout
// (128 KiB, 256 KiB, ... up to 1 MiB, then 1 MiB each), chunk MACs under
// the node's file key and the meta-MAC check, for the node e.ID names
// (the newest file at e.Path without an ID).
func (b *Backend) ChunkChecker(ctx context.Context, e backend.Entry) (backend.ChunkChecker, error) {
	if err := ctx.Err(); err != nil {
		return nil, b.pathErr("open", e.Path, err)
	}
	var n *megaclient.Node
	p := e.Path
	if e.ID != "" {
		var err error
		if n, p, err = b.node("open", e); err != nil {
			return nil, err
		}
	} else {
		var err error
		if p, err = b.clean("open", e.Path); err != nil {
			return nil, err
		}
		if n, err = b.pick(p, isFile, backend.ErrIsDir); err != nil {
			return nil, b.pathErr("open", p, err)
		}
	}
	return newChunkChecker(n, func(err error) error { return b.pathErr("open", p, err) })
}

// ChunkChecker implements backend.ChunkVerifier for the link's files, as
// Backend.ChunkChecker does for an account's.
func (b *LinkBackend) ChunkChecker(ctx context.Context, e backend.Entry) (backend.ChunkChecker, error) {
	if err := ctx.Err(); err != nil {
		return nil, b.pathErr("open", e.Path, err)
	}
	var n *megaclient.Node
	if e.ID != "" {
		if n = b.tree.Node(e.ID); n == nil {
			return nil, b.pathErr("open", e.Path, fs.ErrNotExist)
		}
	} else {
		p, err := backend.Clean(e.Path)
		if err != nil {
			return nil, b.pathErr("open", e.Path, err)
		}
		if n, err = b.pick(p, isFile, backend.ErrIsDir); err != nil {
			return nil, b.pathErr("open", p, err)
		}
	}
	return newChunkChecker(n, func(err error) error { return b.pathErr("open", e.Path, err) })
}

func newChunkChecker(n *megaclient.Node, wrap func(error) error) (backend.ChunkChecker, error) {
	if n.IsDir() {
		return nil, wrap(backend.ErrIsDir)
	}
	m, err := megaclient.NewChunkMACs(n)
	if err != nil {
		return nil, wrap(err)
	}
	cs := m.Chunks()
	chunks := make([]backend.Chunk, len(cs))
	for i, c := range cs {
		chunks[i] = backend.Chunk{Offset: c.Offset, Size: c.Size}
	}
	return &chunkChecker{m: m, chunks: chunks, wrap: wrap}, nil
}

// chunkChecker adapts megaclient.ChunkMACs to the contract.
type chunkChecker struct {
	m      *megaclient.ChunkMACs
	chunks []backend.Chunk
	wrap   func(error) error // names the file in errors
}

func (c *chunkChecker) Chunks() []backend.Chunk { return c.chunks }

func (c *chunkChecker) MACs(first int, ps [][]byte) [][]byte {
	sums := make([][16]byte, len(ps))
	c.m.Sum(ps, sums)
	out := make([][]byte, len(ps))
	for i := range sums {
		out[i] = sums[i][:]
	}
	return out
}

func (c *chunkChecker) Verify(macs [][]byte) error {
	sums := make([][16]byte, len(macs))
	for i, m := range macs {
		if len(m) != 16 {
			return c.wrap(fmt.Errorf("verify: MAC of chunk %d has %d bytes, want 16", i, len(m)))
		}
		sums[i] = [16]byte(m)
	}
	if err := c.m.Verify(sums); err != nil {
		return c.wrap(err)
	}
	return nil
}
