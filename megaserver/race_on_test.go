//go:build race

package megaserver_test

// raceEnabled shrinks the heaviest tests under the race detector, which
// makes them about ten times slower.
const raceEnabled = true
