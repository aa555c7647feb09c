//go:build amd64 && !purego

package megacrypto

import (
	"fmt"
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
