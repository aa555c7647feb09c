//go:build amd64 && !purego

package megacrypto

import (
	"fmt"
	"slices"
	"testing"
)

// TestOpenFill runs the cases with fewer lanes kept busy from the queue,
// so lanes retire and refill at other times and more spare lanes repeat
// an active one.
func TestOpenFill(t *testing.T) {
	if !openHasFused {
		t.Skip("no fused kernel here")
	}
	for fill := 1; fill <= 8; fill++ {
		t.Run(fmt.Sprintf("fill=%d", fill), func(t *testing.T) {
			old := openFill
			openFill = fill
			t.Cleanup(func() { openFill = old })
			runOpenCases(t, uint64(100+fill), 20)
		})
	}
}

// TestLongestFirst pins the queue order of the fused path: a file's first
// piece goes in longest first, equal lengths in file order.
func TestLongestFirst(t *testing.T) {
	var chunks [][]byte
	for _, c := range Chunks(64 << 20)[:11] {
		chunks = append(chunks, make([]byte, c.Size))
	}
	got := longestFirst(chunks, nil)
	want := []int{7, 8, 9, 10, 6, 5, 4, 3, 2, 1, 0}
	if !slices.Equal(got, want) {
		t.Errorf("longestFirst of the first piece = %v, want %v", got, want)
	}
	if got := longestFirst(nil, nil); len(got) != 0 {
		t.Errorf("longestFirst of no chunks = %v", got)
	}
}
