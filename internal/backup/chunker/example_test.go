package chunker_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"

	"ferry/internal/backup/chunker"
)

// Cut a stream into chunks, reusing one buffer for all of them.
func Example() {
	key := make([]byte, chunker.KeySize) // a repository's chunker key
	rand.Read(key)
	data := make([]byte, 3<<20)
	rand.Read(data)

	p := chunker.Params{Min: 256 << 10, Avg: 512 << 10, Max: 2 << 20}
	c := chunker.New(bytes.NewReader(data), key, p)
	var buf []byte
	total := 0
	for {
		chunk, err := c.Next(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		total += len(chunk) // store chunk before the next call reuses it
		buf = chunk
	}
	fmt.Println(total == len(data))
	// Output: true
}
