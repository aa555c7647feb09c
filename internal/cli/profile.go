package cli

import (
	"fmt"
	"os"
	"runtime/debug"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// annotationDaemon marks commands that run until stopped (servers, rcd,
// mount): they keep the collector's default target.
const annotationDaemon = "ferry/daemon"

// oneShotGCPercent is the GC target of commands that run once and exit.
// Most of their heap is live (a MEGA tree of 100,000 nodes is ~45 MiB), so
// the default target (100) spends its collections re-marking it while the
// tree loads; 200 cuts `ls -R` of a warm 100,000-node remote by ~10% for
// ~10% more peak RSS (measured with bench/cli.sh). $GOGC still wins.
const oneShotGCPercent = 200

// tuneGC sets the GC target for cmd.
func tuneGC(cmd *cobra.Command) {
	if os.Getenv("GOGC") != "" {
		return
	}
	for c := cmd; c != nil; c = c.Parent() {
		if c.Annotations[annotationDaemon] != "" {
			return
		}
	}
	debug.SetGCPercent(oneShotGCPercent)
}

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
