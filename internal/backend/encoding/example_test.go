package encoding_test

import (
	"fmt"

	"ferry/internal/backend/encoding"
)

func Example() {
	c := encoding.New(encoding.Slash, encoding.NUL)
	m, _ := c.Encode("c\xff.txt")
	fmt.Println(m)
	fmt.Println(c.Decode("a/b.txt"), c.Decode(".."), c.Decode(m) == "c\xff.txt")
	// Output:
	// c‛FF.txt
	// a／b.txt ．． true
}
