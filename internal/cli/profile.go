package cli

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startProfile starts the --cpuprofile CPU profile, if asked for; Run stops
// it after the command.
func (g *globals) startProfile() error {
	if g.cpuprofile == "" {
		return nil
	}
	f, err := os.Create(g.cpuprofile)
	if err != nil {
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	g.stopProfile = func() {
		pprof.StopCPUProfile()
		f.Close()
	}
	return nil
}
