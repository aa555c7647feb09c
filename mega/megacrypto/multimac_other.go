//go:build !amd64 || purego

package megacrypto

// initFast reports that there are no assembly kernels: Sum takes the
// portable path.
func (m *MultiMAC) initFast(*FileKey) bool { return false }

// sumFast is never called without kernels.
func (m *MultiMAC) sumFast([][]byte, [][16]byte) {
	panic("megacrypto: MultiMAC: no assembly kernels")
}
