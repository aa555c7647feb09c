//go:build !amd64 || purego

package megacrypto

// openHasFused reports the fused kernel; there is none here.
const openHasFused = false

// cryptFused is never called without the fused kernel.
func (m *MultiMAC) cryptFused([][]byte, []int64, [][16]byte, bool) {
	panic("megacrypto: MultiMAC: no fused kernel")
}
