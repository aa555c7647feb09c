//go:build !race

package megacrypto

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
