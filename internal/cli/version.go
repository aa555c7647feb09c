package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X ferry/internal/cli.version=v1.2.3".
var version = "dev"

// versionString is version, or for a development build "dev-" and the
// commit it was built from.
func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v = "dev-" + s.Value[:12]
			}
		}
	}
	return v
}

func newVersionCommand(g *globals) *cobra.Command {
	var check bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print ferry's version",
		Long: `Print ferry's version, OS and architecture and the Go version it was
built with. --check, which in rclone asks the project's server for the
latest release, says that it cannot check: ferry has no release server
and contacts nothing it was not pointed at.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := versionString()
			if check {
				fmt.Fprintf(g.stdio.Out, "yours:  %s\nlatest: cannot check (ferry has no release server and makes no network calls of its own; build the newest from the source)\n", v)
				return nil
			}
			fmt.Fprintf(g.stdio.Out, "ferry %s\n- os/arch: %s/%s\n- go version: %s\n", v, runtime.GOOS, runtime.GOARCH, runtime.Version())
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "check for a newer version (ferry cannot: it says so)")
	return cmd
}
