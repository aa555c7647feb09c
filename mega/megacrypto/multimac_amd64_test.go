//go:build amd64 && !purego

package megacrypto

import (
	"encoding/hex"
	"fmt"
	"testing"
)

// TestExpandKey128 is the key expansion example of FIPS 197 Appendix A.1.
func TestExpandKey128(t *testing.T) {
	key := [16]byte(unhex(t, "2b7e1516 28aed2a6 abf71588 09cf4f3c"))
	rk := expandKey128(&key)
	for r, want := range map[int]string{
		0:  "2b7e151628aed2a6abf7158809cf4f3c",
		1:  "a0fafe1788542cb123a339392a6c7605",
		5:  "d4d1c6f87c839d87caf2b8bc11f915bc",
		10: "d014f9a8c9ee2589e13f0cc8b6630ca6",
	} {
		if got := hex.EncodeToString(rk[r][:]); got != want {
			t.Errorf("round key %d = %s, want %s", r, got, want)
		}
	}
	for x, want := range map[byte]byte{0x00: 0x63, 0x01: 0x7c, 0x53: 0xed, 0xff: 0x16} {
		if got := aesSbox(x); got != want {
			t.Errorf("S-box(%#02x) = %#02x, want %#02x", x, got, want)
		}
	}
}

// setMultiMACLanes sets the lane policy until the test ends.
func setMultiMACLanes(tb testing.TB, fill, narrow int) {
	oldFill, oldNarrow := multiMACFill, multiMACNarrow
	multiMACFill, multiMACNarrow = fill, narrow
	tb.Cleanup(func() { multiMACFill, multiMACNarrow = oldFill, oldNarrow })
}

// TestMultiMACLanePolicies runs the cases with fewer lanes in flight and
// with each kernel alone, spare lanes included.
func TestMultiMACLanePolicies(t *testing.T) {
	if !multiMACHasAES {
		t.Skip("no AES-NI")
	}
	for _, p := range []struct{ fill, narrow int }{
		{1, 4}, {2, 4}, {3, 4}, {4, 4}, // 4-lane kernel only
		{1, 0}, {3, 0}, {5, 0}, {8, 0}, // 8-lane kernel only
		{6, 4}, {8, 4}, // both
	} {
		t.Run(fmt.Sprintf("fill=%d,narrow=%d", p.fill, p.narrow), func(t *testing.T) {
			setMultiMACLanes(t, p.fill, p.narrow)
			runMultiMACCases(t, uint64(10+p.fill*8+p.narrow), 25)
		})
	}
}

// BenchmarkMultiMACLanes compares the lane policies: fill lanes kept busy,
// macLanes4 for up to narrow active lanes, macLanes8 above.
func BenchmarkMultiMACLanes(b *testing.B) {
	fk := tvFileKey()
	for _, n := range []int{1, 2, 4, 8} {
		for _, p := range []struct{ fill, narrow int }{{4, 4}, {8, 4}, {8, 0}} {
			b.Run(fmt.Sprintf("%dx1MiB/fill=%d,narrow=%d", n, p.fill, p.narrow), func(b *testing.B) {
				setMultiMACLanes(b, p.fill, p.narrow)
				benchMultiMAC(b, NewMultiMAC(&fk), n, benchSize)
			})
		}
	}
}
