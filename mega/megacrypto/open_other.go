//go:build !amd64 || purego

package megacrypto

// openHasFused reports the fused kernel; there is none here.
const openHasFused = false

// openFused is never called without the fused kernel.
func (m *MultiMAC) openFused([][]byte, []int64, [][16]byte) {
	panic("megacrypto: MultiMAC: no fused kernel")
}
