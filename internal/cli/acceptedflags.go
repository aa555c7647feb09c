package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// acceptedFlags are global rclone flags that scripts pass and that make
// no difference in ferry (see addAcceptedFlags), and --dump.
type acceptedFlags struct {
	fastList, useMmap bool
	dump              dumpFlag
}

// addAcceptedFlags binds the global flags ferry accepts for rclone's
// sake. Each says in its help why it changes nothing.
func addAcceptedFlags(f *pflag.FlagSet, a *acceptedFlags) {
	f.BoolVar(&a.fastList, "fast-list", false, "accepted for rclone scripts; changes nothing: a MEGA walk reads the tree in memory (one fetch, then the cache), local and MediaFire have no recursive listing")
	f.BoolVar(&a.useMmap, "use-mmap", false, "accepted for rclone scripts; changes nothing: ferry's buffers are the Go runtime's")
	f.Var(&a.dump, "dump", `print debugging information: "filters" prints the compiled filter rules before the command runs`)
}

// dumpFlag is --dump's comma-separated list; only "filters" is known.
type dumpFlag struct {
	filters bool
	raw     string
}

// String implements pflag.Value.
func (d *dumpFlag) String() string { return d.raw }

// Type implements pflag.Value.
func (d *dumpFlag) Type() string { return "string" }

// Set implements pflag.Value.
func (d *dumpFlag) Set(v string) error {
	for w := range strings.SplitSeq(v, ",") {
		switch w = strings.TrimSpace(strings.ToLower(w)); w {
		case "filters":
			d.filters = true
		case "":
		default:
			return fmt.Errorf("%q is not something ferry dumps: only \"filters\" (for API calls use --mega-debug -vv)", w)
		}
	}
	d.raw = v
	return nil
}
