//go:build !race

package megaserver_test

const raceEnabled = false
