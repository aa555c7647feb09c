//go:build race

package chunker

// raceEnabled shrinks the heaviest tests under the race detector, which
// makes them about ten times slower; the chunker runs in one goroutine.
const raceEnabled = true
