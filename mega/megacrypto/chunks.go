package megacrypto

// Chunk is one MAC chunk of a file: [Offset, Offset+Size).
type Chunk struct {
	Offset int64
	Size   int64
}

const (
	chunkUnit = 128 << 10 // size of the first chunk
	chunkMax  = 1 << 20   // size of every chunk from bigStart on
	bigStart  = 4718592   // 36 * chunkUnit: start of the first 1 MiB chunk
)

// ChunkSizeAt returns the size of the chunk starting at offset start (which
// must be a chunk start), ignoring the file end: 128 KiB * i for the first
// 8 chunks, then 1 MiB. For any other offset it returns the distance to the
// end of the chunk containing it; for negative offsets, the first chunk's size.
func ChunkSizeAt(start int64) int64 {
	if start < 0 {
		start = 0
	}
	if start >= bigStart {
		return chunkMax - (start-bigStart)%chunkMax
	}
	var s int64
	for i := int64(1); ; i++ {
		s += chunkUnit * i
		if start < s {
			return s - start
		}
	}
}

// ChunkStart returns the start of the chunk containing offset off (0 for
// negative offsets).
func ChunkStart(off int64) int64 {
	if off <= 0 {
		return 0
	}
	if off >= bigStart {
		return off - (off-bigStart)%chunkMax
	}
	var s int64
	for i := int64(1); ; i++ {
		next := s + chunkUnit*i
		if off < next {
			return s
		}
		s = next
	}
}

// Chunks lists the chunks of a file of the given size (none for size 0).
func Chunks(size int64) []Chunk {
	if size <= 0 {
		return nil
	}
	n := 0
	if size > bigStart {
		n = int((size - bigStart + chunkMax - 1) / chunkMax)
	}
	cs := make([]Chunk, 0, 8+n)
	for off := int64(0); off < size; {
		sz := min(ChunkSizeAt(off), size-off)
		cs = append(cs, Chunk{Offset: off, Size: sz})
		off += sz
	}
	return cs
}
