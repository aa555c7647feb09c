//go:build !race

package mega

const raceEnabled = false
